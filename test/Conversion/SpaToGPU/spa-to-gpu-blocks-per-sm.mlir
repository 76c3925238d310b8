// blocks-per-sm = n: the forward kernel carries nvvm.minctasm = n (PTX
// .minnctapersm n), so that ptxas caps its registers for n blocks an SM.
// The serial kernel at D = 128 holds 3 blocks by its 152 registers where
// its 49 KiB of shared memory would let 4 run (docs/benchmarks.md, "Where
// the forward waits"); 0 (the default) leaves the count to ptxas.
// RUN: spa-opt %s -convert-spa-to-gpu="blocks-per-sm=4" | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu | FileCheck %s --check-prefix=DEFAULT
// RUN: spa-opt %s --spa-to-nvvm="blocks-per-sm=4 format=isa" | sed -e 's/\\0A/\n/g' | FileCheck %s --check-prefix=PTX
// RUN: not spa-opt %s -convert-spa-to-gpu="blocks-per-sm=17" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not spa-opt %s -convert-spa-to-gpu="blocks-per-sm=-1" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// RUN: not spa-opt %s -convert-spa-to-gpu="blocks-per-sm=2 forward-schedule=ws" 2>&1 | FileCheck %s --check-prefix=WS
// RUN: not spa-opt %s -convert-spa-to-gpu="blocks-per-sm=5" 2>&1 | FileCheck %s --check-prefix=SHARED
// RUN: not spa-opt %s -convert-spa-to-gpu="blocks-per-sm=9" 2>&1 | FileCheck %s --check-prefix=REGS
// The SM's shared memory is the chip's (164 KiB on sm_80): the mma.sync
// kernel's 34 KiB tile fits 5 blocks on sm_90a, not on sm_80.
// RUN: not spa-opt %s -convert-spa-to-gpu="blocks-per-sm=5 chip=sm_80" 2>&1 | FileCheck %s --check-prefix=SM80
// RUN: spa-opt %s -convert-spa-to-gpu="blocks-per-sm=5 mma=mma.sync" | FileCheck %s --check-prefix=SYNC
// forward-schedule = auto keeps the serial kernel when blocks-per-sm is
// given (it would take ws for this long two-interval layer otherwise).
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="blocks-per-sm=4" | FileCheck %s --check-prefix=LONG
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu | FileCheck %s --check-prefix=LONGWS

// The launch contract records it (min_blocks_per_sm; absent by default).
// CHECK: gpu.func @spa_attention_0(
// CHECK-SAME: nvvm.minctasm = 4 : i32
// CHECK-SAME: min_blocks_per_sm = 4 : i64
// DEFAULT: gpu.func @spa_attention_0(
// DEFAULT-NOT: nvvm.minctasm
// DEFAULT-NOT: min_blocks_per_sm
// DEFAULT: gpu.return
// PTX: .entry spa_attention_0(
// PTX: .minnctapersm 4

// RANGE: error: convert-spa-to-gpu: blocks-per-sm must be 0 (ptxas's choice) to 16; got 17
// NEGATIVE: error: convert-spa-to-gpu: blocks-per-sm must be 0 (ptxas's choice) to 16; got -1
// WS: error: 'spa.attention' op blocks-per-sm does not apply to the warp-specialised schedules (their producer and consumers split the registers of 2 blocks an SM by setmaxnreg); got blocks-per-sm = 2
// SHARED: error: 'spa.attention' op blocks-per-sm = 5 needs 251000 bytes of shared memory an SM (49176 a block and 1024 the system keeps), more than the 233472 an sm_90a SM has; use fewer blocks, stages or a smaller tile-k
// SM80: error: 'spa.attention' op blocks-per-sm = 5 needs 179200 bytes of shared memory an SM (34816 a block and 1024 the system keeps), more than the 167936 an sm_80 SM has; use fewer blocks, stages or a smaller tile-k
// SYNC: gpu.func @spa_attention_0(
// SYNC-SAME: nvvm.minctasm = 5 : i32
// LONG: func.func @long
// LONG: gpu.func @spa_attention_0(
// LONG-SAME: known_block_size = array<i32: 128, 1, 1>, nvvm.minctasm = 4 : i32
// LONGWS: func.func @long
// LONGWS: gpu.func @spa_attention_0(
// LONGWS-SAME: known_block_size = array<i32: 256, 1, 1>
// LONGWS-SAME: nvvm.minctasm = 2 : i32
// LONGWS-SAME: min_blocks_per_sm = 2 : i64
// REGS: error: 'spa.attention' op blocks-per-sm = 9 of 128 threads leaves 56 registers a thread (65536 an SM), fewer than the 64 the kernel needs; use fewer blocks or warps

func.func @layer(%q: memref<1x2x300x128xbf16>, %k: memref<1x1x300x128xbf16>,
                 %v: memref<1x1x300x128xbf16>, %o: memref<1x2x300x128xbf16>,
                 %l: memref<1x2x300xf32>) {
  spa.attention bands(#spa.bands<causal, [0:151], [151:300]>)
      ins(%q, %k, %v : memref<1x2x300x128xbf16>, memref<1x1x300x128xbf16>, memref<1x1x300x128xbf16>)
      outs(%o, %l : memref<1x2x300x128xbf16>, memref<1x2x300xf32>)
  return
}

// -----

func.func @long(%q: memref<1x2x4096x128xbf16>, %k: memref<1x2x4096x128xbf16>,
                %v: memref<1x2x4096x128xbf16>, %o: memref<1x2x4096x128xbf16>,
                %l: memref<1x2x4096xf32>) {
  spa.attention bands(#spa.bands<causal, [0:513, 1024:1536], [0:513, 2048:2560]>)
      ins(%q, %k, %v : memref<1x2x4096x128xbf16>, memref<1x2x4096x128xbf16>, memref<1x2x4096x128xbf16>)
      outs(%o, %l : memref<1x2x4096x128xbf16>, memref<1x2x4096xf32>)
  return
}
