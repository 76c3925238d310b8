// forward-schedule=overlap forced where the overlapped wgmma ring does not
// apply is a located error naming what is missing (never a silent fall back
// to the serial schedule).
// RUN: spa-opt %s -split-input-file -verify-diagnostics -convert-spa-to-gpu="forward-schedule=overlap"
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=overlap stages=1" 2>&1 | FileCheck %s --check-prefix=ONESTAGE
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=overlap tma=false" 2>&1 | FileCheck %s --check-prefix=NOTMA
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=overlap mma=mma.sync" 2>&1 | FileCheck %s --check-prefix=MMASYNC
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=overlap chip=sm_80" 2>&1 | FileCheck %s --check-prefix=MMASYNC
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=overlap tile-k=128" 2>&1 | FileCheck %s --check-prefix=SHARED
// RUN: not spa-opt %s -convert-spa-to-gpu="forward-schedule=overlapped" 2>&1 | FileCheck %s --check-prefix=BADVALUE

// ONESTAGE: error: 'spa.attention' op forward-schedule = overlap needs stages >= 2 (the V tile of key tile t - 1 stays in shared memory while tile t arrives); got stages = 1
// NOTMA: error: 'spa.attention' op forward-schedule = overlap needs TMA tile loads (tma = true and q, k, v in layouts a tensor map describes)
// MMASYNC: error: 'spa.attention' op forward-schedule = overlap needs the wgmma kernel (chip = sm_90a, f16/bf16, warps 4 or 8, D and Dv multiples of 64, mma = auto or wgmma); use forward-schedule = auto or serial
// SHARED: error: 'spa.attention' op forward-schedule = overlap with 3 K/V stages needs 426040 bytes of shared memory, more than the 232448 a block has; use fewer stages, fewer warps or a smaller tile-k
// BADVALUE: for the --forward-schedule option: Cannot find option named 'overlapped'!

// D = 128 bf16: every condition but the ones the RUN lines break holds.
func.func @ok_shape(%q: memref<1x2x100x128xbf16>, %o: memref<1x2x100x128xbf16>) {
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %q, %q : memref<1x2x100x128xbf16>, memref<1x2x100x128xbf16>, memref<1x2x100x128xbf16>)
      outs(%o : memref<1x2x100x128xbf16>)
  return
}

// -----

// f32 inputs take the mma.sync (tf32) kernel.
func.func @f32(%q: memref<1x2x100x64xf32>, %o: memref<1x2x100x64xf32>) {
  // expected-error @+1 {{forward-schedule = overlap needs the wgmma kernel (chip = sm_90a, f16/bf16, warps 4 or 8, D and Dv multiples of 64, mma = auto or wgmma); use forward-schedule = auto or serial}}
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %q, %q : memref<1x2x100x64xf32>, memref<1x2x100x64xf32>, memref<1x2x100x64xf32>)
      outs(%o : memref<1x2x100x64xf32>)
  return
}

// -----

// D = 32: not a multiple of 64, mma = auto takes mma.sync.
func.func @d32(%q: memref<1x2x100x32xf16>, %o: memref<1x2x100x32xf16>) {
  // expected-error @+1 {{forward-schedule = overlap needs the wgmma kernel}}
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %q, %q : memref<1x2x100x32xf16>, memref<1x2x100x32xf16>, memref<1x2x100x32xf16>)
      outs(%o : memref<1x2x100x32xf16>)
  return
}

// -----

// D = 256: the serial kernel fits (stages = 1 at tile-k 128: Q 32 KiB,
// K and V 128 KiB); three overlapped stages do not (SHARED).
func.func @d256(%q: memref<1x2x100x256xbf16>, %o: memref<1x2x100x256xbf16>) {
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %q, %q : memref<1x2x100x256xbf16>, memref<1x2x100x256xbf16>, memref<1x2x100x256xbf16>)
      outs(%o : memref<1x2x100x256xbf16>)
  return
}
