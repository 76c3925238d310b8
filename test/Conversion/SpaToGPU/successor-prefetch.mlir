// successor-prefetch = N: each block of a one-item-a-block kernel also
// sends to L2 the tiles that only work item (its own + N) reads, read from
// the work list: the forward's Q tile (one box per 64 columns, D = 128:
// two), the dQ kernel's Q and dO tiles and the dK/dV kernel's K and V tiles
// (D = 128, Dv = 64: three boxes), by thread 0 right after its own tiles'
// copies, when that item exists. Off by default; the persistent
// warp-specialised forward takes its items in a loop and has none.
// RUN: spa-opt %s -convert-spa-to-gpu="successor-prefetch=3" -canonicalize | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu -canonicalize | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="successor-prefetch=3 forward-schedule=ws" -canonicalize | FileCheck %s --check-prefix=WS
// RUN: spa-opt %s --spa-to-nvvm="successor-prefetch=3 format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX
// RUN: not spa-opt %s -convert-spa-to-gpu="successor-prefetch=-1" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// RUN: not spa-opt %s -convert-spa-to-gpu="successor-prefetch=65537" 2>&1 | FileCheck %s --check-prefix=RANGE

// OFF-NOT: prefetch.tensor
// NEGATIVE: error: convert-spa-to-gpu: successor-prefetch must be 0 (off) to 65536 work items; got -1
// RANGE: error: convert-spa-to-gpu: successor-prefetch must be 0 (off) to 65536 work items; got 65537

// CHECK: gpu.func @spa_attention_0({{.*}}%[[WORK:arg6]]: memref<10x3xi32>, %[[QMAP:arg7]]: !llvm.ptr,
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[QMAP]], %{{.*}}, box[%c64_i32,
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi %block_id_x, %c3 : index
// CHECK-NEXT: %[[EXISTS:.*]] = arith.cmpi slt, %[[NEXT]], %c10 : index
// CHECK-NEXT: scf.if %[[EXISTS]] {
// CHECK-NEXT: %[[B:.*]] = memref.load %[[WORK]][%[[NEXT]], %c0] : memref<10x3xi32>
// CHECK-NEXT: %[[H:.*]] = memref.load %[[WORK]][%[[NEXT]], %c1] : memref<10x3xi32>
// CHECK-NEXT: %[[T:.*]] = memref.load %[[WORK]][%[[NEXT]], %c2] : memref<10x3xi32>
// CHECK: %[[ROW:.*]] = arith.muli %{{.*}}, %c64 : index
// CHECK: nvvm.cp.async.bulk.tensor.prefetch %[[QMAP]], box[%c0_i32, %{{.*}}, %{{.*}}, %{{.*}}] : !llvm.ptr
// CHECK-NEXT: nvvm.cp.async.bulk.tensor.prefetch %[[QMAP]], box[%c64_i32, %{{.*}}, %{{.*}}, %{{.*}}] : !llvm.ptr
// CHECK-NOT: nvvm.cp.async.bulk.tensor.prefetch
// CHECK: gpu.func @spa_attention_grad_1_dq({{.*}}%[[DQWORK:arg9]]: memref<10x3xi32>, %[[QM:arg10]]: !llvm.ptr, %[[DOM:arg11]]: !llvm.ptr,
// CHECK: %[[DQNEXT:.*]] = arith.addi %block_id_x, %c3 : index
// CHECK: memref.load %[[DQWORK]][%[[DQNEXT]], %c0]
// CHECK: nvvm.cp.async.bulk.tensor.prefetch %[[QM]], box[%c0_i32,
// CHECK-NEXT: nvvm.cp.async.bulk.tensor.prefetch %[[QM]], box[%c64_i32,
// CHECK: nvvm.cp.async.bulk.tensor.prefetch %[[DOM]], box[%c0_i32,
// CHECK-NOT: nvvm.cp.async.bulk.tensor.prefetch
// CHECK: gpu.func @spa_attention_grad_1_dkdv({{.*}}%[[KVWORK:arg9]]: memref<5x3xi32>, %[[KM:arg10]]: !llvm.ptr, %[[VM:arg11]]: !llvm.ptr,
// CHECK: %[[KVNEXT:.*]] = arith.addi %block_id_x, %c3 : index
// CHECK-NEXT: %{{.*}} = arith.cmpi slt, %[[KVNEXT]], %c5 : index
// CHECK: memref.load %[[KVWORK]][%[[KVNEXT]], %c0]
// CHECK: nvvm.cp.async.bulk.tensor.prefetch %[[KM]], box[%c0_i32,
// CHECK-NEXT: nvvm.cp.async.bulk.tensor.prefetch %[[KM]], box[%c64_i32,
// CHECK: nvvm.cp.async.bulk.tensor.prefetch %[[VM]], box[%c0_i32,
// CHECK-NOT: nvvm.cp.async.bulk.tensor.prefetch

// WS: gpu.func @spa_attention_0(
// WS-NOT: prefetch.tensor
// WS: gpu.func @spa_attention_grad_1_dq(

// PTX-COUNT-8: cp.async.bulk.prefetch.tensor.4d.L2.global.tile

func.func @layer(%q: memref<1x2x300x128xbf16>, %k: memref<1x1x300x128xbf16>,
                 %v: memref<1x1x300x64xbf16>, %o: memref<1x2x300x64xbf16>,
                 %l: memref<1x2x300xf32>) {
  spa.attention bands(#spa.bands<causal, [0:51], [51:300]>)
      ins(%q, %k, %v : memref<1x2x300x128xbf16>, memref<1x1x300x128xbf16>, memref<1x1x300x64xbf16>)
      outs(%o, %l : memref<1x2x300x64xbf16>, memref<1x2x300xf32>)
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:300]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x300x128xbf16>, memref<1x1x300x128xbf16>, memref<1x1x300x64xbf16>, memref<1x2x300x64xbf16>, memref<1x2x300xf32>, memref<1x2x300x64xbf16>)
      outs(%q, %k, %v : memref<1x2x300x128xbf16>, memref<1x1x300x128xbf16>, memref<1x1x300x64xbf16>)
  return
}
