// Diagnostics of convert-spa-to-linalg.
// RUN: spa-opt %s -convert-spa-to-linalg -split-input-file -verify-diagnostics
// RUN: not spa-opt %s -split-input-file -convert-spa-to-linalg="tile-q=0" 2>&1 | FileCheck %s --check-prefix=BADTILE
// BADTILE: convert-spa-to-linalg: tile sizes must be positive, got tile-q = 0, tile-k = 64
// RUN: not spa-opt %s -split-input-file -convert-spa-to-linalg="vector-lanes=12" 2>&1 | FileCheck %s --check-prefix=BADLANES
// RUN: not spa-opt %s -split-input-file -convert-spa-to-linalg="vector-lanes=128" 2>&1 | FileCheck %s --check-prefix=BIGLANES
// RUN: not spa-opt %s -split-input-file -convert-spa-to-linalg="vector-lanes=-4" 2>&1 | FileCheck %s --check-prefix=NEGLANES
// BADLANES: convert-spa-to-linalg: vector-lanes must be 0 or a power of two from 2 to 64, got 12
// BIGLANES: convert-spa-to-linalg: vector-lanes must be 0 or a power of two from 2 to 64, got 128
// NEGLANES: convert-spa-to-linalg: vector-lanes must be 0 or a power of two from 2 to 64, got -4

func.func @f(%q: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  // expected-error @+1 {{has an unresolved band policy; run -spa-balance-bands first}}
  %0 = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %q, %q : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>)
      outs(%q : tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %0 : tensor<1x2x8x4xf32>
}

// -----

func.func @f(%q: memref<1x2x8x4xf32>) {
  // expected-error @+1 {{convert-spa-to-linalg expects tensor semantics; run it before bufferization}}
  spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q : memref<1x2x8x4xf32>, memref<1x2x8x4xf32>, memref<1x2x8x4xf32>)
      outs(%q : memref<1x2x8x4xf32>)
  return
}
