// convert-spa-to-gpu options a gradient op refuses: the backward kernels
// are mma.sync only.
// RUN: spa-opt %s -convert-spa-to-gpu="mma=wgmma" -verify-diagnostics

func.func @f(%q: memref<1x2x64x64xbf16>, %l: memref<1x2x64xf32>) {
  // expected-error @+1 {{mma = wgmma: the backward kernels use ldmatrix + mma.sync only (a wgmma backward is not written yet); use mma = auto or mma.sync}}
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64xf32>, memref<1x2x64x64xbf16>)
      outs(%q, %q, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>)
  return
}
