// Round trip of the spa dialect: pretty form, generic form, and the pretty
// form again must agree.
// RUN: spa-opt %s | FileCheck %s
// RUN: spa-opt %s --mlir-print-op-generic | spa-opt | FileCheck %s
// RUN: spa-opt %s | spa-opt | FileCheck %s

// CHECK-LABEL: func.func @two_heads
// CHECK: spa.attention bands(#spa.bands<causal, [0:512], [512:1024]>) scale(1.250000e-01) ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>) outs(%{{.*}} : tensor<1x2x1024x64xbf16>) -> tensor<1x2x1024x64xbf16>
func.func @two_heads(%q: tensor<1x2x1024x64xbf16>, %k: tensor<1x2x1024x64xbf16>,
                     %v: tensor<1x2x1024x64xbf16>, %o: tensor<1x2x1024x64xbf16>)
    -> tensor<1x2x1024x64xbf16> {
  %0 = spa.attention bands(#spa.bands<causal, [0:512], [512:1024]>) scale(0.125)
      ins(%q, %k, %v : tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>)
      outs(%o : tensor<1x2x1024x64xbf16>) -> tensor<1x2x1024x64xbf16>
  return %0 : tensor<1x2x1024x64xbf16>
}

// Log-sum-exp result, grouped-query heads (4 query heads over 2 kv heads),
// Nq != Nk, dynamic batch and lengths, an empty head and a multi-band head.
// CHECK-LABEL: func.func @gqa_lse_dynamic
// CHECK: %{{.*}}:2 = spa.attention bands(#spa.bands<causal, [0:65, 512:1024], [], [1:2], [2:4096]>) ins(
// CHECK-SAME: outs(%{{.*}}, %{{.*}} : tensor<?x4x?x128xf16>, tensor<?x4x?xf32>) -> tensor<?x4x?x128xf16>, tensor<?x4x?xf32>
func.func @gqa_lse_dynamic(%q: tensor<?x4x?x64xf16>, %k: tensor<?x2x?x64xf16>,
                           %v: tensor<?x2x?x128xf16>, %o: tensor<?x4x?x128xf16>,
                           %l: tensor<?x4x?xf32>)
    -> (tensor<?x4x?x128xf16>, tensor<?x4x?xf32>) {
  %0:2 = spa.attention bands(#spa.bands<causal, [0:65, 512:1024], [], [1:2], [2:4096]>)
      ins(%q, %k, %v : tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x128xf16>)
      outs(%o, %l : tensor<?x4x?x128xf16>, tensor<?x4x?xf32>)
      -> tensor<?x4x?x128xf16>, tensor<?x4x?xf32>
  return %0#0, %0#1 : tensor<?x4x?x128xf16>, tensor<?x4x?xf32>
}

// Unresolved policies, every kind and parameter form.
// CHECK-LABEL: func.func @policies
// CHECK: bands(#spa.band_policy<causal, exclusive_equal>)
// CHECK: bands(#spa.band_policy<causal, local_plus_band>)
// CHECK: bands(#spa.band_policy<bidirectional, gapped_half>)
// CHECK: bands(#spa.band_policy<causal, sliding_window, window = 128>)
// CHECK: bands(#spa.band_policy<causal, sliding_window>)
// CHECK: bands(#spa.band_policy<causal, dense_causal>)
// CHECK: bands(#spa.band_policy<causal, pair_balanced>)
// CHECK: bands(#spa.band_policy<bidirectional, tile_balanced, tile = 128x64>)
func.func @policies(%q: tensor<2x8x256x32xf32>, %o: tensor<2x8x256x32xf32>) {
  %0 = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %q, %q : tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>)
      outs(%o : tensor<2x8x256x32xf32>) -> tensor<2x8x256x32xf32>
  %1 = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %q, %q : tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>)
      outs(%o : tensor<2x8x256x32xf32>) -> tensor<2x8x256x32xf32>
  %2 = spa.attention bands(#spa.band_policy<bidirectional, gapped_half>)
      ins(%q, %q, %q : tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>)
      outs(%o : tensor<2x8x256x32xf32>) -> tensor<2x8x256x32xf32>
  %3 = spa.attention bands(#spa.band_policy<causal, sliding_window, window = 128>)
      ins(%q, %q, %q : tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>)
      outs(%o : tensor<2x8x256x32xf32>) -> tensor<2x8x256x32xf32>
  %4 = spa.attention bands(#spa.band_policy<causal, sliding_window>)
      ins(%q, %q, %q : tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>)
      outs(%o : tensor<2x8x256x32xf32>) -> tensor<2x8x256x32xf32>
  %5 = spa.attention bands(#spa.band_policy<causal, dense_causal>)
      ins(%q, %q, %q : tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>)
      outs(%o : tensor<2x8x256x32xf32>) -> tensor<2x8x256x32xf32>
  %6 = spa.attention bands(#spa.band_policy<causal, pair_balanced>)
      ins(%q, %q, %q : tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>)
      outs(%o : tensor<2x8x256x32xf32>) -> tensor<2x8x256x32xf32>
  %7 = spa.attention bands(#spa.band_policy<bidirectional, tile_balanced, tile = 128x64>)
      ins(%q, %q, %q : tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>, tensor<2x8x256x32xf32>)
      outs(%o : tensor<2x8x256x32xf32>) -> tensor<2x8x256x32xf32>
  return
}

// Buffer form: no results, writes its destinations.
// CHECK-LABEL: func.func @on_memrefs
// CHECK: spa.attention bands(#spa.bands<bidirectional, [0:3]>) ins(%{{.*}}, %{{.*}}, %{{.*}} : memref<1x1x7x16xf32>, memref<1x1x9x16xf32>, memref<1x1x9x16xf32>) outs(%{{.*}}, %{{.*}} : memref<1x1x7x16xf32>, memref<1x1x7xf32>){{$}}
func.func @on_memrefs(%q: memref<1x1x7x16xf32>, %k: memref<1x1x9x16xf32>,
                      %v: memref<1x1x9x16xf32>, %o: memref<1x1x7x16xf32>,
                      %l: memref<1x1x7xf32>) {
  spa.attention bands(#spa.bands<bidirectional, [0:3]>)
      ins(%q, %k, %v : memref<1x1x7x16xf32>, memref<1x1x9x16xf32>, memref<1x1x9x16xf32>)
      outs(%o, %l : memref<1x1x7x16xf32>, memref<1x1x7xf32>)
  return
}

// Run-time band bounds for a dynamic key length.
// CHECK-LABEL: func.func @runtime_bounds
// CHECK: %[[B:.*]] = spa.band_bounds #spa.band_policy<causal, local_plus_band> key_len(%{{.*}}) : tensor<4x2x2xindex>
// CHECK: spa.attention bands(#spa.band_policy<causal, local_plus_band>) band_bounds(%[[B]] : tensor<4x2x2xindex>) ins(
func.func @runtime_bounds(%q: tensor<1x4x?x32xbf16>, %n: index) -> tensor<1x4x?x32xbf16> {
  %b = spa.band_bounds #spa.band_policy<causal, local_plus_band> key_len(%n) : tensor<4x2x2xindex>
  %0 = spa.attention bands(#spa.band_policy<causal, local_plus_band>) band_bounds(%b : tensor<4x2x2xindex>)
      ins(%q, %q, %q : tensor<1x4x?x32xbf16>, tensor<1x4x?x32xbf16>, tensor<1x4x?x32xbf16>)
      outs(%q : tensor<1x4x?x32xbf16>) -> tensor<1x4x?x32xbf16>
  return %0 : tensor<1x4x?x32xbf16>
}

// The gradient op: GQA, Dv != D, dynamic batch and lengths, a scale.
// CHECK-LABEL: func.func @grad_gqa_dynamic
// CHECK: %{{.*}}:3 = spa.attention_grad bands(#spa.bands<causal, [0:64], [64:4096], [], [1:2]>) scale(1.250000e-01) ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x32xf16>, tensor<?x4x?x32xf16>, tensor<?x4x?xf32>, tensor<?x4x?x32xf16>)
// CHECK-SAME: outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x32xf16>) -> tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x32xf16>
func.func @grad_gqa_dynamic(%q: tensor<?x4x?x64xf16>, %k: tensor<?x2x?x64xf16>,
                            %v: tensor<?x2x?x32xf16>, %o: tensor<?x4x?x32xf16>,
                            %l: tensor<?x4x?xf32>, %do: tensor<?x4x?x32xf16>)
    -> (tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x32xf16>) {
  %0:3 = spa.attention_grad bands(#spa.bands<causal, [0:64], [64:4096], [], [1:2]>) scale(0.125)
      ins(%q, %k, %v, %o, %l, %do : tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x32xf16>, tensor<?x4x?x32xf16>, tensor<?x4x?xf32>, tensor<?x4x?x32xf16>)
      outs(%q, %k, %v : tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x32xf16>)
      -> tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x32xf16>
  return %0#0, %0#1, %0#2 : tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x32xf16>
}

// The gradient op on memrefs with a policy: no results.
// CHECK-LABEL: func.func @grad_memref_policy
// CHECK: spa.attention_grad bands(#spa.band_policy<bidirectional, exclusive_equal>) ins(
// CHECK-SAME: outs(%{{.*}}, %{{.*}}, %{{.*}} : memref<2x2x8x16xbf16>, memref<2x2x8x16xbf16>, memref<2x2x8x16xbf16>){{$}}
func.func @grad_memref_policy(%q: memref<2x2x8x16xbf16>, %l: memref<2x2x8xf32>) {
  spa.attention_grad bands(#spa.band_policy<bidirectional, exclusive_equal>)
      ins(%q, %q, %q, %q, %l, %q : memref<2x2x8x16xbf16>, memref<2x2x8x16xbf16>, memref<2x2x8x16xbf16>, memref<2x2x8x16xbf16>, memref<2x2x8xf32>, memref<2x2x8x16xbf16>)
      outs(%q, %q, %q : memref<2x2x8x16xbf16>, memref<2x2x8x16xbf16>, memref<2x2x8x16xbf16>)
  return
}
