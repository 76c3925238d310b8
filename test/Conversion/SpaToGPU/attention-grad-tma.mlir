// The wgmma backward's TMA tile loads (tma = true, the default on sm_90a):
// each product kernel takes four tensor maps after its buffers (own first,
// own second, stream first, stream second), listed in the launch contract
// and in spa.tensor_map_args; thread 0 initialises the mbarriers, prefetches
// the maps and issues one cp.async.bulk.tensor per 64 columns of a tile;
// every thread waits on the tile's barrier. No thread copies with cp.async.
// The stream ring's c-th tile goes to buffer c % 2 and completes phase
// c / 2 of that buffer's barrier (a counter kept across intervals, so the
// barriers are initialised once). warps = 8, tile-k = 32: own boxes of 128
// rows, stream boxes of 32 rows; D = 128 (two boxes), Dv = 64 (one). (The
// TMA stores of the staged dK, dV and dQ: epilogue-tma-stores.mlir.)
// RUN: spa-opt %s -convert-spa-to-gpu="warps=8 tile-k=32 tma-stores=false" -canonicalize | FileCheck %s
// RUN: spa-opt %s --spa-to-nvvm="warps=8 tile-k=32 tma-stores=false format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX
// RUN: spa-opt %s -convert-spa-to-gpu="warps=8 tile-k=32 tma=false tma-stores=false" | FileCheck %s --check-prefix=CPASYNC

// The host passes null pointers for the maps: only the launcher encodes
// them. Shared memory: (128 + 2 x 32) rows x (128 + 64) columns x 2 bytes,
// then three 8-byte barriers.
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv {{.*}} dynamic_shared_memory_size %c73752_i32 args({{.*}}, %[[NULL]] : !llvm.ptr, %[[NULL]] : !llvm.ptr, %[[NULL]] : !llvm.ptr, %[[NULL]] : !llvm.ptr)

