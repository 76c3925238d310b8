// forward-schedule=ws-overlap: the warp-specialised roles (a TMA producer
// warpgroup, persistent item loop; spa-to-gpu-wgmma-ws.mlir) around the
// overlapped consumers (spa-to-gpu-wgmma-overlap.mlir): per range a peeled
// first tile, then Q K^T of tile t and P V of tile t - 1 in flight together
// (wait_group 1 before the softmax); a buffer is released by an mbarrier
// arrival once its P V is waited for, never by a block barrier.
// RUN: spa-opt %s -convert-spa-to-gpu="forward-schedule=ws-overlap warps=8" -canonicalize | FileCheck %s
// RUN: not spa-opt %s -convert-spa-to-gpu="forward-schedule=ws-overlap stages=1" 2>&1 | FileCheck %s --check-prefix=ONESTAGE

// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c6, %c1, %c1) threads in (%c384, %c1, %c1)
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.setmaxregister  decrease 24
// CHECK: nvvm.setmaxregister  increase 240
// CHECK: scf.for %{{.*}} = %block_id_x to %c6 step %grid_dim_x
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: scf.for
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: "wgmma.wait_group.sync.aligned 1;"
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3>
// CHECK: scf.yield
// The last P V after the loop, then its buffer's release.
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK-NEXT: {{.*}}llvm.extractvalue
// CHECK: nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3>
// CHECK-NOT: gpu.barrier

// ONESTAGE: error: 'spa.attention' op forward-schedule = ws-overlap needs stages >= 2 (the V tile of key tile t - 1 stays in shared memory while tile t arrives); got stages = 1

func.func @layer(%q: memref<1x2x300x128xbf16>, %k: memref<1x1x300x128xbf16>,
                 %v: memref<1x1x300x128xbf16>, %o: memref<1x2x300x128xbf16>,
                 %l: memref<1x2x300xf32>) {
  spa.attention bands(#spa.bands<causal, [0:151], [151:300]>)
      ins(%q, %k, %v : memref<1x2x300x128xbf16>, memref<1x1x300x128xbf16>, memref<1x1x300x128xbf16>)
      outs(%o, %l : memref<1x2x300x128xbf16>, memref<1x2x300xf32>)
  return
}
