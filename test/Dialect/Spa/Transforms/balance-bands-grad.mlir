// -spa-balance-bands resolves a policy on spa.attention_grad exactly as on
// spa.attention, so a forward op and its gradient op share one table; with
// a dynamic key length both get run-time bounds from spa.band_bounds.
// RUN: spa-opt %s -spa-balance-bands -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @same_table
// CHECK: spa.attention bands(#spa.bands<causal, [0:5], [0:7], [0:4, 7:10]>)
// CHECK: spa.attention_grad bands(#spa.bands<causal, [0:5], [0:7], [0:4, 7:10]>)
func.func @same_table(%q: tensor<1x3x10x8xf32>, %l: tensor<1x3x10xf32>)
    -> (tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>) {
  %o:2 = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q, %l : tensor<1x3x10x8xf32>, tensor<1x3x10xf32>) -> tensor<1x3x10x8xf32>, tensor<1x3x10xf32>
  %g:3 = spa.attention_grad bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %q, %q, %o#0, %o#1, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10xf32>, tensor<1x3x10x8xf32>)
      outs(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      -> tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>
  return %o#0, %g#0 : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>
}

// -----

// CHECK-LABEL: func.func @dynamic
// CHECK: %[[N:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<1x2x?x8xf32>
// CHECK: %[[B:.*]] = spa.band_bounds #spa.band_policy<causal, exclusive_equal> key_len(%[[N]]) : tensor<2x1x2xindex>
// CHECK: spa.attention_grad bands(#spa.band_policy<causal, exclusive_equal>) band_bounds(%[[B]] : tensor<2x1x2xindex>)
func.func @dynamic(%q: tensor<1x2x?x8xf32>, %l: tensor<1x2x?xf32>)
    -> (tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>) {
  %g:3 = spa.attention_grad bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %q, %q, %q, %l, %q : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?xf32>, tensor<1x2x?x8xf32>)
      outs(%q, %q, %q : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>)
      -> tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>
  return %g#0, %g#1, %g#2 : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>
}
