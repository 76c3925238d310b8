// convert-spa-to-linalg{static-tiles=true} lowers the forward op only.
// RUN: spa-opt %s -convert-spa-to-linalg="static-tiles=true" -verify-diagnostics

func.func @grad(%q: tensor<1x2x8x4xf32>, %lse: tensor<1x2x8xf32>)
    -> (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) {
  // expected-error @+1 {{has no static-tile form: convert-spa-to-linalg with static-tiles=true lowers spa.attention only}}
  %0:3 = spa.attention_grad bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q, %q, %lse, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8xf32>, tensor<1x2x8x4xf32>)
      outs(%q, %q, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      -> tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %0#0, %0#1, %0#2 : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
}
