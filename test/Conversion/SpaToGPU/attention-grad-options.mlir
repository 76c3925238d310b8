// convert-spa-to-gpu's mma option on a gradient op: auto takes the wgmma
// kernels on sm_90a where they were verified (D, Dv = 64 or 128, warps 4 or
// 8) and mma.sync elsewhere; mma = wgmma gets a located error naming the
// condition that fails.
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu | FileCheck %s --check-prefix=AUTO
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="chip=sm_80" | FileCheck %s --check-prefix=SM80
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="mma=wgmma" 2>&1 | FileCheck %s --check-prefix=WGMMA
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="mma=wgmma chip=sm_80" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="mma=wgmma warps=2" 2>&1 | FileCheck %s --check-prefix=WARPS

// D = Dv = 64: wgmma; the dK/dV kernel warp-specialised (backward-schedule
// = auto takes it at D = Dv = 64: 128 own + 3 x 64 stream rows of 64 + 64
// columns, 3 x 2 x 64 f32 statistics, seven 8-byte barriers), the dQ kernel
// classic (64 own + 2 x 64 stream rows, three barriers), launched first (it
// computes Delta); Dv = 32: mma.sync.
// AUTO: dynamic_shared_bytes = 49176 : i64{{.*}}mma = "wgmma", op = 0 : i64, programmatic_launch, role = "dq"
// AUTO: block = array<i64: 384, 1, 1>{{.*}}dynamic_shared_bytes = 83512 : i64{{.*}}mma = "wgmma", op = 0 : i64, programmatic_launch, role = "dkdv"
// AUTO: mma = "mma.sync", op = 0 : i64, programmatic_launch, role = "dq"
// AUTO: mma = "mma.sync", op = 0 : i64, programmatic_launch, role = "dkdv"
// SM80: mma = "mma.sync", op = 0 : i64, role = "dq"
// SM80: mma = "mma.sync", op = 0 : i64, role = "dkdv"
// SM80: mma = "mma.sync", op = 0 : i64, role = "dq"
// SM80: mma = "mma.sync", op = 0 : i64, role = "dkdv"

// WGMMA: error: 'spa.attention_grad' op mma = wgmma: the wgmma backward needs D and Dv multiples of 64, got D = 64, Dv = 32; use mma = auto or mma.sync
// CHIP: error: 'spa.attention_grad' op mma = wgmma needs chip = sm_90a, got sm_80
// WARPS: error: 'spa.attention_grad' op mma = wgmma: the wgmma backward runs one or two warpgroups (warps = 4 or 8), got warps = 2

func.func @f(%q: memref<1x2x64x64xbf16>, %l: memref<1x2x64xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64xf32>, memref<1x2x64x64xbf16>)
      outs(%q, %q, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>)
  return
}

// -----

func.func @g(%q: memref<1x2x64x64xbf16>, %v: memref<1x2x64x32xbf16>, %l: memref<1x2x64xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %v, %v, %l, %v : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x32xbf16>, memref<1x2x64x32xbf16>, memref<1x2x64xf32>, memref<1x2x64x32xbf16>)
      outs(%q, %q, %v : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x32xbf16>)
  return
}
