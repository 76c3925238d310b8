// successor-prefetch = N: each block of a one-item-a-block kernel also
// sends to L2 the tiles that only work item (its own + N) reads: the
// forward's Q tile (one box per 64 columns, D = 128: two), the dQ kernel's
// Q and dO tiles and the dK/dV kernel's K and V tiles (D = 128, Dv = 64:
// three boxes). The successor's work-list row is loaded right after the
// block's own (clamped to the list, so in bounds; both loads in flight
// together) and its boxes are issued by thread 0 after the block's own
// copies, when that item exists: box coordinates (column, the successor's
// tile x its rows, its head, its batch). B = 2, Hq = 4, Hkv = 2 (GQA: the
// dK/dV list holds key/value heads). Off by default; the persistent ws
// forward, the ws dK/dV kernel and the dq_stored kernel have none.
// RUN: spa-opt %s -convert-spa-to-gpu="successor-prefetch=3" -canonicalize | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu -canonicalize | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="successor-prefetch=3 forward-schedule=ws backward-schedule=ws" -canonicalize | FileCheck %s --check-prefix=WS
// RUN: spa-opt %s -convert-spa-to-gpu="successor-prefetch=3 warps=8" -canonicalize | FileCheck %s --check-prefix=ROWS128
// RUN: spa-opt %s -convert-spa-to-gpu="successor-prefetch=3 deterministic=false backward-schedule=classic" -canonicalize | FileCheck %s --check-prefix=ATOMIC
// RUN: spa-opt %s -convert-spa-to-gpu="successor-prefetch=3 score-grads=store" -canonicalize | FileCheck %s --check-prefix=STORE
// RUN: spa-opt %s --spa-to-nvvm="successor-prefetch=3 format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX
// RUN: not spa-opt %s -convert-spa-to-gpu="successor-prefetch=-1" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// RUN: not spa-opt %s -convert-spa-to-gpu="successor-prefetch=65537" 2>&1 | FileCheck %s --check-prefix=RANGE

// OFF-NOT: cp.async.bulk.tensor.prefetch
// NEGATIVE: error: convert-spa-to-gpu: successor-prefetch must be 0 (off) to 65536 work items; got -1
// RANGE: error: convert-spa-to-gpu: successor-prefetch must be 0 (off) to 65536 work items; got 65537

