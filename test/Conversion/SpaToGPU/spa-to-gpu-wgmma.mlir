// convert-spa-to-gpu, sm_90a wgmma kernel: dynamic shared memory carved into
// 128-byte-swizzled Q, K and V tiles, cp.async copies in commit groups
// (tma=false; spa-to-gpu-wgmma-tma.mlir has the TMA loads), a
// K/V ring (stages = 2), S = Q K^T by nvvm.wgmma.mma_async from shared
// memory and O += P V by wgmma with P in registers (inline PTX).
// RUN: spa-opt %s -convert-spa-to-gpu="stages=2 tma=false" | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="stages=1 tma=false" | FileCheck %s --check-prefix=ONE
// RUN: spa-opt %s -convert-spa-to-gpu="stages=1 warps=8 tile-k=16 tma=false" | FileCheck %s --check-prefix=GUARD

// CHECK: memref.global "private" constant @spa_attention_0_work : memref<4x3xi32>
// Launch with dynamic shared memory: Q 64x64 + 2 x (K 64x64 + V 64x64) bf16.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c4, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %c40960_i32
// CHECK: gpu.module @spa_kernels
// CHECK: memref.global @spa_dynamic_shared : memref<0xi8, #gpu.address_space<workgroup>> {alignment = 1024 : i64}
// CHECK: gpu.func @spa_attention_0(
// CHECK-SAME: dynamic_shared_bytes = 40960 : i64
// CHECK-SAME: mma = "wgmma"
// CHECK: %[[RAW:.*]] = memref.get_global @spa_dynamic_shared
// CHECK: %[[ALL:.*]] = memref.reinterpret_cast %[[RAW]] to offset: [0], sizes: [40960]
// CHECK: %[[Q:.*]] = memref.view %[[ALL]][%c0{{.*}}][] : {{.*}} to memref<1x64x64xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[K:.*]] = memref.view %[[ALL]][%c8192{{.*}}][] : {{.*}} to memref<2x1x64x64xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[V:.*]] = memref.view %[[ALL]][%c24576{{.*}}][] : {{.*}} to memref<2x1x64x64xbf16, #gpu.address_space<workgroup>>
// Descriptors from the tiles' shared addresses.
// CHECK: memref.extract_aligned_pointer_as_index %[[Q]]
// Q copies: 16 bytes each, zero-filled past the sequence, swizzled column.
// CHECK: nvgpu.device_async_copy %arg0[{{.*}}], %[[Q]][{{.*}}], 8, %{{.*}} {bypassL1}
// Ring prologue: tile 0 of the range into buffer 0, one commit group.
// CHECK: scf.if
// CHECK: nvgpu.device_async_copy %arg1[{{.*}}], %[[K]][%c0{{.*}}, {{.*}}], 8
// CHECK: nvgpu.device_async_copy %arg2[{{.*}}], %[[V]][%c0{{.*}}, {{.*}}], 8
// CHECK: nvvm.cp.async.commit.group
// Key loop bounded by the interval; the next tile goes into the other buffer.
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %c64
// CHECK: scf.if
// CHECK: nvgpu.device_async_copy %arg1
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// S = Q K^T: D / 16 = 4 wgmma from shared memory (the first ignores the
// undefined accumulator: scale-d zero), then a wait that also fences the
// accumulators.
// CHECK: llvm.mlir.undef
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-3: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: llvm.inline_asm has_side_effects "wgmma.wait_group.sync.aligned 0;"
// Masked and unmasked tile paths.
// CHECK: scf.if %{{.*}} -> (vector<2x2xf32>
// CHECK: } else {
// CHECK: arith.select
// O += P V: tile-k / 16 = 4 wgmma with A (P) in registers, V transposed.
// CHECK: llvm.inline_asm has_side_effects "{\0A.reg .pred p;\0Awgmma.fence.sync.aligned;\0Asetp.ne.b32 p, $69, 0;\0Awgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK-SAME: p, 1, 1, 1;
// CHECK-COUNT-3: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// The ring buffer is refilled only after every warp is done with it.
// CHECK: gpu.barrier
// CHECK-NEXT: scf.yield

// stages = 1: one K and one V buffer; the next K copy is issued after
// Q K^T, the next V copy after P V.
// ONE: dynamic_shared_memory_size %c24576_i32
// ONE: memref.view {{.*}} to memref<1x1x64x64xbf16, #gpu.address_space<workgroup>>
// ONE: scf.for
// ONE: nvvm.cp.async.wait.group 1
// ONE: nvvm.wgmma.commit.group.sync.aligned
// ONE: gpu.barrier
// ONE: nvgpu.device_async_copy %arg1
// ONE: nvvm.cp.async.commit.group
// ONE: nvvm.cp.async.wait.group 1
// ONE: wgmma.mma_async.sync.aligned.m64n64k16
// ONE: gpu.barrier
// ONE: nvgpu.device_async_copy %arg2
// ONE: nvvm.cp.async.commit.group
// ONE-NEXT: scf.yield

// Two warpgroups, 16-key tiles: a 16 x 64 tile is 128 copies of 16 bytes
// for 256 threads; the threads past the tile must not write (the V tile
// follows the K tile in shared memory).
// GUARD: %[[IN:.*]] = arith.cmpi slt, %{{.*}}, %c128{{.*}} : index
// GUARD-NEXT: scf.if %[[IN]] {
// GUARD: nvgpu.device_async_copy %arg1{{.*}} to memref<1x1x16x64xbf16, #gpu.address_space<workgroup>>
// Items whose ranges are all empty still wait for their Q copies.
// GUARD: nvvm.cp.async.wait.group 0
// GUARD-NOT: nvgpu.device_async_copy

func.func @layer(%q: memref<1x2x100x64xbf16>, %k: memref<1x1x100x64xbf16>,
                 %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>,
                 %l: memref<1x2x100xf32>) {
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v : memref<1x2x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x1x100x64xbf16>)
      outs(%o, %l : memref<1x2x100x64xbf16>, memref<1x2x100xf32>)
  return
}
