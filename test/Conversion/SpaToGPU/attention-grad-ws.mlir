// backward-schedule=ws: the warp-specialised dK/dV kernel
// (BackwardKeyValueWs.cpp). 384 threads, one block an SM: warps 0-7 are two
// consumer warpgroups of 64 keys (a key tile of 128, so the dK/dV grid
// counts key tiles of 128), warp 8 the producer; the dQ kernel (launched
// first: it computes Delta) keeps the options' warps. Barriers: own tiles (1 arrival, their
// bytes), full[3] (the producer warp's 32 lanes, one expecting the stream
// tiles' bytes), empty[3] (the 256 consumer threads); thread 0 initialises
// them before the only block-wide barrier. Then setmaxnreg moves registers
// from the producer (24) to the consumers (240). The producer waits for a
// stage's release, stages lse2 and Delta of the tile's rows in shared
// memory and issues the Q, dO copies; a consumer waits for the stage, reads
// the statistics from shared memory (no global loads of lse or delta) and
// releases the stage after its last product.
// RUN: spa-opt %s -convert-spa-to-gpu="backward-schedule=ws" -canonicalize | FileCheck %s
// RUN: spa-opt %s --spa-to-nvvm="backward-schedule=ws format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX
// RUN: spa-opt %s -convert-spa-to-gpu -canonicalize | FileCheck %s --check-prefix=AUTO

// Shared memory: (128 own + 3 x 64 stream) rows x (128 + 64) columns x 2
// bytes, statistics 3 x 2 x 64 x 4 bytes, seven 8-byte barriers.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq blocks in (%c4, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %c73752_i32
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv blocks in (%c1, %c1, %c1) threads in (%c384, %c1, %c1) dynamic_shared_memory_size %c124472_i32

// CHECK: gpu.func @spa_attention_grad_0_dkdv(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>, nvvm.minctasm = 1 : i32
// CHECK-SAME: block = array<i64: 384, 1, 1>
// CHECK-SAME: dynamic_shared_bytes = 124472
// CHECK-SAME: {box = array<i64: 64, 128, 1, 1>, {{.*}} name = "key_map"
// CHECK-SAME: {box = array<i64: 64, 64, 1, 1>, {{.*}} name = "query_map"
// CHECK-SAME: tile = array<i64: 64, 128>
// CHECK: nvvm.mbarrier.init %[[OWN:[0-9]+]], %c1_i32
// CHECK: nvvm.mbarrier.init %{{[0-9]+}}, %c32_i32
// CHECK: nvvm.mbarrier.init %{{[0-9]+}}, %c256_i32
// CHECK: nvvm.mbarrier.init %{{[0-9]+}}, %c32_i32
// CHECK: nvvm.mbarrier.init %{{[0-9]+}}, %c256_i32
// CHECK: nvvm.mbarrier.init %{{[0-9]+}}, %c32_i32
// CHECK: nvvm.mbarrier.init %{{[0-9]+}}, %c256_i32
// CHECK: nvvm.fence.mbarrier.init
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// The producer warp: own tiles (128 x 192 x 2 bytes), then per tile the
// release wait, the statistics, and the stream copies (64 x 192 x 2 bytes).
// CHECK: nvvm.setmaxregister  decrease 24
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[OWN]], %c49152_i32
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: memref.load %arg3
// CHECK: memref.load %arg5
// CHECK: memref.store {{.*}} : memref<3x2x64xf32, #gpu.address_space<workgroup>>
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{[0-9]+}}, %c24576_i32
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvvm.mbarrier.arrive %{{[0-9]+}} : !llvm.ptr<3>
// The consumers.
// CHECK: nvvm.setmaxregister  increase 240
// CHECK: nvvm.mbarrier.try_wait.parity %[[OWN]], %c0_i32
// CHECK-NOT: memref.load %arg3
// CHECK-NOT: memref.load %arg5
// A warpgroup the tile does not reach skips the products but still waits
// for the stage and releases it.
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: scf.if
// CHECK: memref.load {{.*}} : memref<3x2x64xf32, #gpu.address_space<workgroup>>
// CHECK: nvvm.mbarrier.arrive %{{[0-9]+}} : !llvm.ptr<3>
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return

// PTX: .entry spa_attention_grad_0_dkdv(
// PTX: .maxntid 384, 1, 1
// PTX: .minnctapersm 1
// PTX: setmaxnreg.dec.sync.aligned.u32 24;
// PTX: setmaxnreg.inc.sync.aligned.u32 240;

// backward-schedule=auto keeps the classic kernel (one warpgroup of 64 keys)
// unless D = Dv = 64.
// AUTO: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv blocks in (%c2, %c1, %c1) threads in (%c128, %c1, %c1)
// AUTO-NOT: setmaxregister

func.func @f(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%q, %k, %v : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>)
  return
}
