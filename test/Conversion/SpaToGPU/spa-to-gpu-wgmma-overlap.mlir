// forward-schedule=overlap: the wgmma forward issues Q K^T of key tile t
// together with P V of tile t - 1 and runs tile t's softmax under P V
// (FlashAttention-3's in-warpgroup overlap). Per key range: the copies of
// the range's first `stages` tiles, a peeled first tile (its Q K^T alone),
// then a loop whose body issues two commit groups, waits for the older one
// (wait_group 1, the scores) before the softmax and for both (wait_group 0)
// before rescaling O; the last P V drains after the loop. stages = 0 takes
// three buffers.
// RUN: spa-opt %s -convert-spa-to-gpu="forward-schedule=overlap" -canonicalize | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="forward-schedule=overlap stages=2" -canonicalize | FileCheck %s --check-prefix=TWO
// RUN: spa-opt %s -convert-spa-to-gpu="forward-schedule=serial" -canonicalize | FileCheck %s --check-prefix=SERIAL
// RUN: spa-opt %s -convert-spa-to-gpu -canonicalize | FileCheck %s --check-prefix=SERIAL

// 16 KiB of Q + 3 x 32 KiB of K and V, then the barriers.
// CHECK: gpu.func @spa_attention_0
// CHECK-SAME: dynamic_shared_bytes = 114744 : i64
// The range's first three tiles: K (%arg8) and V (%arg9) in two 64-column
// boxes each, each tile under its own guard, before any product.
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK-COUNT-3: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}}, %arg9, {{.*}}box[%c64_i32
// The peeled tile: Q K^T alone, waited in full.
// CHECK: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NOT: wgmma.mma_async
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// The loop: Q K^T of t (group 1), P V of t - 1 (group 2), the scores
// waited first, then both, a block barrier, the refill of the buffer tile
// t - 1 leaves.
// CHECK: scf.for
// CHECK: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: "wgmma.wait_group.sync.aligned 1;"
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: gpu.barrier
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}}, %arg8,
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}}, %arg9,
// CHECK: scf.yield
// The last P V after the loop, then the barrier that frees the ring.
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: "wgmma.wait_group.sync.aligned 0;"
// CHECK: gpu.barrier

// Two stages: 16 + 2 x 32 KiB, two tiles copied ahead.
// TWO: dynamic_shared_bytes = 81960 : i64
// TWO-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}}, %arg9, {{.*}}box[%c64_i32
// TWO-NOT: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}}, %arg9,
// TWO: nvvm.wgmma.mma_async

// The serial schedules never leave a group in flight.
// SERIAL: gpu.func @spa_attention_0
// SERIAL-NOT: wgmma.wait_group.sync.aligned 1

func.func @layer(%q: memref<1x2x300x128xbf16>, %k: memref<1x1x300x128xbf16>,
                 %v: memref<1x1x300x128xbf16>, %o: memref<1x2x300x128xbf16>,
                 %l: memref<1x2x300xf32>) {
  spa.attention bands(#spa.bands<causal, [0:151], [151:300]>)
      ins(%q, %k, %v : memref<1x2x300x128xbf16>, memref<1x1x300x128xbf16>, memref<1x1x300x128xbf16>)
      outs(%o, %l : memref<1x2x300x128xbf16>, memref<1x2x300xf32>)
  return
}
