// backward-schedule=ws with deterministic=false: dQ fused into the
// warp-specialised dK/dV kernel (BackwardQueryReduceWs.h). The kernels are
// preprocess (zeroes dq_accum), dkdv_dq (384 threads) and dq_convert; no dq
// kernel. Per tile the consumers stage dS^T in a double-buffered exchange
// tile (after the mainloop's tiles), then a barrier: with two 64-column
// blocks of dQ (D = 128) both consumer warpgroups meet on named barrier 1
// (256 threads; barrier.sync, not the .aligned bar.sync, since a warpgroup
// that skips the tile's products reaches it from another branch) and each
// forms its 64 columns over all 128 keys (k = 8 x 16); with one (D = 64)
// each warpgroup syncs its own 128 threads (barrier 6 + w) and forms the
// whole 64 x 64 piece over its own 64 keys (k = 4 x 16). The piece goes to
// the warpgroup's f32 staging buffer between barrier.sync dQEmpty[w] (4 +
// w) and barrier.arrive dQFull[w] (2 + w), 160 threads each: the warpgroup
// and the dQ writer, warp 9, which arrives on both dQEmpty, waits on each
// dQFull and has one lane issue the bulk reductions, then waits until they
// have read shared memory (and for all of them at the end).
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="backward-schedule=ws deterministic=false" -canonicalize | FileCheck %s
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="deterministic=false" -canonicalize | FileCheck %s --check-prefix=AUTO
// RUN: spa-opt %s -split-input-file --spa-to-nvvm="backward-schedule=ws deterministic=false format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX

// D = 128, Dv = 64. Shared memory: the mainloop's 122880 bytes, the
// exchange tiles 2 x 128 x 64 x 2, the staging 2 x 64 x 64 x 4, the
// statistics 3 x 2 x 64 x 4, seven barriers: 190008 bytes.
// CHECK-LABEL: func.func @exchange
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_preprocess
// CHECK-SAME: memref<1x2x3x2x64x64xf32>
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv_dq blocks in (%c1, %c1, %c1) threads in (%c384, %c1, %c1) dynamic_shared_memory_size %c190008_i32
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_convert
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.func @spa_attention_grad_0_dkdv_dq(
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>, nvvm.minctasm = 1 : i32
// CHECK-SAME: role = "dkdv_dq"
// CHECK: memref.view %{{.*}}[%c122880][] : memref<190008xi8, #gpu.address_space<workgroup>> to memref<2x1x128x64xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.view %{{.*}}[%c155648][] : memref<190008xi8, #gpu.address_space<workgroup>> to memref<2x1x64x64xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.setmaxregister  decrease 24
// The dQ writer (after the producer warp's code).
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: "barrier.arrive 4, 160;"
// CHECK-NEXT: "barrier.arrive 5, 160;"
// CHECK: "barrier.sync 2, 160;"
// CHECK: cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32
// CHECK: nvvm.cp.async.bulk.commit.group
// CHECK: "barrier.sync 3, 160;"
// CHECK: cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32
// CHECK: nvvm.cp.async.bulk.wait_group 0 {read}
// CHECK: nvvm.cp.async.bulk.wait_group 0{{$}}
// CHECK: nvvm.setmaxregister  increase 240
// CHECK-NOT: cp.reduce.async.bulk
// The tile's products: S^T and dP^T, dV (register A) ...
// CHECK: scf.if
// CHECK: nvvm.wgmma.mma_async
// CHECK: vector.store {{.*}} : memref<2x1x128x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: "barrier.sync 1, 256;"
// ... dQ over all 128 keys: eight k steps, A (dS) and B (K) MN-major ...
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <{{zero|one}}>], A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// ... dK (register A), then the piece handed to the writer.
// CHECK: "barrier.sync $0, 160;"
// CHECK: vector.store {{.*}} : memref<2x1x64x64xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: "barrier.arrive $0, 160;"
// A warpgroup that skips the tile stages zeros and still forms its columns.
// CHECK: } else {
// CHECK: vector.store %cst{{.*}} : memref<2x1x128x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK: "barrier.sync 1, 256;"
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK: "barrier.sync $0, 160;"
// CHECK: "barrier.arrive $0, 160;"
// CHECK: nvvm.mbarrier.arrive
// CHECK-NOT: cp.reduce.async.bulk
// CHECK: gpu.func @spa_attention_grad_0_dq_convert(

// PTX-LABEL: .entry spa_attention_grad_0_dkdv_dq(
// PTX: .maxntid 384, 1, 1
// PTX: .minnctapersm 1
// PTX: barrier.sync 1, 256;
// PTX: cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32

func.func @exchange(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%q, %k, %v : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>)
  return
}

// -----

// backward-schedule=auto takes the fused form with deterministic=false
// wherever it applies (it measured faster than the classic atomic kernel at
// D = 64 and D = 128).
// AUTO-LABEL: func.func @exchange
// AUTO: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv_dq blocks in ({{%c[0-9]+}}, %c1, %c1) threads in (%c384, %c1, %c1)
// AUTO-LABEL: func.func @own
// AUTO: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv_dq blocks in ({{%c[0-9]+}}, %c1, %c1) threads in (%c384, %c1, %c1)

// D = Dv = 64: each warpgroup's own keys, no exchange barrier; a warpgroup
// that skips the tile skips its dQ too, and the writer skips its piece
// (the same test of the tile's reach for each warpgroup).
// CHECK-LABEL: func.func @own
// CHECK: gpu.func @spa_attention_grad_0_dkdv_dq(
// CHECK-NOT: barrier.sync 1, 256
// CHECK: nvvm.setmaxregister  decrease 24
// CHECK: scf.if %{{.*}} {
// CHECK: "barrier.arrive 4, 160;"
// CHECK: scf.if %{{.*}} {
// CHECK-NEXT: "barrier.arrive 5, 160;"
// CHECK: nvvm.setmaxregister  increase 240
// CHECK: vector.store {{.*}} : memref<2x1x128x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: "barrier.sync $0, 128;"
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK-NOT: nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK: "barrier.arrive $0, 160;"
// CHECK: } else {
// CHECK-NEXT: scf.yield
// CHECK-NOT: barrier.sync 1, 256
// CHECK: gpu.func @spa_attention_grad_0_dq_convert(
func.func @own(%q: memref<1x2x64x64xbf16>, %l: memref<1x2x64xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64xf32>, memref<1x2x64x64xbf16>)
      outs(%q, %q, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>)
  return
}
