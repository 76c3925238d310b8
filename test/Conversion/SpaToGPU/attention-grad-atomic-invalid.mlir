// deterministic=false (dQ by f32 atomics from the dK/dV kernel) needs the
// wgmma backward and tile-k 64 or 128; anything else is a located error
// (never a silent fall back to the deterministic kernels).
// RUN: spa-opt %s -split-input-file -verify-diagnostics -convert-spa-to-gpu="deterministic=false tile-k=32"
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="deterministic=false chip=sm_80" 2>&1 | FileCheck %s --check-prefix=SM80
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="deterministic=false mma=mma.sync" 2>&1 | FileCheck %s --check-prefix=MMASYNC
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="deterministic=false warps=2" 2>&1 | FileCheck %s --check-prefix=WARPS

// SM80: error: 'spa.attention_grad' op deterministic = false (dQ by f32 atomics) needs the wgmma backward: chip = sm_90a, warps 4 or 8, D and Dv multiples of 64 (mma = auto takes it at D, Dv = 64 or 128); got chip = sm_80, mma = auto, warps = 4, D = 64, Dv = 32; use deterministic = true
// SM80: error: {{.*}}got chip = sm_80, mma = auto, warps = 4, D = 64, Dv = 64; use deterministic = true
// MMASYNC: error: {{.*}}got chip = sm_90a, mma = mma.sync, warps = 4, D = 64, Dv = 32; use deterministic = true
// MMASYNC: error: {{.*}}got chip = sm_90a, mma = mma.sync, warps = 4, D = 64, Dv = 64; use deterministic = true
// WARPS: error: {{.*}}got chip = sm_90a, mma = auto, warps = 2, D = 64, Dv = 32; use deterministic = true
// WARPS: error: {{.*}}got chip = sm_90a, mma = auto, warps = 2, D = 64, Dv = 64; use deterministic = true

// Dv = 32: mma = auto takes mma.sync.
func.func @f(%q: memref<1x2x64x64xbf16>, %v: memref<1x2x64x32xbf16>, %l: memref<1x2x64xf32>) {
  // expected-error @+1 {{deterministic = false (dQ by f32 atomics) needs the wgmma backward: chip = sm_90a, warps 4 or 8, D and Dv multiples of 64 (mma = auto takes it at D, Dv = 64 or 128); got chip = sm_90a, mma = auto, warps = 4, D = 64, Dv = 32; use deterministic = true}}
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %v, %v, %l, %v : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x32xbf16>, memref<1x2x64x32xbf16>, memref<1x2x64xf32>, memref<1x2x64x32xbf16>)
      outs(%q, %q, %v : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x32xbf16>)
  return
}

// -----

// wgmma, but tile-k 32: the dQ product takes query rows in blocks of 64.
func.func @g(%q: memref<1x2x64x64xbf16>, %l: memref<1x2x64xf32>) {
  // expected-error @+1 {{deterministic = false: the atomic dQ product takes query rows in blocks of 64, so tile-k must be 64 or 128, got 32; use deterministic = true for other tiles}}
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64xf32>, memref<1x2x64x64xbf16>)
      outs(%q, %q, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>)
  return
}
