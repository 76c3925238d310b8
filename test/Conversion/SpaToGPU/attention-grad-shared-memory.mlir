// The backward kernels' four tiles must fit a block's dynamic shared
// memory: (16 x 8 + 128) rows x (256 + 8 + 256 + 8) x 2 bytes = 270336.
// RUN: spa-opt %s -convert-spa-to-gpu="warps=8 tile-k=128" -verify-diagnostics
// (mma = auto takes mma.sync here: wgmma is verified up to D = 128 and its
// tiles would not fit either.) The same op with the default warps and
// tile-k fits.
// RUN: spa-opt %s -convert-spa-to-gpu | FileCheck %s
// CHECK: gpu.func @spa_attention_grad_0_dkdv
// CHECK-SAME: dynamic_shared_bytes = 135168 : i64

func.func @f(%q: memref<1x2x64x256xf16>, %l: memref<1x2x64xf32>) {
  // expected-error @+1 {{the backward kernels' shared tiles need 270336 bytes, more than the 232448 a block can have; use fewer warps or a smaller tile-k}}
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x64x256xf16>, memref<1x2x64x256xf16>, memref<1x2x64x256xf16>, memref<1x2x64x256xf16>, memref<1x2x64xf32>, memref<1x2x64x256xf16>)
      outs(%q, %q, %q : memref<1x2x64x256xf16>, memref<1x2x64x256xf16>, memref<1x2x64x256xf16>)
  return
}
