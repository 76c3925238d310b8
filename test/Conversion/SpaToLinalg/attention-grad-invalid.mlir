// Diagnostics of convert-spa-to-linalg on spa.attention_grad: the same
// located errors as for spa.attention, from the pass's pre-check.
// RUN: spa-opt %s -convert-spa-to-linalg -split-input-file -verify-diagnostics

func.func @unresolved(%q: tensor<1x2x8x4xf32>, %l: tensor<1x2x8xf32>)
    -> (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) {
  // expected-error @+1 {{'spa.attention_grad' op has an unresolved band policy; run -spa-balance-bands first}}
  %0:3 = spa.attention_grad bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %q, %q, %q, %l, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>,
          tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8xf32>,
          tensor<1x2x8x4xf32>)
      outs(%q, %q, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      -> tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %0#0, %0#1, %0#2 : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
}

// -----

func.func @memrefs(%q: memref<1x2x8x4xf32>, %l: memref<1x2x8xf32>) {
  // expected-error @+1 {{'spa.attention_grad' op convert-spa-to-linalg expects tensor semantics; run it before bufferization}}
  spa.attention_grad bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x8x4xf32>, memref<1x2x8x4xf32>,
          memref<1x2x8x4xf32>, memref<1x2x8x4xf32>, memref<1x2x8xf32>,
          memref<1x2x8x4xf32>)
      outs(%q, %q, %q : memref<1x2x8x4xf32>, memref<1x2x8x4xf32>, memref<1x2x8x4xf32>)
  return
}

// -----

// The forward is fine, the gradient after it is not: the pre-check stops
// before rewriting anything.
func.func @after_forward(%q: tensor<1x2x8x4xf32>, %l: tensor<1x2x8xf32>)
    -> (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) {
  %o, %lse = spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      outs(%q, %l : tensor<1x2x8x4xf32>, tensor<1x2x8xf32>)
      -> tensor<1x2x8x4xf32>, tensor<1x2x8xf32>
  // expected-error @+1 {{has an unresolved band policy}}
  %0:3 = spa.attention_grad bands(#spa.band_policy<bidirectional, dense_causal>)
      ins(%q, %q, %q, %o, %lse, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>,
          tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8xf32>,
          tensor<1x2x8x4xf32>)
      outs(%q, %q, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      -> tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
  return %0#0, %0#1, %0#2 : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
}
