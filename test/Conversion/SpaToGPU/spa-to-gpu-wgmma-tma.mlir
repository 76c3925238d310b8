// The wgmma forward's TMA tile loads (tma = true, the default on sm_90a):
// the kernel takes the maps of Q (query-tile rows), K and V (key-tile rows)
// after its buffers; thread 0 initialises Q's barrier and one K and one V
// barrier per buffer, issues one cp.async.bulk.tensor per 64 columns and
// announces each copy's bytes with exactly one arrival per phase (the ring
// copies K and V of a tile on K's barrier with one arrival for both); every
// thread waits for the tile's phase. D = 64, tile-k 64: Q 8 KiB, K and V
// 8 KiB each. (The TMA stores of the staged O: epilogue-tma-stores.mlir.)
// RUN: spa-opt %s -convert-spa-to-gpu="stages=2 tma-stores=false" -canonicalize | FileCheck %s --check-prefix=RING
// RUN: spa-opt %s -convert-spa-to-gpu="stages=1 tma-stores=false" -canonicalize | FileCheck %s --check-prefix=CHAIN
// RUN: spa-opt %s -convert-spa-to-gpu="stages=2 warps=8 tma-stores=false" -canonicalize | FileCheck %s --check-prefix=SKIP

// Q 8 KiB + 2 x (8 + 8) KiB, then 5 barriers: 41000 bytes.
// RING: gpu.launch_func @spa_kernels::@spa_attention_0 {{.*}} dynamic_shared_memory_size %c41000_i32 args({{.*}}, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr)
// RING: gpu.func @spa_attention_0({{.*}}, %[[QMAP:[a-z0-9]+]]: !llvm.ptr, %[[KMAP:[a-z0-9]+]]: !llvm.ptr, %[[VMAP:[a-z0-9]+]]: !llvm.ptr)
// RING-SAME: args = ["query", "key", "value", "output", "log_sum_exp", "bounds", "work", "query_map", "key_map", "value_map"]
// RING-SAME: dynamic_shared_bytes = 41000 : i64
// RING-SAME: box = array<i64: 64, 64, 1, 1>, dims = array<i64: 64, 100, 2, 1>, {{.*}}name = "query_map", of = "query"
// RING-SAME: dims = array<i64: 64, 100, 1, 1>, {{.*}}name = "key_map", of = "key"
// RING-SAME: spa.tensor_map_args = array<i32: 7, 8, 9>
// RING-NOT: nvgpu.device_async_copy
// Q: five barriers initialised once, 8 KiB announced, one box.
// RING-COUNT-5: nvvm.mbarrier.init
// RING: nvvm.fence.mbarrier.init
// RING: nvvm.mbarrier.arrive.expect_tx %[[QBAR:[0-9]+]], %c8192_i32
// RING: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[QMAP]], %[[QBAR]]
// RING: gpu.barrier
// RING-NEXT: nvvm.mbarrier.try_wait.parity %[[QBAR]], %c0_i32
// A range's first tile: K and V on one barrier, 16 KiB in one arrival.
// RING: nvvm.mbarrier.arrive.expect_tx %[[KBAR:[0-9]+]], %c16384_i32
// RING-NOT: nvvm.mbarrier.arrive.expect_tx
// RING: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[KMAP]], %[[KBAR]]
// RING: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[VMAP]], %[[KBAR]]
// Per tile: the tile stages - 1 ahead, the same way; then this tile's wait.
// RING: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c16384_i32
// RING: nvvm.mbarrier.try_wait.parity
// RING-NOT: nvvm.mbarrier.init

// Chained (one K and one V buffer): K and V on their own barriers, 8 KiB
// each; the wait for Q only after the first K and V copies are issued (their
// latencies overlap); K waited before Q K^T, V before P V.
// CHAIN: spa.tensor_map_args = array<i32: 7, 8, 9>
// CHAIN-COUNT-3: nvvm.mbarrier.init
// CHAIN: nvvm.mbarrier.arrive.expect_tx %[[QB:[0-9]+]], %c8192_i32
// CHAIN: gpu.barrier
// CHAIN-NOT: nvvm.mbarrier.try_wait.parity
// CHAIN: nvvm.mbarrier.arrive.expect_tx %[[K:[0-9]+]], %c8192_i32
// CHAIN: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg8, %[[K]]
// CHAIN: nvvm.mbarrier.arrive.expect_tx %[[V:[0-9]+]], %c8192_i32
// CHAIN: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg9, %[[V]]
// CHAIN: nvvm.mbarrier.try_wait.parity %[[QB]], %c0_i32
// CHAIN: nvvm.mbarrier.try_wait.parity
// CHAIN: nvvm.wgmma.mma_async
// CHAIN: nvvm.mbarrier.try_wait.parity
// CHAIN-NOT: nvvm.mbarrier.init

// The ring with two warpgroups (128-row items): every thread issues its part
// of the tile (the copy ahead, the wait) and meets the block barrier after
// it; only a warpgroup whose 64 rows reach the tile runs its products and
// softmax (the other keeps its row state).
// SKIP: known_block_size = array<i32: 256, 1, 1>
// SKIP: scf.for
// SKIP: nvvm.cp.async.bulk.tensor.shared.cluster.global
// SKIP: nvvm.mbarrier.try_wait.parity
// SKIP-NOT: gpu.barrier
// SKIP: scf.if %{{.*}} -> (f32, f32, f32, f32,
// SKIP-NOT: gpu.barrier
// SKIP: nvvm.wgmma.mma_async
// SKIP-NOT: gpu.barrier
// SKIP: wgmma.wait_group.sync.aligned 0
// SKIP-NOT: gpu.barrier
// SKIP: scf.yield %arg{{[0-9]+}}, %arg{{[0-9]+}}, %arg{{[0-9]+}}, %arg{{[0-9]+}}, %arg
// SKIP-NEXT: }
// SKIP-NEXT: gpu.barrier

// GUARD-NOT: nvgpu.device_async_copy

func.func @layer(%q: memref<1x2x100x64xbf16>, %k: memref<1x1x100x64xbf16>,
                 %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>,
                 %l: memref<1x2x100xf32>) {
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v : memref<1x2x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x1x100x64xbf16>)
      outs(%o, %l : memref<1x2x100x64xbf16>, memref<1x2x100xf32>)
  return
}
