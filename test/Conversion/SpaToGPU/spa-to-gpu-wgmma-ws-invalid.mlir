// forward-schedule=ws forced where the warp-specialised kernel does not
// apply is a located error naming what is missing (never a silent fall back
// to the serial schedule).
// RUN: spa-opt %s -split-input-file -verify-diagnostics -convert-spa-to-gpu="forward-schedule=ws"
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws tma=false" 2>&1 | FileCheck %s --check-prefix=NOTMA
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws mma=mma.sync" 2>&1 | FileCheck %s --check-prefix=MMASYNC
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws chip=sm_80" 2>&1 | FileCheck %s --check-prefix=MMASYNC
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws warps=2" 2>&1 | FileCheck %s --check-prefix=MMASYNC
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws stages=4" 2>&1 | FileCheck %s --check-prefix=TWOBLOCKS
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws warps=8 stages=4 tile-k=128" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws split-keys=2" 2>&1 | FileCheck %s --check-prefix=SPLIT
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws-overlap tma=false" 2>&1 | FileCheck %s --check-prefix=OVERLAPNOTMA
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="warps=12" 2>&1 | FileCheck %s --check-prefix=WARPS12
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws-overlap warps=12" 2>&1 | FileCheck %s --check-prefix=WARPS12OVERLAP
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws warps=12 mma=mma.sync" 2>&1 | FileCheck %s --check-prefix=WARPS12MMASYNC

// NOTMA: error: 'spa.attention' op forward-schedule = ws needs TMA tile loads (tma = true and q, k, v in layouts a tensor map describes): its producer warp issues them
// MMASYNC: error: 'spa.attention' op forward-schedule = ws needs the wgmma kernel (chip = sm_90a, f16/bf16, warps 4, 8 or 12, D and Dv multiples of 64, mma = auto or wgmma); use forward-schedule = auto or serial
// TWOBLOCKS: error: 'spa.attention' op forward-schedule = ws with 4 K/V stages needs 147536 bytes of shared memory a block, 295072 for the 2 blocks an SM runs with warps = 4, more than the 233472 an SM has; use fewer stages or a smaller tile-k
// SPLIT: error: 'spa.attention' op forward-schedule = ws does not take split-keys > 1 (the split kernel's partial epilogue is built for the serial schedules); got split-keys = 2
// WARPS12: error: 'spa.attention' op warps = 12 (three consumer warpgroups) is the warp-specialised forward's: it needs forward-schedule = ws; got forward-schedule = auto
// WARPS12OVERLAP: error: 'spa.attention' op warps = 12 (three consumer warpgroups) is the warp-specialised forward's: it needs forward-schedule = ws; got forward-schedule = ws-overlap
// WARPS12MMASYNC: error: 'spa.attention' op forward-schedule = ws needs the wgmma kernel (chip = sm_90a, f16/bf16, warps 4, 8 or 12, D and Dv multiples of 64, mma = auto or wgmma); use forward-schedule = auto or serial
// OVERLAPNOTMA: error: 'spa.attention' op forward-schedule = ws-overlap needs TMA tile loads (tma = true and q, k, v in layouts a tensor map describes): its producer warp issues them
// BLOCK: error: 'spa.attention' op stages = 4 needs the wgmma kernel (the mma.sync kernel copies synchronously); wgmma does not apply: its Q, K and V tiles need 294912 bytes of shared memory, more than the 232448 a block can have; use fewer stages

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
  // expected-error @+1 {{forward-schedule = ws needs the wgmma kernel (chip = sm_90a, f16/bf16, warps 4, 8 or 12, D and Dv multiples of 64, mma = auto or wgmma); use forward-schedule = auto or serial}}
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %q, %q : memref<1x2x100x64xf32>, memref<1x2x100x64xf32>, memref<1x2x100x64xf32>)
      outs(%o : memref<1x2x100x64xf32>)
  return
}

// -----

// D = 32: not a multiple of 64, mma = auto takes mma.sync.
func.func @d32(%q: memref<1x2x100x32xf16>, %o: memref<1x2x100x32xf16>) {
  // expected-error @+1 {{forward-schedule = ws needs the wgmma kernel}}
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %q, %q : memref<1x2x100x32xf16>, memref<1x2x100x32xf16>, memref<1x2x100x32xf16>)
      outs(%o : memref<1x2x100x32xf16>)
  return
}

