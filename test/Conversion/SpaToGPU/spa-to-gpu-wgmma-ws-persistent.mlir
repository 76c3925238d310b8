// forward-schedule=ws is persistent: 133 work items (query tiles of 128
// rows) on at most 132 blocks (one an SM of an H100/H200 SXM with two
// consumer warpgroups), each looping over the items from its index in
// steps of the grid; with one consumer warpgroup (two blocks an SM) 266
// items of 64 rows run on 264 blocks.
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws warps=8" | FileCheck %s
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=ws warps=4" | FileCheck %s --check-prefix=ONE

// CHECK: memref.global "private" constant @spa_attention_0_work : memref<133x3xi32>
// CHECK-LABEL: func.func @static
// CHECK: %[[GRID:.*]] = arith.constant 132 : index
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%[[GRID]],
// CHECK: grid = array<i64: 132, 1, 1>
// CHECK: %[[ITEMS:.*]] = arith.constant 133 : index
// CHECK: scf.for %{{.*}} = %block_id_x to %[[ITEMS]] step %grid_dim_x
// ONE: memref.global "private" constant @spa_attention_0_work : memref<266x3xi32>
// ONE-LABEL: func.func @static
// ONE: %[[GRID:.*]] = arith.constant 264 : index
// ONE: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%[[GRID]],
func.func @static(%q: memref<1x1x17000x64xbf16>, %o: memref<1x1x17000x64xbf16>) {
  spa.attention bands(#spa.bands<causal, [0:17000]>)
      ins(%q, %q, %q : memref<1x1x17000x64xbf16>, memref<1x1x17000x64xbf16>, memref<1x1x17000x64xbf16>)
      outs(%o : memref<1x1x17000x64xbf16>)
  return
}
