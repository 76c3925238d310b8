// forward-schedule=ws-pingpong: ws-overlap's consumers (a TMA producer
// warpgroup; per range a peeled first tile, then Q K^T of tile t and P V of
// tile t - 1 in flight together) with the two consumer warpgroups taking
// turns to issue: warpgroup w waits on named barrier 1 + w before every
// issue and arrives on the other's after it (256 threads each). Warpgroup 0
// arrives on its own barrier before its first item (it goes first) and
// waits once after its last (every phase completes before the block exits).
// RUN: spa-opt %s -convert-spa-to-gpu="forward-schedule=ws-pingpong warps=8" -canonicalize | FileCheck %s
// RUN: not spa-opt %s -convert-spa-to-gpu="forward-schedule=ws-pingpong" 2>&1 | FileCheck %s --check-prefix=WARPS4
// RUN: not spa-opt %s -convert-spa-to-gpu="forward-schedule=ws-pingpong warps=8 stages=1" 2>&1 | FileCheck %s --check-prefix=ONESTAGE
// RUN: not spa-opt %s -convert-spa-to-gpu="forward-schedule=ws-pingpong warps=8 tma=false" 2>&1 | FileCheck %s --check-prefix=NOTMA

// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c6, %c1, %c1) threads in (%c384, %c1, %c1)
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.setmaxregister  decrease 24
// CHECK: nvvm.setmaxregister  increase 240
// Warpgroup 0 (warps 0-3) first arrives on its own turn barrier (id 1).
// CHECK: %[[WG0:.*]] = arith.cmpi slt, %{{.*}}, %c4 : index
// CHECK-NEXT: scf.if %[[WG0]] {
// CHECK-NEXT: nvvm.barrier.arrive id = %c1_i32 number_of_threads = %c256_i32
// CHECK: scf.for %{{.*}} = %block_id_x to %c6 step %grid_dim_x
// The peeled first tile: wait for its turn, issue Q K^T, hand the turn on.
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %c256_i32
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.barrier.arrive id = %{{.*}} number_of_threads = %c256_i32
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// Tiles t >= 1: both products issued in one turn.
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %c256_i32
// CHECK: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.barrier.arrive id = %{{.*}} number_of_threads = %c256_i32
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3>
// CHECK: scf.yield
// The last P V in its own turn.
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %c256_i32
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.barrier.arrive id = %{{.*}} number_of_threads = %c256_i32
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// After the last item warpgroup 0 takes warpgroup 1's last arrival.
// CHECK: %[[LAST:.*]] = arith.cmpi slt, %{{.*}}, %c4 : index
// CHECK-NEXT: scf.if %[[LAST]] {
// CHECK-NEXT: nvvm.barrier id = %c1_i32 number_of_threads = %c256_i32

// WARPS4: error: 'spa.attention' op forward-schedule = ws-pingpong takes turns between two consumer warpgroups: it needs warps = 8; got warps = 4
// ONESTAGE: error: 'spa.attention' op forward-schedule = ws-pingpong needs stages >= 2 (the V tile of key tile t - 1 stays in shared memory while tile t arrives); got stages = 1
// NOTMA: error: 'spa.attention' op forward-schedule = ws-pingpong needs TMA tile loads (tma = true and q, k, v in layouts a tensor map describes): its producer warp issues them

func.func @layer(%q: memref<1x2x300x128xbf16>, %k: memref<1x1x300x128xbf16>,
                 %v: memref<1x1x300x128xbf16>, %o: memref<1x2x300x128xbf16>,
                 %l: memref<1x2x300xf32>) {
  spa.attention bands(#spa.bands<causal, [0:151], [151:300]>)
      ins(%q, %k, %v : memref<1x2x300x128xbf16>, memref<1x1x300x128xbf16>, memref<1x1x300x128xbf16>)
      outs(%o, %l : memref<1x2x300x128xbf16>, memref<1x2x300xf32>)
  return
}
