// forward-schedule=ws: the warp-specialised, persistent wgmma forward. A
// block is the consumer warps (two warpgroups with warps=8, one with
// warps=4) plus one producer warpgroup, and loops over work items from its
// block index in steps of the grid (at most 132 blocks an SM slot). Thread
// 0 initialises the barriers (Q's and the full ones with one arrival, Q's
// release and the empty ones with one per consumer thread) before the only
// block barrier; then the producer warpgroup gives registers back and its
// first lane, per item, waits for Q's release and loads Q, then walks the
// item's key tiles (wait for the buffer's release, announce K and V's
// bytes, two TMA copies each); the consumers take registers and per item
// wait for Q, per tile wait for it, compute it only where their rows reach
// it (two warpgroups), release it on its empty barrier, and release Q
// before the epilogue. stages = 0 takes as many as fit (warps=8: 4, one
// block an SM; warps=4: 3, two blocks). warps=12: three consumer
// warpgroups on 192-row items (one block of 512 threads an SM, consumers at
// 160 registers), each skipping the tiles its 64 rows do not reach.
// RUN: spa-opt %s -convert-spa-to-gpu="forward-schedule=ws warps=8" -canonicalize | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="forward-schedule=ws" -canonicalize | FileCheck %s --check-prefix=ONE
// RUN: spa-opt %s -convert-spa-to-gpu="forward-schedule=ws warps=8 stages=2" -canonicalize | FileCheck %s --check-prefix=TWO
// RUN: spa-opt %s -convert-spa-to-gpu="forward-schedule=ws warps=12" -canonicalize | FileCheck %s --check-prefix=THREE

// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c6, %c1, %c1) threads in (%c384, %c1, %c1) dynamic_shared_memory_size %c163920_i32
// CHECK: gpu.func @spa_attention_0
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>, nvvm.minctasm = 1 : i32
// CHECK-SAME: dynamic_shared_bytes = 163920 : i64
// Q's barrier and its release, then four (full, empty) pairs.
// CHECK: nvvm.mbarrier.init %{{.*}}, %c1_i32
// CHECK-NEXT: nvvm.mbarrier.init %{{.*}}, %c256_i32
// CHECK-COUNT-4: nvvm.mbarrier.init %{{.*}}, %c256_i32
// CHECK-NOT: nvvm.mbarrier.init
// CHECK: nvvm.fence.mbarrier.init
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// The producer: per item, Q once released, then the key tiles.
// CHECK: nvvm.setmaxregister  decrease 24
// CHECK: scf.for %{{.*}} = %block_id_x to %c6 step %grid_dim_x
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c32768_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}}, %arg7,
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c32768_i32
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}}, %arg8,
// CHECK-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global {{.*}}, %arg9,
// The consumers.
// CHECK: nvvm.setmaxregister  increase 240
// CHECK: scf.for %{{.*}} = %block_id_x to %c6 step %grid_dim_x
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: scf.if
// CHECK: nvvm.wgmma.mma_async
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: scf.yield
// CHECK: nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3>
// Q's release after the key loop, before the epilogue's stores.
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3>
// CHECK-NOT: gpu.barrier

// One consumer warpgroup: 256 threads, two blocks an SM, no per-warpgroup
// skip (its rows are the item's).
// ONE: threads in (%c256, %c1, %c1) dynamic_shared_memory_size %c114752_i32
// ONE: known_block_size = array<i32: 256, 1, 1>, nvvm.minctasm = 2 : i32
// ONE: nvvm.mbarrier.init %{{.*}}, %c128_i32
// ONE: nvvm.setmaxregister  decrease 24
// ONE: nvvm.setmaxregister  increase 232
// ONE: scf.for
// ONE-NOT: scf.if %{{.*}} -> (f32
// ONE: nvvm.wgmma.mma_async
// ONE: nvvm.mbarrier.arrive

// TWO: dynamic_shared_memory_size %c98352_i32

// Three consumer warpgroups: Q's box is 192 rows, the release barriers
// count 384 consumer threads, four stages fit beside Q.
// THREE: blocks in (%c4, %c1, %c1) threads in (%c512, %c1, %c1) dynamic_shared_memory_size %c180304_i32
// THREE: known_block_size = array<i32: 512, 1, 1>, nvvm.minctasm = 1 : i32
// THREE-SAME: box = array<i64: 64, 192, 1, 1>
// THREE-SAME: tile = array<i64: 192, 64>
// THREE: nvvm.mbarrier.init %{{.*}}, %c1_i32
// THREE-NEXT: nvvm.mbarrier.init %{{.*}}, %c384_i32
// THREE-COUNT-4: nvvm.mbarrier.init %{{.*}}, %c384_i32
// THREE-NOT: nvvm.mbarrier.init
// THREE: nvvm.setmaxregister  decrease 24
// THREE: nvvm.setmaxregister  increase 160
// THREE: scf.for %{{.*}} = %block_id_x to %c4 step %grid_dim_x
// THREE: scf.if
// THREE: nvvm.wgmma.mma_async

func.func @layer(%q: memref<1x2x300x128xbf16>, %k: memref<1x1x300x128xbf16>,
                 %v: memref<1x1x300x128xbf16>, %o: memref<1x2x300x128xbf16>,
                 %l: memref<1x2x300xf32>) {
  spa.attention bands(#spa.bands<causal, [0:151], [151:300]>)
      ins(%q, %k, %v : memref<1x2x300x128xbf16>, memref<1x1x300x128xbf16>, memref<1x1x300x128xbf16>)
      outs(%o, %l : memref<1x2x300x128xbf16>, memref<1x2x300xf32>)
  return
}
