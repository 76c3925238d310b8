// convert-spa-to-gpu on spa.attention_grad: two kernels launched in order
// (dq, which writes Delta, then dkdv) around a Delta scratch buffer; launch
// contracts with roles and the scratch argument; the dQ kernel's Delta and
// key ranges; the dK/dV kernel's loops over the query heads of a key/value
// head and over the query rows that reach its key tile; masked and unmasked
// tile branches.
// RUN: spa-opt %s -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -convert-spa-to-gpu="warps=2 tile-k=32" -canonicalize | FileCheck %s

// Work lists: dQ over (batch, head, 32-row query tile), dK/dV over (batch,
// kv head, 32-key tile), heaviest first; the band table as the forward's.
// CHECK: memref.global "private" constant @spa_attention_grad_0_dq_work : memref<8x3xi32> = dense<{{\[}}[0, 0, 2], [0, 0, 3], [0, 0, 1], [0, 1, 2], [0, 1, 3], [0, 0, 0], [0, 1, 1], [0, 1, 0]]>
// CHECK: memref.global "private" constant @spa_attention_grad_0_dkdv_work : memref<4x3xi32> = dense<{{\[}}[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 0, 3]]>
// CHECK: memref.global "private" constant @spa_attention_grad_0_bounds : memref<2x1x2xi32> = dense<{{\[}}{{\[}}[0, 51]], {{\[}}[51, 100]]]>

// CHECK-LABEL: func.func @grad
// CHECK-NOT: spa.attention_grad
// CHECK: %[[DELTA:.*]] = gpu.alloc () : memref<1x2x100xf32>
// The dQ kernel first (it writes Delta, reading O), then dK/dV; both with
// (32 + 32) rows x (64 + 8 + 32 + 8) x 2 bytes of dynamic shared memory.
// CHECK-NOT: preprocess
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq blocks in (%c8, %c1, %c1) threads in (%c64, %c1, %c1) dynamic_shared_memory_size %c14336_i32 args({{.*}}%[[DELTA]] : memref<1x2x100xf32>, %{{.*}} : memref<1x2x100x32xbf16>, %{{.*}} : memref<1x2x100x64xbf16>
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv blocks in (%c4, %c1, %c1) threads in (%c64, %c1, %c1) dynamic_shared_memory_size %c14336_i32 args({{.*}}%[[DELTA]] : memref<1x2x100xf32>
// CHECK: gpu.dealloc %[[DELTA]]

// CHECK: gpu.module @spa_kernels
// CHECK: memref.global @spa_dynamic_shared : memref<0xi8, #gpu.address_space<workgroup>>

// dQ: Delta = rowsum(dO * O) of the lane's two rows in f32 (a quad of lanes
// a row: vector chunks, a reduction, two shuffles), written by lane 0 of the
// quad for rows below Nq; then the forward's key ranges of the item's query
// tile.
// CHECK: gpu.func @spa_attention_grad_0_dq(
// CHECK-SAME: spa.launch = {args = ["query", "key", "value", "log_sum_exp", "output_grad", "delta", "output", "query_grad", "bounds", "work"]{{.*}}op = 0 : i64, programmatic_launch, role = "dq"{{.*}}tile = array<i64: 32, 32>
// CHECK: vector.load {{.*}} : memref<1x2x100x32xbf16>, vector<8xbf16>
// CHECK: arith.extf {{.*}} : vector<8xbf16> to vector<8xf32>
// CHECK: vector.reduction <add>
// CHECK: gpu.shuffle  xor
// CHECK: gpu.shuffle  xor
// CHECK: arith.cmpi slt, %{{.*}}, %c100
// CHECK: memref.store {{.*}} : memref<1x2x100xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32 iter_args
// P on edge tiles: the keys each of the lane's two rows reaches, once per
// row as clamped i32 bounds (EdgeMask.h), then two compares an element.
// CHECK: scf.if %{{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: } else {
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: arith.index_cast %{{.*}} : index to i32
// CHECK: ex2.approx.ftz.f32
// CHECK: arith.cmpi sgt, %{{.*}}, %c0_i32 : i32
// CHECK: arith.cmpi sle, %{{.*}}, %c0_i32 : i32
// CHECK: arith.select
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 2 : i32, transpose = true} : memref<32x72xbf16, #gpu.address_space<workgroup>>
// CHECK: vector.store


// dK/dV: K and V own tiles, then every query head of the kv head's group.
// CHECK: gpu.func @spa_attention_grad_0_dkdv(%[[Q:.*]]: memref<1x2x100x64xbf16>, %{{.*}}: memref<1x1x100x64xbf16>, %{{.*}}: memref<1x1x100x32xbf16>, %[[LSE:.*]]: memref<1x2x100xf32>, %{{.*}}: memref<1x2x100x32xbf16>, %[[D:.*]]: memref<1x2x100xf32>, %[[DK:.*]]: memref<1x1x100x64xbf16>, %[[DV:.*]]: memref<1x1x100x32xbf16>, %[[BOUNDS:.*]]: memref<2x1x2xi32>, %[[WORK:.*]]: memref<4x3xi32>)
// CHECK-SAME: spa.launch = {args = ["query", "key", "value", "log_sum_exp", "output_grad", "delta", "key_grad", "value_grad", "bounds", "work"]{{.*}}dynamic_shared_bytes = 14336 : i64{{.*}}mma = "mma.sync", op = 0 : i64, programmatic_launch, role = "dkdv"{{.*}}tile = array<i64: 32, 32>
// CHECK: %[[ITEM:.*]] = gpu.block_id x
// CHECK: memref.load %[[WORK]][%[[ITEM]], %c0]
// CHECK: arith.index_cast {{.*}} : i32 to index
// CHECK: %[[KV:.*]] = arith.index_cast {{.*}} : i32 to index
// CHECK: %[[TILE:.*]] = arith.index_cast {{.*}} : i32 to index
// CHECK: %[[J0:.*]] = arith.muli %[[TILE]], %c32
// CHECK: gpu.barrier
// CHECK: %[[H0:.*]] = arith.muli %[[KV]], %c2
// CHECK: %[[H1:.*]] = arith.addi %[[H0]], %c2
// CHECK: scf.for %[[H:.*]] = %[[H0]] to %[[H1]] step %c1
// The rows reaching keys [j0, last]: p in [j0 + lo, last + hi - 1].
// CHECK: %[[LAST:.*]] = arith.minsi {{.*}}, %c99
// CHECK: %[[LO:.*]] = arith.index_cast
// CHECK: %[[HI:.*]] = arith.index_cast
// CHECK: %[[PF:.*]] = arith.addi %[[J0]], %[[LO]]
// CHECK: %[[PL:.*]] = arith.addi %[[LAST]], %[[HI]]
// CHECK: %[[BEGIN:.*]] = arith.maxsi %[[PF]], %c0
// CHECK: %[[END0:.*]] = arith.minsi %[[PL]], %c100
// CHECK: %[[END1:.*]] = arith.maxsi %[[BEGIN]], %[[END0]]
// CHECK: %[[NONEMPTY:.*]] = arith.cmpi slt, %[[LO]], %[[HI]]
// CHECK: %[[END:.*]] = arith.select %[[NONEMPTY]], %[[END1]], %[[BEGIN]]
// CHECK: scf.for %[[I0:.*]] = %[[BEGIN]] to %[[END]] step %c32
// Q and dO stream tiles of the query head.
// CHECK: gpu.barrier
// CHECK: vector.load %[[Q]][%{{.*}}, %[[H]], %{{.*}}, %{{.*}}]
// CHECK: gpu.barrier
// lse (log2 units) and Delta of the lane's query columns, clamped to Nq - 1.
// CHECK: arith.minsi {{.*}}, %c99
// CHECK: memref.load %[[LSE]][%{{.*}}, %[[H]], %{{.*}}]
// CHECK: memref.load %[[D]][%{{.*}}, %[[H]], %{{.*}}]
// S^T = K Q^T: K fragments by ldmatrix.x4 (own tile), Q by ldmatrix.x2.
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<32x72xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 2 : i32, transpose = false} : memref<32x72xbf16, #gpu.address_space<workgroup>>
// CHECK: nvvm.mma.sync
// P^T: interior tiles unmasked, edge tiles select inadmissible pairs to 0.
// CHECK: scf.if %{{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK-NOT: arith.select
// CHECK: ex2.approx.ftz.f32
// CHECK: } else {
// CHECK: arith.cmpi sge
// CHECK: ex2.approx.ftz.f32
// CHECK: arith.select
// dV += P^T dO: dO through ldmatrix.trans from the stream tile.
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 2 : i32, transpose = true} : memref<32x40xbf16, #gpu.address_space<workgroup>>
// CHECK: nvvm.mma.sync
// dS^T = P^T (dP^T - Delta), masked on edge tiles the same way.
// CHECK: scf.if %{{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: } else {
// CHECK: arith.select
// dK += dS^T Q: Q through ldmatrix.trans.
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 2 : i32, transpose = true} : memref<32x72xbf16, #gpu.address_space<workgroup>>
// Stores: dK scaled by 1/sqrt(64), dV, rows past Nk skipped.
// CHECK: arith.cmpi slt, %{{.*}}, %c100
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: vector.store {{.*}}, %[[DK]]
// CHECK: vector.store {{.*}}, %[[DV]]

