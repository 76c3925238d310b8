// backward-schedule=ws forced where the warp-specialised dK/dV kernel does
// not apply is a located error naming what is missing (never a silent
// fall back to the classic kernel).
// RUN: spa-opt %s -split-input-file -verify-diagnostics -convert-spa-to-gpu="backward-schedule=ws"
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="backward-schedule=ws tma=false" 2>&1 | FileCheck %s --check-prefix=NOTMA
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="backward-schedule=ws tile-k=32" 2>&1 | FileCheck %s --check-prefix=TILEK
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="backward-schedule=ws chip=sm_80" 2>&1 | FileCheck %s --check-prefix=SM80
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="backward-schedule=ws mma=wgmma" 2>&1 | FileCheck %s --check-prefix=WIDTH
// RUN: not spa-opt %s -convert-spa-to-gpu="backward-schedule=wss" 2>&1 | FileCheck %s --check-prefix=BADVALUE
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="warps=12" 2>&1 | FileCheck %s --check-prefix=WARPS12

// NOTMA: error: 'spa.attention_grad' op backward-schedule = ws (the warp-specialised dK/dV kernel) needs TMA loads (tma = true and buffers a tensor map describes); got chip = sm_90a, mma = auto, tma = false, deterministic = true, D = 64, Dv = 64, tile-k = 64; use backward-schedule = auto or classic
// TILEK: error: {{.*}} needs tile-k = 64; got chip = sm_90a, mma = auto, tma = true, deterministic = true, D = 64, Dv = 64, tile-k = 32;
// SM80: error: {{.*}} needs the wgmma backward (chip = sm_90a, mma = auto or wgmma, f16/bf16); got chip = sm_80,
// WIDTH: error: 'spa.attention_grad' op backward-schedule = ws (the warp-specialised dK/dV kernel) needs D and Dv of 64 or 128; got chip = sm_90a, mma = wgmma, tma = true, deterministic = true, D = 192, Dv = 192, tile-k = 64; use backward-schedule = auto or classic
// WARPS12: error: 'spa.attention_grad' op warps = 12 (three consumer warpgroups) is the warp-specialised forward's; the gradient kernels run 1, 2, 4 or 8 warps a block, and warps applies to every op of the module: compile the forward alone with warps = 12, or use warps = 4 (the default)
// BADVALUE: for the --backward-schedule option: Cannot find option named 'wss'!

// D = 64: every condition but the ones the RUN lines break holds.
func.func @ok_shape(%q: memref<1x2x64x64xbf16>, %l: memref<1x2x64xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64xf32>, memref<1x2x64x64xbf16>)
      outs(%q, %q, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>)
  return
}

// -----

// D = 192: mma = auto takes mma.sync; with mma = wgmma (WIDTH) it is the
// wgmma backward, but not a width the consumers' registers hold.
func.func @d192(%q: memref<1x2x64x192xbf16>, %l: memref<1x2x64xf32>) {
  // expected-error @+1 {{backward-schedule = ws (the warp-specialised dK/dV kernel) needs the wgmma backward (chip = sm_90a, mma = auto or wgmma, f16/bf16); got chip = sm_90a, mma = auto, tma = true, deterministic = true, D = 192, Dv = 192, tile-k = 64; use backward-schedule = auto or classic}}
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x64x192xbf16>, memref<1x2x64x192xbf16>, memref<1x2x64x192xbf16>, memref<1x2x64x192xbf16>, memref<1x2x64xf32>, memref<1x2x64x192xbf16>)
      outs(%q, %q, %q : memref<1x2x64x192xbf16>, memref<1x2x64x192xbf16>, memref<1x2x64x192xbf16>)
  return
}

// -----

// Dv = 32: mma = auto takes mma.sync.
func.func @dv32(%q: memref<1x2x64x64xbf16>, %v: memref<1x2x64x32xbf16>, %l: memref<1x2x64xf32>) {
  // expected-error @+1 {{backward-schedule = ws (the warp-specialised dK/dV kernel) needs the wgmma backward (chip = sm_90a, mma = auto or wgmma, f16/bf16); got chip = sm_90a, mma = auto, tma = true, deterministic = true, D = 64, Dv = 32, tile-k = 64; use backward-schedule = auto or classic}}
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %v, %v, %l, %v : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x32xbf16>, memref<1x2x64x32xbf16>, memref<1x2x64xf32>, memref<1x2x64x32xbf16>)
      outs(%q, %q, %v : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x32xbf16>)
  return
}