// CHECK: gpu.func @spa_attention_0({{.*}}%[[WORK:arg6]]: memref<40x3xi32>, %[[QMAP:arg7]]: !llvm.ptr,
// CHECK: memref.load %[[WORK]][%block_id_x, %c2] : memref<40x3xi32>
// CHECK: %[[NEXT:.*]] = arith.addi %block_id_x, %c3 : index
// CHECK-NEXT: %[[EXISTS:.*]] = arith.cmpi slt, %[[NEXT]], %c40 : index
// CHECK-NEXT: %[[ROWIDX:.*]] = arith.minsi %[[NEXT]], %c39 : index
// CHECK-NEXT: %[[B:.*]] = memref.load %[[WORK]][%[[ROWIDX]], %c0] : memref<40x3xi32>
// CHECK-NEXT: %[[H:.*]] = memref.load %[[WORK]][%[[ROWIDX]], %c1] : memref<40x3xi32>
// CHECK-NEXT: %[[T:.*]] = memref.load %[[WORK]][%[[ROWIDX]], %c2] : memref<40x3xi32>
// CHECK: %[[TI:.*]] = arith.index_cast %[[T]] : i32 to index
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[QMAP]], %{{.*}}, box[%c64_i32,
// CHECK-NEXT: scf.if %[[EXISTS]] {
// CHECK-NEXT: %[[ROW:.*]] = arith.muli %[[TI]], %c64 : index
// CHECK-NEXT: %[[ROW32:.*]] = arith.index_cast %[[ROW]] : index to i32
// CHECK-NEXT: nvvm.cp.async.bulk.tensor.prefetch %[[QMAP]], box[%c0_i32, %[[ROW32]], %[[H]], %[[B]]] : !llvm.ptr
// CHECK-NEXT: nvvm.cp.async.bulk.tensor.prefetch %[[QMAP]], box[%c64_i32, %[[ROW32]], %[[H]], %[[B]]] : !llvm.ptr
// CHECK-NEXT: }
// CHECK-NOT: nvvm.cp.async.bulk.tensor.prefetch
// CHECK: gpu.func @spa_attention_grad_1_dq({{.*}}%[[DQWORK:arg9]]: memref<40x3xi32>, %[[QM:arg10]]: !llvm.ptr, %[[DOM:arg11]]: !llvm.ptr,
// CHECK: %[[DQNEXT:.*]] = arith.addi %block_id_x, %c3 : index
// CHECK-NEXT: %[[DQEXISTS:.*]] = arith.cmpi slt, %[[DQNEXT]], %c40 : index
// CHECK-NEXT: %[[DQROW:.*]] = arith.minsi %[[DQNEXT]], %c39 : index
// CHECK-NEXT: %[[DQB:.*]] = memref.load %[[DQWORK]][%[[DQROW]], %c0]
// CHECK-NEXT: %[[DQH:.*]] = memref.load %[[DQWORK]][%[[DQROW]], %c1]
// CHECK-NEXT: %[[DQT:.*]] = memref.load %[[DQWORK]][%[[DQROW]], %c2]
// CHECK: %[[DQTI:.*]] = arith.index_cast %[[DQT]] : i32 to index
// CHECK: scf.if %[[DQEXISTS]] {
// CHECK-NEXT: %[[DQR:.*]] = arith.muli %[[DQTI]], %c64 : index
// CHECK-NEXT: %[[DQR32:.*]] = arith.index_cast %[[DQR]] : index to i32
// CHECK-NEXT: nvvm.cp.async.bulk.tensor.prefetch %[[QM]], box[%c0_i32, %[[DQR32]], %[[DQH]], %[[DQB]]]
// CHECK-NEXT: nvvm.cp.async.bulk.tensor.prefetch %[[QM]], box[%c64_i32, %[[DQR32]], %[[DQH]], %[[DQB]]]
// CHECK-NEXT: %[[DQR32B:.*]] = arith.index_cast %[[DQR]] : index to i32
// CHECK-NEXT: nvvm.cp.async.bulk.tensor.prefetch %[[DOM]], box[%c0_i32, %[[DQR32B]], %[[DQH]], %[[DQB]]]
// CHECK-NOT: nvvm.cp.async.bulk.tensor.prefetch
// The dK/dV list: 2 batches x 2 key/value heads x 5 key tiles.
// CHECK: gpu.func @spa_attention_grad_1_dkdv({{.*}}%[[KVWORK:arg9]]: memref<20x3xi32>, %[[KM:arg10]]: !llvm.ptr, %[[VM:arg11]]: !llvm.ptr,
// CHECK: %[[KVNEXT:.*]] = arith.addi %block_id_x, %c3 : index
// CHECK-NEXT: %[[KVEXISTS:.*]] = arith.cmpi slt, %[[KVNEXT]], %c20 : index
// CHECK-NEXT: %[[KVROW:.*]] = arith.minsi %[[KVNEXT]], %c19 : index
// CHECK-NEXT: %[[KVB:.*]] = memref.load %[[KVWORK]][%[[KVROW]], %c0]
// CHECK-NEXT: %[[KVH:.*]] = memref.load %[[KVWORK]][%[[KVROW]], %c1]
// CHECK: scf.if %[[KVEXISTS]] {
// CHECK: nvvm.cp.async.bulk.tensor.prefetch %[[KM]], box[%c0_i32, %{{.*}}, %[[KVH]], %[[KVB]]]
// CHECK-NEXT: nvvm.cp.async.bulk.tensor.prefetch %[[KM]], box[%c64_i32, %{{.*}}, %[[KVH]], %[[KVB]]]
// CHECK: nvvm.cp.async.bulk.tensor.prefetch %[[VM]], box[%c0_i32, %{{.*}}, %[[KVH]], %[[KVB]]]
// CHECK-NOT: nvvm.cp.async.bulk.tensor.prefetch

// WS-LABEL: gpu.func @spa_attention_0(
// WS-NOT: cp.async.bulk.tensor.prefetch
// WS-LABEL: gpu.func @spa_attention_grad_1_dq(
// WS: cp.async.bulk.tensor.prefetch
// WS-LABEL: gpu.func @spa_attention_grad_1_dkdv(
// WS-NOT: cp.async.bulk.tensor.prefetch

// warps = 8: 128-row items, the successor's row is its tile x 128.
// ROWS128-LABEL: gpu.func @spa_attention_0(
// ROWS128: scf.if
// ROWS128: arith.muli %{{.*}}, %c128 : index
// ROWS128-NEXT: arith.index_cast
// ROWS128-NEXT: nvvm.cp.async.bulk.tensor.prefetch

// ATOMIC-LABEL: gpu.func @spa_attention_grad_1_dkdv_dq(
// ATOMIC-COUNT-3: nvvm.cp.async.bulk.tensor.prefetch
// ATOMIC-NOT: nvvm.cp.async.bulk.tensor.prefetch

// STORE-LABEL: gpu.func @spa_attention_grad_1_dkdv(
// STORE-COUNT-3: nvvm.cp.async.bulk.tensor.prefetch
// STORE-LABEL: gpu.func @spa_attention_grad_1_dq_stored(
// STORE-NOT: cp.async.bulk.tensor.prefetch

// Forward 2 + dQ 3 + dK/dV 3.
// PTX-COUNT-8: cp.async.bulk.prefetch.tensor.4d.L2.global.tile
// PTX-NOT: cp.async.bulk.prefetch.tensor

func.func @layer(%q: memref<2x4x300x128xbf16>, %k: memref<2x2x300x128xbf16>,
                 %v: memref<2x2x300x64xbf16>, %o: memref<2x4x300x64xbf16>,
                 %l: memref<2x4x300xf32>) {
  spa.attention bands(#spa.bands<causal, [0:51], [51:300], [0:100], [100:300]>)
      ins(%q, %k, %v : memref<2x4x300x128xbf16>, memref<2x2x300x128xbf16>, memref<2x2x300x64xbf16>)
      outs(%o, %l : memref<2x4x300x64xbf16>, memref<2x4x300xf32>)
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:300], [0:100], [100:300]>)
      ins(%q, %k, %v, %o, %l, %o : memref<2x4x300x128xbf16>, memref<2x2x300x128xbf16>, memref<2x2x300x64xbf16>, memref<2x4x300x64xbf16>, memref<2x4x300xf32>, memref<2x4x300x64xbf16>)
      outs(%q, %k, %v : memref<2x4x300x128xbf16>, memref<2x2x300x128xbf16>, memref<2x2x300x64xbf16>)
  return
}
