// shared-stream-delta: the classic wgmma dK/dV kernel's stream rows' Delta
// through shared memory (BackwardConfig::stagesStreamDelta,
// BackwardMainloopSm90.cpp): one [64] f32 buffer after the tiles (and
// after the staged lse's [2][64] where both are on), filled by one 4-byte
// cp.async a thread in its own commit group right after the block barrier
// that starts each tile (every read of the previous tile's Delta is done
// by then), and read where dS is formed, behind a wait for that group and
// a second block barrier (each thread reads rows other threads copied).
// No global load of Delta is left in the dK/dV kernel. Auto (the default)
// takes it, beside the staged lse, for the kernel that stores dS (measured
// -7% on the H100, docs/benchmarks.md step 7g) and the recomputing one at
// D = Dv = 128 (attention-grad-staged-stats-auto.mlir); the warp-specialised kernel
// (its producer stages lse and Delta itself) and mma.sync refuse it.
// RUN: spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64 shared-stream-delta=true" -canonicalize | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64 shared-stream-delta=true shared-stream-lse=true" -canonicalize | FileCheck %s --check-prefix=BOTH
// RUN: spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64 tma=false shared-stream-delta=true" -canonicalize | FileCheck %s --check-prefix=CPASYNC
// RUN: spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64" -canonicalize | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64 score-grads=store" -canonicalize | FileCheck %s --check-prefix=AUTO
// RUN: spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64 shared-stream-delta=false" -canonicalize | FileCheck %s --check-prefix=OFF
// RUN: not spa-opt %s -convert-spa-to-gpu="shared-stream-delta=on" 2>&1 | FileCheck %s --check-prefix=BADVALUE
// BADVALUE: for the --shared-stream-delta option: Cannot find option named 'on'!
// RUN: not spa-opt %s -convert-spa-to-gpu="warps=4 tile-k=64 backward-schedule=ws shared-stream-delta=true" 2>&1 | FileCheck %s --check-prefix=NOWS
// RUN: not spa-opt %s -convert-spa-to-gpu="chip=sm_80 shared-stream-delta=true" 2>&1 | FileCheck %s --check-prefix=NOSYNC

// 256 bytes more than the tiles and the three barriers (73752).
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv {{.*}} dynamic_shared_memory_size %c74008_i32
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dq(
// CHECK-NOT: memref<1x64xf32, #gpu.address_space<workgroup>>
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// CHECK-SAME: %[[DELTAARG:arg5]]: memref<1x2x100xf32>
// CHECK: %[[DELTA:.*]] = memref.view %{{.*}}[%c73728][] : memref<74008xi8, #gpu.address_space<workgroup>> to memref<1x64xf32, #gpu.address_space<workgroup>>
// Each tile: the tile's Delta in its own commit group, then the next
// tile's TMA copies (after the barrier that starts the tile: BOTH below).
// CHECK: nvgpu.device_async_copy %[[DELTAARG]][%{{.*}}, %{{.*}}, %{{.*}}], %[[DELTA]][%c0, %{{.*}}], 1 : memref<1x2x100xf32> to memref<1x64xf32, #gpu.address_space<workgroup>>
// CHECK-NEXT: }
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvvm.mbarrier.try_wait.parity
// Once dP is complete: no other group may be left (no staged lse), a
// barrier, then the reads.
// CHECK: wgmma.wait_group.sync.aligned 1;
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// CHECK: memref.load %[[DELTA]][%c0, %{{.*}}] : memref<1x64xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: memref.load %[[DELTAARG]]

// With the staged lse: lse's [2][64] first, Delta's [64] after it; the
// next tile's lse group may stay in flight at the Delta wait.
// BOTH: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv {{.*}} dynamic_shared_memory_size %c74520_i32
// BOTH-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// BOTH: memref.view %{{.*}}[%c73728][] : memref<74520xi8, #gpu.address_space<workgroup>> to memref<2x64xf32, #gpu.address_space<workgroup>>
// BOTH: %[[DELTA:.*]] = memref.view %{{.*}}[%c74240][] : memref<74520xi8, #gpu.address_space<workgroup>> to memref<1x64xf32, #gpu.address_space<workgroup>>
// BOTH: nvvm.cp.async.wait.group 0
// BOTH-NEXT: gpu.barrier
// BOTH: nvgpu.device_async_copy %arg5{{.*}}, %[[DELTA]]
// BOTH-NEXT: }
// BOTH-NEXT: nvvm.cp.async.commit.group
// BOTH: nvgpu.device_async_copy %arg3
// BOTH: nvvm.cp.async.commit.group
// BOTH: nvvm.cp.async.wait.group 1
// BOTH-NEXT: gpu.barrier
// BOTH: memref.load %[[DELTA]]

// cp.async tiles: at a tile's start its own group must be done while the
// Delta group and the next tile's may not be (2); at the Delta wait the
// next tile's group may still be in flight (1).
// CPASYNC-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// CPASYNC: %[[DELTA:.*]] = memref.view %{{.*}}[%c73728][] {{.*}} to memref<1x64xf32, #gpu.address_space<workgroup>>
// CPASYNC: nvgpu.device_async_copy %arg5{{.*}}, %[[DELTA]]{{.*}}, 1 :
// CPASYNC: nvvm.cp.async.commit.group
// CPASYNC: nvgpu.device_async_copy %arg0{{.*}} 8, %{{.*}} {bypassL1}
// CPASYNC: nvvm.cp.async.commit.group
// CPASYNC-NEXT: nvvm.cp.async.wait.group 2
// CPASYNC: nvvm.cp.async.wait.group 1
// CPASYNC-NEXT: gpu.barrier
// CPASYNC: memref.load %[[DELTA]]

// Auto with stored dS: lse's [2][64] and Delta's [64] both staged.
// AUTO-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// AUTO: memref<90904xi8, #gpu.address_space<workgroup>> to memref<2x64xf32, #gpu.address_space<workgroup>>
// AUTO: memref<90904xi8, #gpu.address_space<workgroup>> to memref<1x64xf32, #gpu.address_space<workgroup>>
// AUTO-NOT: memref.load %arg5

// Off (auto where dS is recomputed at Dv = 64, and false): Delta loaded per tile from
// global memory.
// OFF-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// OFF-NOT: memref<1x64xf32, #gpu.address_space<workgroup>>
// OFF: memref.load %arg5
// OFF-NOT: memref<1x64xf32, #gpu.address_space<workgroup>>
// OFF: gpu.return

// NOWS: error: 'spa.attention_grad' op shared-stream-delta applies to the classic wgmma dK/dV kernel (chip = sm_90a, mma = wgmma or auto taking it, backward-schedule = classic, its tiles and the Delta within 232448 bytes of shared memory); got the warp-specialised dK/dV kernel, {{[0-9]+}} bytes; use shared-stream-delta = false
// NOSYNC: error: 'spa.attention_grad' op shared-stream-delta applies to the classic wgmma dK/dV kernel {{.*}}; got mma.sync, {{[0-9]+}} bytes; use shared-stream-delta = false

func.func @f(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%q, %k, %v : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>)
  return
}
