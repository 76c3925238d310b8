// Diagnostics of convert-spa-to-gpu, one case each.
// RUN: spa-opt %s -convert-spa-to-gpu -split-input-file -verify-diagnostics

func.func @f(%q: memref<1x2x8x40xbf16>) {
  // expected-error @+1 {{the GPU path needs D and Dv multiples of 16, at most 256; got D = 40, Dv = 40}}
  spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q : memref<1x2x8x40xbf16>, memref<1x2x8x40xbf16>, memref<1x2x8x40xbf16>)
      outs(%q : memref<1x2x8x40xbf16>)
  return
}

// -----

func.func @f(%q: memref<1x2x?x64xbf16>) {
  // expected-error @+1 {{the GPU path needs static shapes and identity layouts, got 'memref<1x2x?x64xbf16>'}}
  spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q : memref<1x2x?x64xbf16>, memref<1x2x?x64xbf16>, memref<1x2x?x64xbf16>)
      outs(%q : memref<1x2x?x64xbf16>)
  return
}

// -----

func.func @f(%q: memref<1x2x8x64xbf16>) {
  // expected-error @+1 {{the GPU path needs a concrete band table with a static key length; run -spa-balance-bands}}
  spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %q, %q : memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>)
      outs(%q : memref<1x2x8x64xbf16>)
  return
}

// -----

func.func @f(%q: tensor<1x2x8x64xbf16>) -> tensor<1x2x8x64xbf16> {
  // expected-error @+1 {{convert-spa-to-gpu expects buffers; bufferize first (the spa-to-nvvm pipeline does)}}
  %0 = spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q : tensor<1x2x8x64xbf16>, tensor<1x2x8x64xbf16>, tensor<1x2x8x64xbf16>)
      outs(%q : tensor<1x2x8x64xbf16>) -> tensor<1x2x8x64xbf16>
  return %0 : tensor<1x2x8x64xbf16>
}
