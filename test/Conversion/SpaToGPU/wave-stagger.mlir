// wave-stagger-ns (WaveStagger.h): the serial sm_90a forward's first wave
// starts apart. Slot s = block / 132 of the first wave (1 <= s < the
// blocks an SM) sleeps s * delay ns before its first item, the delay being
// the first item's key tiles * the ns a tile; the kernel is pinned to the
// blocks an SM the slots assume (nvvm.minctasm, the contract's
// min_blocks_per_sm).
//
// An explicit value applies to any static list: the small layer's first
// item reaches 3 key tiles, so 3 * 700 = 2100 ns a slot at 3 blocks an SM
// (D = 128, tile-k 64, stages 1).
// RUN: spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=700" -canonicalize -split-input-file | FileCheck %s
// Auto asks for two waves (2 x 132 x 3 items) of equal items at the head
// of the list: none in these small layers.
// RUN: spa-opt %s -convert-spa-to-gpu -canonicalize -split-input-file | FileCheck %s --check-prefix=NONE
// RUN: spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=-1" -canonicalize -split-input-file | FileCheck %s --check-prefix=NONE
// Auto where the schedule has no first wave of one-item blocks (the
// persistent warp-specialised forward): none (an explicit value is an
// error there: wave-stagger-invalid.mlir).
// RUN: spa-opt %s -convert-spa-to-gpu="forward-schedule=ws" -canonicalize -split-input-file | FileCheck %s --check-prefix=NONE
// RUN: not spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=10001" 2>&1 | FileCheck %s --check-prefix=BIG
// RUN: not spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=-2" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// BIG: wave-stagger-ns must be -1 (off), 0 (auto) or 1 to 10000 ns a key tile; got 10001
// NEGATIVE: wave-stagger-ns must be -1 (off), 0 (auto) or 1 to 10000 ns a key tile; got -2

// CHECK-LABEL: gpu.func @spa_attention_0(
// CHECK-SAME: nvvm.minctasm = 3 : i32
// CHECK-SAME: min_blocks_per_sm = 3 : i64
// CHECK-DAG: %[[DELAY:.*]] = arith.constant 2100 : index
// CHECK-DAG: %[[SMS:.*]] = arith.constant 132 : index
// CHECK: %[[SLOT:.*]] = arith.divui %block_id_x, %[[SMS]] : index
// CHECK-DAG: %[[LOW:.*]] = arith.cmpi sge, %[[SLOT]], %c1 : index
// CHECK-DAG: %[[HIGH:.*]] = arith.cmpi slt, %[[SLOT]], %c3 : index
// CHECK: %[[LATE:.*]] = arith.andi %[[LOW]], %[[HIGH]] : i1
// CHECK-NEXT: scf.if %[[LATE]] {
// CHECK-NEXT: %[[NS:.*]] = arith.muli %[[SLOT]], %[[DELAY]] : index
// CHECK-NEXT: %[[NS32:.*]] = arith.index_cast %[[NS]] : index to i32
// CHECK-NEXT: nvvm.nanosleep %[[NS32]]
// The item's work-list entry is read after the sleep.
// CHECK: memref.load %arg6[%block_id_x, %c0] : memref<8x3xi32>
// NONE-NOT: nvvm.nanosleep
func.func @forward(%q: memref<1x2x256x128xbf16>, %k: memref<1x2x256x128xbf16>, %v: memref<1x2x256x128xbf16>, %o: memref<1x2x256x128xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>)
      outs(%o, %l : memref<1x2x256x128xbf16>, memref<1x2x256xf32>)
  return
}

// -----

// The gradient's kernels have no stagger; its forward op would.
// CHECK-LABEL: gpu.func @spa_attention_grad_0_preprocess(
// CHECK-NOT: nvvm.nanosleep
func.func @gradient(%q: memref<1x2x256x128xbf16>, %k: memref<1x2x256x128xbf16>, %v: memref<1x2x256x128xbf16>, %o: memref<1x2x256x128xbf16>, %l: memref<1x2x256xf32>, %do: memref<1x2x256x128xbf16>, %dq: memref<1x2x256x128xbf16>, %dk: memref<1x2x256x128xbf16>, %dv: memref<1x2x256x128xbf16>) {
  spa.attention_grad bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v, %o, %l, %do : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256xf32>, memref<1x2x256x128xbf16>)
      outs(%dq, %dk, %dv : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>)
  return
}
