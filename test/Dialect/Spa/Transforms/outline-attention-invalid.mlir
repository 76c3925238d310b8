// -spa-outline-attention refuses what it cannot outline, with a located
// error each: memref semantics, run-time band bounds.
// RUN: spa-opt %s -spa-outline-attention -split-input-file -verify-diagnostics

func.func @on_memrefs(%q: memref<1x2x16x8xf32>, %o: memref<1x2x16x8xf32>) {
  // expected-error @+1 {{'spa.attention' op works on memrefs: spa-outline-attention needs tensor semantics (run it before bufferization)}}
  spa.attention bands(#spa.bands<causal, [0:4], [4:16]>)
      ins(%q, %q, %q : memref<1x2x16x8xf32>, memref<1x2x16x8xf32>, memref<1x2x16x8xf32>)
      outs(%o : memref<1x2x16x8xf32>)
  return
}

// -----

func.func @runtime_bounds(%q: tensor<1x2x?x8xf32>, %n: index) -> tensor<1x2x?x8xf32> {
  %b = spa.band_bounds #spa.band_policy<causal, exclusive_equal> key_len(%n) : tensor<2x1x2xindex>
  // expected-error @+1 {{'spa.attention' op has run-time band_bounds: run spa-outline-attention before spa-balance-bands (the outlined function resolves its own policy)}}
  %o = spa.attention bands(#spa.band_policy<causal, exclusive_equal>) band_bounds(%b : tensor<2x1x2xindex>)
      ins(%q, %q, %q : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>)
      outs(%q : tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

module {
  module @inner {
    func.func @nested(%q: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
      // expected-error @+1 {{'spa.attention' op is not inside a func.func of the module: spa-outline-attention outlines from top-level functions only}}
      %o = spa.attention bands(#spa.bands<causal, [0:4], [4:16]>)
          ins(%q, %q, %q : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
          outs(%q : tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
      return %o : tensor<1x2x16x8xf32>
    }
  }
}
