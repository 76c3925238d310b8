// Diagnostics of -spa-balance-bands, one case each.
// RUN: spa-opt %s -spa-balance-bands -split-input-file -verify-diagnostics
// RUN: not spa-opt %s -split-input-file -spa-balance-bands="policy=striped" 2>&1 | FileCheck %s --check-prefix=BADPOLICY
// RUN: not spa-opt %s -split-input-file -spa-balance-bands="tile-q=0" 2>&1 | FileCheck %s --check-prefix=BADTILE
// BADPOLICY: for the --policy option: unknown policy 'striped'; expected one of exclusive_equal, local_plus_band, gapped_half, sliding_window, dense_causal, pair_balanced, tile_balanced (or nothing: each op keeps its own)
// BADTILE: error: spa-balance-bands: tile shape and SM count must be positive, got tile 0x128, 132 SMs

func.func @f(%q: tensor<1x2x0x4xf32>) {
  // expected-error @+1 {{cannot plan bands for an empty key sequence (Nk = 0)}}
  %0 = spa.attention bands(#spa.band_policy<causal, dense_causal>)
      ins(%q, %q, %q : tensor<1x2x0x4xf32>, tensor<1x2x0x4xf32>, tensor<1x2x0x4xf32>)
      outs(%q : tensor<1x2x0x4xf32>) -> tensor<1x2x0x4xf32>
  return
}

// -----

func.func @f(%q: tensor<1x2x?x4xf32>) {
  // expected-error @+1 {{policy pair_balanced needs a static key length, but key dimension 2 (Nk) is dynamic}}
  %0 = spa.attention bands(#spa.band_policy<causal, pair_balanced>)
      ins(%q, %q, %q : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>)
      outs(%q : tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  return
}

// -----

func.func @f(%q: memref<1x2x?x4xf32>) {
  // expected-error @+1 {{run-time band bounds need tensor semantics; run -spa-balance-bands before bufferization}}
  spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %q, %q : memref<1x2x?x4xf32>, memref<1x2x?x4xf32>, memref<1x2x?x4xf32>)
      outs(%q : memref<1x2x?x4xf32>)
  return
}