// The dQ kernel (launched first; its maps follow its ten buffers, output
// among them for Delta).
// CHECK: gpu.func @spa_attention_grad_0_dq(
// CHECK-SAME: "query_map", "output_grad_map", "key_map", "value_map"]
// CHECK-SAME: spa.tensor_map_args = array<i32: 10, 11, 12, 13>
// CHECK-NOT: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: gpu.func @spa_attention_grad_0_dkdv({{.*}}, %[[KMAP:[a-z0-9]+]]: !llvm.ptr, %[[VMAP:[a-z0-9]+]]: !llvm.ptr, %[[QMAP:[a-z0-9]+]]: !llvm.ptr, %[[DOMAP:[a-z0-9]+]]: !llvm.ptr)
// CHECK-SAME: spa.launch = {args = ["query", "key", "value", "log_sum_exp", "output_grad", "delta", "key_grad", "value_grad", "bounds", "work", "key_map", "value_map", "query_map", "output_grad_map"]
// K [B, Hkv, N, D] = [1, 1, 100, 128] as dims [128, 100, 1, 1], rows of 256
// bytes; own boxes 64 x 128 rows.
// CHECK-SAME: tensor_maps = [{box = array<i64: 64, 128, 1, 1>, dims = array<i64: 128, 100, 1, 1>, dtype = "bf16", element_strides = array<i64: 1, 1, 1, 1>, l2_promotion_bytes = 128 : i64, name = "key_map", of = "key", oob_fill = "zero", strides_bytes = array<i64: 256, 25600, 25600>, swizzle_bytes = 128 : i64}
// CHECK-SAME: {box = array<i64: 64, 128, 1, 1>, dims = array<i64: 64, 100, 1, 1>, {{.*}} name = "value_map", of = "value"
// Q [1, 2, 100, 128]: stream boxes of 32 rows.
// CHECK-SAME: {box = array<i64: 64, 32, 1, 1>, dims = array<i64: 128, 100, 2, 1>, {{.*}} name = "query_map", of = "query", {{.*}} strides_bytes = array<i64: 256, 25600, 51200>
// CHECK-SAME: {box = array<i64: 64, 32, 1, 1>, dims = array<i64: 64, 100, 2, 1>, {{.*}} name = "output_grad_map", of = "output_grad"
// CHECK-SAME: spa.tensor_map_args = array<i32: 10, 11, 12, 13>
// CHECK-NOT: nvgpu.device_async_copy
// Thread 0: maps prefetched, barriers at 73728 (own), 73736 and 73744
// (stream buffers) initialised for one arrival, the own tiles' 128 x 192 x 2
// bytes announced, three boxes issued (K columns 0 and 64, V column 0) at
// row j0, head g, batch b.
// CHECK: scf.if
// CHECK: nvvm.prefetch tensormap, %[[KMAP]] : !llvm.ptr
// CHECK: nvvm.prefetch tensormap, %[[DOMAP]] : !llvm.ptr
// CHECK: nvvm.mbarrier.init %[[OWN:[a-z0-9]+]], %c1_i32 : !llvm.ptr<3>, i32
// CHECK: nvvm.mbarrier.init %{{.*}}, %c1_i32 : !llvm.ptr<3>, i32
// CHECK: nvvm.mbarrier.init %{{.*}}, %c1_i32 : !llvm.ptr<3>, i32
// CHECK: nvvm.fence.mbarrier.init
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[OWN]], %c49152_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[KMAP]], %[[OWN]], box[%c0_i32, %[[ROW:[a-z0-9]+]], %[[HEAD:[a-z0-9]+]], %[[BATCH:[a-z0-9]+]]] : !llvm.ptr<7>, !llvm.ptr
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[KMAP]], %[[OWN]], box[%c64_i32, %[[ROW]], %[[HEAD]], %[[BATCH]]]
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[VMAP]], %[[OWN]], box[%c0_i32, %{{[0-9]+}}, %[[HEAD]], %[[BATCH]]]
// A block barrier orders the initialisation before any wait; nobody waits
// for the own tiles yet: the first stream tile's copies go out first, so
// that both latencies overlap.
// CHECK: gpu.barrier
// CHECK-NOT: nvvm.mbarrier.try_wait.parity
// A stream tile: 32 x 192 x 2 bytes on its buffer's barrier ...
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c12288_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[QMAP]]
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[QMAP]]
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[DOMAP]]
// ... waited for with the parity of its phase, then the own tiles' phase 0
// (every tile: a completed phase passes at once); no barrier is
// re-initialised.
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.mbarrier.try_wait.parity %[[OWN]], %c0_i32, %{{.*}} : !llvm.ptr<3>, i32, i32
// CHECK-NOT: nvvm.mbarrier.init
// Before the staged epilogue writes dK and dV into the own tiles, their
// arrival again (an item whose walk visits no query tile never waited).
// CHECK: nvvm.mbarrier.try_wait.parity %[[OWN]], %c0_i32
// CHECK: gpu.barrier

// The maps are 128-byte grid-constant parameters, copied by TMA into the
// swizzled tiles on transaction barriers.
// PTX: .entry spa_attention_grad_0_dq(
// PTX: .entry spa_attention_grad_0_dkdv(
// PTX: .param .align 64 .b8 spa_attention_grad_0_dkdv_param_10[128],
// PTX: .param .align 64 .b8 spa_attention_grad_0_dkdv_param_13[128]
// PTX: mbarrier.init.shared.b64
// PTX: mbarrier.arrive.expect_tx.shared.b64
// PTX: cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// PTX: mbarrier.try_wait.parity.shared.b64
// PTX-NOT: cp.async.wait_group

// tma = false: the maps and barriers are gone, every thread copies.
// CPASYNC: gpu.func @spa_attention_grad_0_dkdv
// CPASYNC-SAME: tensor_maps = []
// CPASYNC-NOT: spa.tensor_map_args
// CPASYNC: nvgpu.device_async_copy
// CPASYNC-NOT: cp.async.bulk.tensor

func.func @f(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%q, %k, %v : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>)
  return
}
