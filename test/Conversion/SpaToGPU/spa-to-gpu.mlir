// convert-spa-to-gpu: one tensor-core kernel per spa.attention, launched on a
// cost-sorted work list; key-tile loops bounded by the head's intervals,
// masked and unmasked tile paths.
// RUN: spa-opt %s -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -convert-spa-to-gpu="mma=mma.sync" | FileCheck %s

// The band table and the work list (batch, head, query tile), heaviest
// first by the cost model: head 0's second query tile reaches two key tiles,
// every other item one (ties keep head-major order).
// CHECK: memref.global "private" constant @spa_attention_0_work : memref<4x3xi32> = dense<{{\[}}[0, 0, 1], [0, 0, 0], [0, 1, 0], [0, 1, 1]]>
// CHECK: memref.global "private" constant @spa_attention_0_bounds : memref<2x1x2xi32> = dense<{{\[}}{{\[}}[0, 51]], {{\[}}[51, 100]]]>

// CHECK-LABEL: func.func @layer
// CHECK-NOT: spa.attention
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c4, %c1, %c1) threads in (%c128, %c1, %c1) args(

// CHECK: gpu.module @spa_kernels
// CHECK: gpu.func @spa_attention_0(%{{.*}}: memref<1x2x100x64xbf16>, %{{.*}}: memref<1x1x100x64xbf16>, %{{.*}}: memref<1x1x100x64xbf16>, %{{.*}}: memref<1x2x100x64xbf16>, %{{.*}}: memref<1x2x100xf32>, %[[BOUNDS:.*]]: memref<2x1x2xi32>, %[[WORK:.*]]: memref<4x3xi32>)
// One shared buffer: K in rows [0, 64), V in rows [64, 128), Q staged first.
// CHECK-SAME: workgroup(%[[KS:.*]] : memref<128x72xbf16, #gpu.address_space<workgroup>> {llvm.align = 128 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: spa.launch = {
// Work item from the list.
// CHECK: %[[ITEM:.*]] = gpu.block_id x
// CHECK: memref.load %[[WORK]][%[[ITEM]], %c0{{.*}}]
// Q fragments: ldmatrix x4 from shared memory.
// CHECK: nvgpu.ldmatrix %[[KS]][{{.*}}] {numTiles = 4 : i32, transpose = false} : memref<128x72xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// Interval bounds of the head.
// CHECK: memref.load %[[BOUNDS]]
// CHECK: memref.load %[[BOUNDS]]
// Key loop: p - hi < j <= p - lo, clipped, zero trips for empty intervals.
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: %[[NONEMPTY:.*]] = arith.cmpi slt
// CHECK: %[[END:.*]] = arith.select %[[NONEMPTY]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[END]] step %c64
// K tile: 16-byte vector loads, zero-filled past Nk.
// CHECK: vector.load {{.*}} {alignment = 16 : i64} : memref<1x1x100x64xbf16>, vector<8xbf16>
// S = Q K^T on tensor cores (bf16 through nvvm.mma.sync).
// CHECK: nvgpu.ldmatrix %[[KS]]{{.*}}numTiles = 2 : i32, transpose = false
// CHECK: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>
// Interior tiles skip the mask; edge tiles select -inf, each row's reached
// keys formed once (clamped i32 bounds, EdgeMask.h), two compares an element.
// CHECK: scf.if %{{.*}} -> (vector<2x2xf32>,
// CHECK: arith.mulf
// CHECK: } else {
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: arith.index_cast %{{.*}} : index to i32
// CHECK: arith.cmpi sle, %{{.*}}, %c0_i32 : i32
// CHECK: arith.select %{{.*}}, %{{.*}}, %cst{{.*}} : f32
// Row max over the quad, exp2.
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK: nvvm.inline_ptx "ex2.approx.ftz.f32 $0, $1;"
// P V with V through ldmatrix.trans.
// CHECK: nvgpu.ldmatrix %[[KS]]{{.*}}numTiles = 2 : i32, transpose = true
// Epilogue: normalised bf16 pairs and the natural-log LSE.
// CHECK: arith.truncf %{{.*}} : vector<2xf32> to vector<2xbf16>
// CHECK: nvvm.inline_ptx "lg2.approx.ftz.f32 $0, $1;"
// CHECK: gpu.return
func.func @layer(%q: tensor<1x2x100x64xbf16>, %k: tensor<1x1x100x64xbf16>, %v: tensor<1x1x100x64xbf16>)
    -> (tensor<1x2x100x64xbf16>, tensor<1x2x100xf32>) {
  %o = tensor.empty() : tensor<1x2x100x64xbf16>
  %l = tensor.empty() : tensor<1x2x100xf32>
  %0:2 = spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v : tensor<1x2x100x64xbf16>, tensor<1x1x100x64xbf16>, tensor<1x1x100x64xbf16>)
      outs(%o, %l : tensor<1x2x100x64xbf16>, tensor<1x2x100xf32>) -> tensor<1x2x100x64xbf16>, tensor<1x2x100xf32>
  return %0#0, %0#1 : tensor<1x2x100x64xbf16>, tensor<1x2x100xf32>
}
