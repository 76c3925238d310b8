// wave-stagger-ns: an explicit delay needs the blocks an SM of the first
// wave, known without blocks-per-sm only for the measured configurations
// (WaveStagger.cpp's knownBlocksPerSM). With blocks-per-sm it applies.
// RUN: spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=700 tile-k=32" -split-input-file -verify-diagnostics
// RUN: spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=700 tile-k=32 blocks-per-sm=2" -canonicalize -split-input-file | FileCheck %s
// CHECK: nvvm.nanosleep

func.func @tile_k_32(%q: memref<1x2x256x128xbf16>, %k: memref<1x2x256x128xbf16>, %v: memref<1x2x256x128xbf16>, %o: memref<1x2x256x128xbf16>, %l: memref<1x2x256xf32>) {
  // expected-error @below {{'spa.attention' op wave-stagger-ns = 700 needs the blocks an SM of the first wave: set blocks-per-sm (known without it only for the serial kernel with TMA, 4 warps, tile-k 64, 16-bit operands and D = Dv = 128 at stages 1 or D = Dv = 64 at stages 1 or 2); got tile-k = 32, stages = 2, D = 128, Dv = 128}}
  spa.attention bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>)
      outs(%o, %l : memref<1x2x256x128xbf16>, memref<1x2x256xf32>)
  return
}
