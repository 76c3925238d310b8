// The wgmma backward (mma = wgmma, sm_90a): both product kernels with
// swizzled own tiles, a two-stage ring of swizzled stream tiles filled by
// cp.async (tma=false; attention-grad-tma.mlir has the TMA loads), own x
// stream^T from shared memory through descriptors, and the
// accumulating products with A in registers and B MN-major (inline PTX).
// D = 128, Dv = 64, 64 own rows, 64 stream rows.
// RUN: spa-opt %s -convert-spa-to-gpu="mma=wgmma tma=false" -canonicalize | FileCheck %s
// RUN: spa-opt %s --spa-to-nvvm="mma=wgmma tma=false format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX

// (64 + 2 x 64) rows x (128 + 64) columns x 2 bytes, no padding.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq {{.*}} dynamic_shared_memory_size %c73728_i32
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv {{.*}} dynamic_shared_memory_size %c73728_i32

// CHECK: gpu.func @spa_attention_grad_0_dq
// CHECK-SAME: dynamic_shared_bytes = 73728 : i64{{.*}}mma = "wgmma", op = 0 : i64, programmatic_launch, role = "dq"
// CHECK: gpu.func @spa_attention_grad_0_dkdv
// CHECK-SAME: dynamic_shared_bytes = 73728 : i64{{.*}}mma = "wgmma", op = 0 : i64, programmatic_launch, role = "dkdv"
// Descriptor bits: 128-byte swizzle, SBO 1024 B, LBO 64 rows x 128 B.
// CHECK-DAG: arith.constant 4611686293338849280 : i64
// Own K [D/64][64][64], own V, then Q and dO as [2 stages][width/64][64][64].
// CHECK-DAG: memref.view {{.*}}[%c0][] : memref<73728xi8, #gpu.address_space<workgroup>> to memref<2x64x64xbf16, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.view {{.*}}[%c16384][] : {{.*}} to memref<1x64x64xbf16, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.view {{.*}}[%c24576][] : {{.*}} to memref<2x2x64x64xbf16, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.view {{.*}}[%c57344][] : {{.*}} to memref<2x1x64x64xbf16, #gpu.address_space<workgroup>>
// The own tiles: cp.async, all groups waited, made visible to wgmma.
// CHECK: nvgpu.device_async_copy %arg1
// CHECK: nvgpu.device_async_copy %arg2
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// A range's first Q/dO tile into buffer 0 (after a barrier) ...
// CHECK: gpu.barrier
// CHECK: nvgpu.device_async_copy %arg0{{.*}}%view_5[%c0,
// CHECK: nvgpu.device_async_copy %arg4{{.*}}%view_6[%c0,
// CHECK: nvvm.cp.async.commit.group
// ... per tile: the next tile into the other buffer, this tile waited for.
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK: nvgpu.device_async_copy %arg0
// CHECK: nvgpu.device_async_copy %arg4
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// S^T = K Q^T (D / 16 = 8 steps) and dP^T = V dO^T (Dv / 16 = 4 steps):
// wgmma m64n64k16 from shared memory, two commit groups issued back to back;
// each product's first step ignores its undefined accumulator (scale-d 0).
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>, D[<f32>, <zero>]
// CHECK-COUNT-7: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>, D[<f32>, <one>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NOT: wgmma.wait_group
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>, D[<f32>, <zero>]
// CHECK-COUNT-3: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>, D[<f32>, <one>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// S^T is waited for with dP^T still in flight.
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// dV += P^T dO: 4 k steps of 16 query rows, P^T in four registers, dO
// transposed (MN-major B: the last immediate).
// CHECK: wgmma.fence.sync.aligned;{{.*}}wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}p, 1, 1, 1;
// CHECK-COUNT-3: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// dP^T is waited for with dV's product in flight.
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// dK += dS^T Q: 4 k steps, each one wgmma as wide as D = 128 (Q's two
// 64-column blocks, leading byte offset apart); one wait for dK and dV.
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}p, 1, 1, 1;
// CHECK-NOT: wgmma.mma_async.sync.aligned
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: "wgmma.wait_group.sync.aligned 0;"

// In the PTX, the wgmma and cp.async instructions ptxas assembles (spa-cuda-compile
// and test_cuda_grad.py run ptxas on such kernels).
// PTX: .entry spa_attention_grad_0_dq(
// PTX-DAG: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}, %rd{{[0-9]+}}, %rd{{[0-9]+}}, p, 1, 1, 0, 0;
// PTX-DAG: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd{{[0-9]+}}, p, 1, 1, 1;
// PTX: .entry spa_attention_grad_0_dkdv(
// PTX-DAG: cp.async.wait_group 1;
// PTX-DAG: fence.proxy.async.shared::cta;
// PTX-DAG: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}, %rd{{[0-9]+}}, %rd{{[0-9]+}}, p, 1, 1, 0, 0;
// PTX-DAG: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd{{[0-9]+}}, p, 1, 1, 1;
// PTX-DAG: wgmma.wait_group.sync.aligned 0;

func.func @f(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%q, %k, %v : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>)
  return
}
