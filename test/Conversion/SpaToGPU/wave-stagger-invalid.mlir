// wave-stagger-ns: an explicit delay needs the blocks an SM of the first
// wave, known without blocks-per-sm only for the measured configurations
// (WaveStagger.cpp's knownBlocksPerSM). With blocks-per-sm it applies.
// RUN: spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=700 tile-k=32" -verify-diagnostics
// RUN: spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=700 tile-k=32 blocks-per-sm=2" -canonicalize | FileCheck %s
// CHECK: nvvm.nanosleep
// An explicit value on a kernel form without a first wave of one-item
// blocks, or with one block an SM, is refused (auto leaves those alone).
// RUN: not spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=700 forward-schedule=ws" 2>&1 | FileCheck %s --check-prefix=WS
// WS: wave-stagger-ns = 700 applies to the serial sm_90a kernel (one work item a block from a static work list, split-keys = 1); got the persistent warp-specialised schedule; use wave-stagger-ns = 0 (auto) or -1 (off)
// RUN: not spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=700 mma=mma.sync" 2>&1 | FileCheck %s --check-prefix=SYNC
// SYNC: got the mma.sync kernel;
// RUN: not spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=700 split-keys=2" 2>&1 | FileCheck %s --check-prefix=SPLIT
// SPLIT: got split-keys = 2;
// RUN: not spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=700 forward-schedule=overlap stages=2 blocks-per-sm=2" 2>&1 | FileCheck %s --check-prefix=OVERLAP
// OVERLAP: got forward-schedule = overlap;
// RUN: not spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=700 blocks-per-sm=1" 2>&1 | FileCheck %s --check-prefix=ONE
// ONE: wave-stagger-ns = 700 staggers the blocks that share an SM; blocks-per-sm = 1 leaves none to stagger; use blocks-per-sm >= 2 or wave-stagger-ns = -1

func.func @tile_k_32(%q: memref<1x2x256x128xbf16>, %k: memref<1x2x256x128xbf16>, %v: memref<1x2x256x128xbf16>, %o: memref<1x2x256x128xbf16>, %l: memref<1x2x256xf32>) {
  // expected-error @below {{'spa.attention' op wave-stagger-ns = 700 needs the blocks an SM of the first wave: set blocks-per-sm (known without it only for the serial kernel with TMA, 4 warps, tile-k 64, 16-bit operands and D = Dv = 128 at stages 1 or D = Dv = 64 at stages 1 or 2); got tma = true, warps = 4, tile-k = 32, stages = 2, 16-bit operands, D = 128, Dv = 128}}
  spa.attention bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>)
      outs(%o, %l : memref<1x2x256x128xbf16>, memref<1x2x256xf32>)
  return
}
