// shared-stream-lse: the classic wgmma dK/dV kernel's stream rows' lse
// through shared memory (BackwardConfig::stagesStreamLse,
// BackwardMainloopSm90.cpp; auto, the default, takes it for the kernel
// that stores dS, attention-grad-score-grads.mlir, and the recomputing one
// at D = Dv = 128, attention-grad-staged-stats-auto.mlir): each stream
// tile's 64 lse values go into [2][64] f32 after the tiles (offset 73728 =
// (64 + 2 x 64) rows x (128 + 64) columns x 2 bytes), one 4-byte cp.async
// a thread issued with the tile's copies a tile ahead, waited for before
// the block barrier that precedes the tile, and read (times log2 e) where
// the probabilities are recomputed instead of a global load a tile. The dQ
// kernel (its stream is K and V) does not; the warp-specialised kernel (its
// producer stages lse and Delta itself) and mma.sync refuse the option.
// RUN: spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64 shared-stream-lse=true" -canonicalize | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64 tma=false shared-stream-lse=true" -canonicalize | FileCheck %s --check-prefix=CPASYNC
// Off: explicitly, and by auto here (this kernel recomputes dS: Dv = 64).
// RUN: spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64" -canonicalize | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64 shared-stream-lse=false" -canonicalize | FileCheck %s --check-prefix=OFF
// RUN: not spa-opt %s -convert-spa-to-gpu="shared-stream-lse=1" 2>&1 | FileCheck %s --check-prefix=BADVALUE
// BADVALUE: for the --shared-stream-lse option: Cannot find option named '1'!
// RUN: spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64 backward-schedule=ws" -canonicalize | FileCheck %s --check-prefix=WS
// RUN: not spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64 backward-schedule=ws shared-stream-lse=true" 2>&1 | FileCheck %s --check-prefix=NOWS
// RUN: not spa-opt %s -convert-spa-to-gpu="chip=sm_80 shared-stream-lse=true" 2>&1 | FileCheck %s --check-prefix=NOSYNC

// 512 bytes more than the tiles and the three barriers.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv {{.*}} dynamic_shared_memory_size %c74264_i32
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dq(
// CHECK-NOT: memref<2x64xf32, #gpu.address_space<workgroup>>
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// CHECK-SAME: %[[LSEARG:arg3]]: memref<1x2x100xf32>
// CHECK: %[[LSE:.*]] = memref.view %{{.*}}[%c73728][] : memref<74264xi8, #gpu.address_space<workgroup>> to memref<2x64xf32, #gpu.address_space<workgroup>>
// A range's first tile: its TMA copies, then the lse copies in their own
// commit group.
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvgpu.device_async_copy %[[LSEARG]][%{{.*}}, %{{.*}}, %{{.*}}], %[[LSE]][%{{.*}}, %{{.*}}], 1 : memref<1x2x100xf32> to memref<2x64xf32, #gpu.address_space<workgroup>>
// CHECK: nvvm.cp.async.commit.group
// Each tile: this tile's lse copies are waited for before the barrier, the
// next tile's issued after it, then the tile's own barrier phase.
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvgpu.device_async_copy %[[LSEARG]]{{.*}}, %[[LSE]]{{.*}}, 1 :
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.mbarrier.try_wait.parity
// Read where used: lse * log2(e), no global load of lse in the tile.
// CHECK: %[[L:.*]] = memref.load %[[LSE]][%{{.*}}, %{{.*}}] : memref<2x64xf32, #gpu.address_space<workgroup>>
// CHECK-NEXT: arith.mulf %[[L]], %{{.*}} : f32
// CHECK-NOT: memref.load %[[LSEARG]]

// cp.async tiles: the lse copies join the tile's commit group.
// CPASYNC-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// CPASYNC: %[[LSE:.*]] = memref.view %{{.*}}[%c73728][] {{.*}} to memref<2x64xf32, #gpu.address_space<workgroup>>
// CPASYNC: nvgpu.device_async_copy %arg0{{.*}} 8, %{{.*}} {bypassL1}
// CPASYNC: nvgpu.device_async_copy %arg3{{.*}}, %[[LSE]]{{.*}}, 1 :
// CPASYNC: nvgpu.device_async_copy %arg4{{.*}} 8, %{{.*}} {bypassL1}
// CPASYNC: nvvm.cp.async.commit.group
// CPASYNC: memref.load %[[LSE]]

// Off (the default): the tiles and three barriers only, lse loaded per
// tile from global memory.
// OFF: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv {{.*}} dynamic_shared_memory_size %c73752_i32
// OFF-NOT: memref<2x64xf32, #gpu.address_space<workgroup>>

// NOWS: error: 'spa.attention_grad' op shared-stream-lse applies to the classic wgmma dK/dV kernel (chip = sm_90a, mma = wgmma or auto taking it, backward-schedule = classic, its tiles and the lse within 232448 bytes of shared memory); got the warp-specialised dK/dV kernel, {{[0-9]+}} bytes; use shared-stream-lse = false
// NOSYNC: error: 'spa.attention_grad' op shared-stream-lse applies to the classic wgmma dK/dV kernel {{.*}}; got mma.sync, {{[0-9]+}} bytes; use shared-stream-lse = false

// WS: gpu.func @spa_attention_grad_0_dkdv(
// WS-NOT: memref<2x64xf32
// WS: memref<3x2x64xf32, #gpu.address_space<workgroup>>
// WS-NOT: memref<2x64xf32

func.func @f(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%q, %k, %v : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>)
  return
}
