// -spa-balance-bands resolves every policy into the table SPEC.md defines.
// N = 10 keys, H = 3 heads: Wb = 3, R = 1, W = [4, 3, 3], S = [0, 4, 7]
// (worked by hand; pair_balanced: 55 causal pairs, ~18.3 per head, distance
// d holds 10 - d pairs, so the cuts fall at d = 2 (19 pairs) and d = 4 (34)).
// RUN: spa-opt %s -spa-balance-bands -split-input-file | FileCheck %s
// RUN: spa-opt %s -spa-balance-bands="policy=dense_causal" -split-input-file | FileCheck %s --check-prefix=OVERRIDE

// CHECK-LABEL: func.func @p0
// CHECK: spa.attention bands(#spa.bands<causal, [0:4], [4:7], [7:10]>)
// OVERRIDE-LABEL: func.func @p0
// OVERRIDE: spa.attention bands(#spa.bands<causal, [0:10], [0:10], [0:10]>)
func.func @p0(%q: tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32> {
  %0 = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q : tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32>
  return %0 : tensor<1x3x10x8xf32>
}

// -----

// CHECK-LABEL: func.func @p1
// CHECK: spa.attention bands(#spa.bands<causal, [0:5], [0:7], [0:4, 7:10]>)
// OVERRIDE-LABEL: func.func @p1
// OVERRIDE: spa.attention bands(#spa.bands<causal, [0:10], [0:10], [0:10]>)
func.func @p1(%q: tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32> {
  %0 = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q : tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32>
  return %0 : tensor<1x3x10x8xf32>
}

// -----

// CHECK-LABEL: func.func @p2
// CHECK: spa.attention bands(#spa.bands<causal, [0:2], [4:5], [7:8]>)
// OVERRIDE-LABEL: func.func @p2
// OVERRIDE: spa.attention bands(#spa.bands<causal, [0:10], [0:10], [0:10]>)
func.func @p2(%q: tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32> {
  %0 = spa.attention bands(#spa.band_policy<causal, gapped_half>)
      ins(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q : tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32>
  return %0 : tensor<1x3x10x8xf32>
}

// -----

// CHECK-LABEL: func.func @p3
// CHECK: spa.attention bands(#spa.bands<causal, [0:5], [0:4], [0:4]>)
// OVERRIDE-LABEL: func.func @p3
// OVERRIDE: spa.attention bands(#spa.bands<causal, [0:10], [0:10], [0:10]>)
func.func @p3(%q: tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32> {
  %0 = spa.attention bands(#spa.band_policy<causal, sliding_window>)
      ins(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q : tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32>
  return %0 : tensor<1x3x10x8xf32>
}

// -----

// CHECK-LABEL: func.func @p4
// CHECK: spa.attention bands(#spa.bands<causal, [0:3], [0:3], [0:3]>)
// OVERRIDE-LABEL: func.func @p4
// OVERRIDE: spa.attention bands(#spa.bands<causal, [0:10], [0:10], [0:10]>)
func.func @p4(%q: tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32> {
  %0 = spa.attention bands(#spa.band_policy<causal, sliding_window, window = 2>)
      ins(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q : tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32>
  return %0 : tensor<1x3x10x8xf32>
}

// -----

// CHECK-LABEL: func.func @p5
// CHECK: spa.attention bands(#spa.bands<causal, [0:10], [0:10], [0:10]>)
// OVERRIDE-LABEL: func.func @p5
// OVERRIDE: spa.attention bands(#spa.bands<causal, [0:10], [0:10], [0:10]>)
func.func @p5(%q: tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32> {
  %0 = spa.attention bands(#spa.band_policy<causal, dense_causal>)
      ins(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q : tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32>
  return %0 : tensor<1x3x10x8xf32>
}

// -----

// CHECK-LABEL: func.func @p6
// CHECK: spa.attention bands(#spa.bands<causal, [0:2], [2:4], [4:10]>)
// OVERRIDE-LABEL: func.func @p6
// OVERRIDE: spa.attention bands(#spa.bands<causal, [0:10], [0:10], [0:10]>)
func.func @p6(%q: tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32> {
  %0 = spa.attention bands(#spa.band_policy<causal, pair_balanced>)
      ins(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q : tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32>
  return %0 : tensor<1x3x10x8xf32>
}

// -----

// CHECK-LABEL: func.func @p7
// CHECK: spa.attention bands(#spa.bands<causal, [0:2], [2:3], [3:10]>)
// OVERRIDE-LABEL: func.func @p7
// OVERRIDE: spa.attention bands(#spa.bands<causal, [0:10], [0:10], [0:10]>)
func.func @p7(%q: tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32> {
  %0 = spa.attention bands(#spa.band_policy<causal, tile_balanced, tile = 4x4>)
      ins(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q : tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32>
  return %0 : tensor<1x3x10x8xf32>
}

// -----

// Bidirectional mode keeps its mode; a concrete table is left alone; Nq != Nk
// plans on the key length.
// CHECK-LABEL: func.func @mixed
// CHECK: bands(#spa.bands<bidirectional, [0:4], [4:7], [7:10]>)
// CHECK: bands(#spa.bands<causal, [0:1], [1:2], []>)
// CHECK: bands(#spa.bands<causal, [0:4], [4:7], [7:10]>) {{.*}} : tensor<1x3x4x8xf32>, tensor<1x3x10x8xf32>
func.func @mixed(%q: tensor<1x3x10x8xf32>, %q4: tensor<1x3x4x8xf32>) {
  %0 = spa.attention bands(#spa.band_policy<bidirectional, exclusive_equal>)
      ins(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q : tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32>
  %1 = spa.attention bands(#spa.bands<causal, [0:1], [1:2], []>)
      ins(%q, %q, %q : tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q : tensor<1x3x10x8xf32>) -> tensor<1x3x10x8xf32>
  %2 = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q4, %q, %q : tensor<1x3x4x8xf32>, tensor<1x3x10x8xf32>, tensor<1x3x10x8xf32>)
      outs(%q4 : tensor<1x3x4x8xf32>) -> tensor<1x3x4x8xf32>
  return
}

// -----

// Dynamic key length: the policy stays, and its bounds come from the run-time
// length through spa.band_bounds.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x?x16xbf16>)
// CHECK: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %[[N:.*]] = tensor.dim %[[Q]], %[[C2]] : tensor<2x4x?x16xbf16>
// CHECK: %[[B:.*]] = spa.band_bounds #spa.band_policy<causal, local_plus_band> key_len(%[[N]]) : tensor<4x2x2xindex>
// CHECK: spa.attention bands(#spa.band_policy<causal, local_plus_band>) band_bounds(%[[B]] : tensor<4x2x2xindex>)
// OVERRIDE-LABEL: func.func @dynamic
// OVERRIDE: spa.band_bounds #spa.band_policy<causal, dense_causal> key_len(%{{.*}}) : tensor<4x1x2xindex>
// OVERRIDE: spa.attention bands(#spa.band_policy<causal, dense_causal>) band_bounds(
func.func @dynamic(%q: tensor<2x4x?x16xbf16>) -> tensor<2x4x?x16xbf16> {
  %0 = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %q, %q : tensor<2x4x?x16xbf16>, tensor<2x4x?x16xbf16>, tensor<2x4x?x16xbf16>)
      outs(%q : tensor<2x4x?x16xbf16>) -> tensor<2x4x?x16xbf16>
  return %0 : tensor<2x4x?x16xbf16>
}

// -----

// Fewer key distances than heads (N = 3, H = 5: Wb = 0, R = 3, W = [1, 1, 1,
// 0, 0], S = [0, 1, 2, 3, 3]) is a valid layer (SPEC section 1): heads 3 and 4
// get empty bands (their rows have no keys), as the run-time bounds of a
// dynamic N give them; local_plus_band keeps their local window [0, 1);
// gapped_half's half-widths are all 0; the balanced policies fall back to
// exclusive_equal's table. The gradient op plans the same table.
// CHECK-LABEL: func.func @fewer_keys_than_heads
// CHECK: spa.attention bands(#spa.bands<causal, [0:1], [1:2], [2:3], [], []>)
// CHECK: spa.attention bands(#spa.bands<causal, [0:2], [0:2], [0:3], [0:1], [0:1]>)
// CHECK: spa.attention bands(#spa.bands<causal, [], [], [], [], []>)
// CHECK: spa.attention bands(#spa.bands<causal, [0:1], [1:2], [2:3], [], []>)
// CHECK: spa.attention bands(#spa.bands<causal, [0:1], [1:2], [2:3], [], []>)
// CHECK: spa.attention_grad bands(#spa.bands<bidirectional, [0:1], [1:2], [2:3], [], []>)
func.func @fewer_keys_than_heads(%q: tensor<1x5x3x8xf32>, %l: tensor<1x5x3xf32>) {
  %0 = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %q, %q : tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>)
      outs(%q : tensor<1x5x3x8xf32>) -> tensor<1x5x3x8xf32>
  %1 = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %q, %q : tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>)
      outs(%q : tensor<1x5x3x8xf32>) -> tensor<1x5x3x8xf32>
  %2 = spa.attention bands(#spa.band_policy<causal, gapped_half>)
      ins(%q, %q, %q : tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>)
      outs(%q : tensor<1x5x3x8xf32>) -> tensor<1x5x3x8xf32>
  %3 = spa.attention bands(#spa.band_policy<causal, pair_balanced>)
      ins(%q, %q, %q : tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>)
      outs(%q : tensor<1x5x3x8xf32>) -> tensor<1x5x3x8xf32>
  %4 = spa.attention bands(#spa.band_policy<causal, tile_balanced>)
      ins(%q, %q, %q : tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>)
      outs(%q : tensor<1x5x3x8xf32>) -> tensor<1x5x3x8xf32>
  %g:3 = spa.attention_grad bands(#spa.band_policy<bidirectional, exclusive_equal>)
      ins(%q, %q, %q, %q, %l, %q : tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>, tensor<1x5x3xf32>, tensor<1x5x3x8xf32>)
      outs(%q, %q, %q : tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>)
      -> tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>, tensor<1x5x3x8xf32>
  return
}