func.func @grad(%q: tensor<1x2x100x64xbf16>, %k: tensor<1x1x100x64xbf16>, %v: tensor<1x1x100x32xbf16>, %o: tensor<1x2x100x32xbf16>, %lse: tensor<1x2x100xf32>, %do: tensor<1x2x100x32xbf16>) -> (tensor<1x2x100x64xbf16>, tensor<1x1x100x64xbf16>, tensor<1x1x100x32xbf16>) {
  %dq0 = tensor.empty() : tensor<1x2x100x64xbf16>
  %dk0 = tensor.empty() : tensor<1x1x100x64xbf16>
  %dv0 = tensor.empty() : tensor<1x1x100x32xbf16>
  %dq, %dk, %dv = spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %lse, %do : tensor<1x2x100x64xbf16>, tensor<1x1x100x64xbf16>, tensor<1x1x100x32xbf16>, tensor<1x2x100x32xbf16>, tensor<1x2x100xf32>, tensor<1x2x100x32xbf16>)
      outs(%dq0, %dk0, %dv0 : tensor<1x2x100x64xbf16>, tensor<1x1x100x64xbf16>, tensor<1x1x100x32xbf16>) -> tensor<1x2x100x64xbf16>, tensor<1x1x100x64xbf16>, tensor<1x1x100x32xbf16>
  return %dq, %dk, %dv : tensor<1x2x100x64xbf16>, tensor<1x1x100x64xbf16>, tensor<1x1x100x32xbf16>
}
