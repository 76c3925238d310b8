// The CPU vector form of spa.attention (convert-spa-to-linalg
// vector-lanes=L, VectorAttention.cpp): the work items in one scf.forall
// marked spa.work_items; per key block of L keys, L score vectors (query
// rows in the lanes) built by vector.fma of a broadcast key element and a
// row of the transposed query tile, the mask only on edge blocks (scf.if),
// the online softmax on whole vectors with exp replaced by the polynomial
// approximation, the accumulator transposed ([Dv][L]) and updated by
// rank-1 vector.fma, tiles of the real rows written back. Here: L = 4,
// bidirectional, GQA (2 query heads over 1), Nq = 100 > Nk = 90, Dv != D,
// bf16.
// RUN: spa-opt %s -spa-balance-bands -convert-spa-to-linalg=vector-lanes=4 | FileCheck %s
// RUN: spa-opt %s -spa-balance-bands -convert-spa-to-linalg=vector-lanes=4 -canonicalize | FileCheck %s --check-prefix=NOEXP

// CHECK-LABEL: func.func @layer
// No padded copies of the inputs.
// CHECK-NOT: tensor.pad
// Work items (batch, head, ceil(100 / 4) query blocks, taken from the last
// block down: a head's heaviest first under causal bands).
// CHECK: scf.forall (%[[B:.*]], %[[H:.*]], %[[I:.*]]) in (%{{.*}}, 2, %{{.*}}) shared_outs
// Query rows past Nq read as zeros; scaled and transposed once per item,
// in [L, gcd(D, L)] = [4, 4] column chunks under a loop (a whole [4, 32]
// transpose is unrolled element by element: compile time grew faster than
// D). The accumulator [Dv][L] is zeroed in chunks the same way.
// CHECK: scf.for %[[C:.*]] = %c0 to %c32 step %c4 iter_args(%{{.*}}) -> (tensor<32x4xf32>)
// CHECK: vector.transfer_read %{{.*}}[%[[B]], %[[H]], %{{.*}}, %[[C]]], %{{.*}} {in_bounds = [false, true]} : tensor<1x2x100x32xbf16>, vector<4x4xbf16>
// CHECK: vector.transpose %{{.*}}, [1, 0] : vector<4x4xf32> to vector<4x4xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c4 iter_args(%{{.*}}) -> (tensor<8x4xf32>)
// CHECK: vector.transfer_write %{{.*}} : vector<4x4xf32>, tensor<8x4xf32>
// Key rows of a block clamped to the last key (89), not padded.
// CHECK: %[[K0:.*]] = arith.minsi %{{.*}}, %c89
// bf16 key rows converted to f32 once per block, a column chunk of each
// row at a time ([L][D] = [4][32], chunks of 4), not element by element
// where the products use them.
// CHECK: %[[KF:.*]] = scf.for %[[KC:.*]] = %c0 to %c32 step %c4 iter_args(%{{.*}}) -> (tensor<4x32xf32>)
// CHECK: vector.transfer_read %{{.*}}[%[[B]], %{{.*}}, %[[K0]], %[[KC]]], %{{.*}} {in_bounds = [true]} : tensor<1x1x90x32xbf16>, vector<4xbf16>
// CHECK-NEXT: arith.extf %{{.*}} : vector<4xbf16> to vector<4xf32>
// CHECK-NEXT: vector.transfer_write %{{.*}}[%c0, %[[KC]]] {in_bounds = [true]} : vector<4xf32>, tensor<4x32xf32>
// Scores: one broadcast key element times a query column per key.
// CHECK: scf.for %[[D:.*]] = %c0 to %c32 step %c1 iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: tensor.extract %[[KF]][%c0, %[[D]]] : tensor<4x32xf32>
// CHECK: vector.broadcast %{{.*}} : f32 to vector<4xf32>
// CHECK: vector.fma
// Edge blocks only: the per-pair band test on index vectors.
// CHECK: scf.if
// CHECK: } else {
// CHECK: vector.step : vector<4xindex>
// CHECK: arith.select %{{.*}} : vector<4xi1>, vector<4xf32>
// Online softmax on vectors: the block maximum over the 4 key rows.
// CHECK: arith.maximumf %{{.*}} : vector<4xf32>
// AccT += V[j, e] * P[j] in blocks of 8 accumulator rows (Dv = 8), the
// value rows converted once per block too.
// CHECK: arith.extf %{{.*}} : vector<4xbf16> to vector<4xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c8 iter_args(%{{.*}}) -> (tensor<8x4xf32>)
// CHECK: tensor.extract %{{.*}} : tensor<4x8xf32>
// CHECK: vector.fma
// The anti side (bidirectional) walks the same blocks again.
// CHECK: scf.for
// Rows with keys read as bytes (a vector of i1 would load packed bits).
// CHECK: arith.extui %{{.*}} : i1 to i8
// CHECK: arith.cmpi ne, %{{.*}} : vector<4xi8>
// Tiles of the real rows only, into the destinations: O normalised and
// transposed in [4, 4] chunks too.
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c4 iter_args(%{{.*}}) -> (tensor<1x1x?x8xbf16>)
// CHECK: vector.transpose %{{.*}}, [1, 0] : vector<4x4xf32> to vector<4x4xf32>
// CHECK: vector.transfer_write %{{.*}} {in_bounds = [false, true]} : vector<4x4xbf16>, tensor<1x1x?x8xbf16>
// CHECK: vector.transfer_write %{{.*}} : vector<4xf32>, tensor<1x1x?xf32>
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[B]], %[[H]], %{{.*}}, 0] [1, 1, %{{.*}}, 8] [1, 1, 1, 1]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[B]], %[[H]], %{{.*}}] [1, 1, %{{.*}}] [1, 1, 1]
// CHECK: } {spa.work_items}

// exp is approximated by polynomials inside the work items (no libm call
// per lane); log2 for the log-sum-exp stays.
// NOEXP-NOT: math.exp
// NOEXP: math.floor {{.*}} : vector<4xf32>
// NOEXP: math.log2 {{.*}} : vector<4xf32>

func.func @layer(%q: tensor<1x2x100x32xbf16>, %k: tensor<1x1x90x32xbf16>,
                 %v: tensor<1x1x90x8xbf16>)
    -> (tensor<1x2x100x8xbf16>, tensor<1x2x100xf32>) {
  %o = tensor.empty() : tensor<1x2x100x8xbf16>
  %l = tensor.empty() : tensor<1x2x100xf32>
  %r:2 = spa.attention bands(#spa.band_policy<bidirectional, exclusive_equal>)
      ins(%q, %k, %v : tensor<1x2x100x32xbf16>, tensor<1x1x90x32xbf16>, tensor<1x1x90x8xbf16>)
      outs(%o, %l : tensor<1x2x100x8xbf16>, tensor<1x2x100xf32>)
      -> tensor<1x2x100x8xbf16>, tensor<1x2x100xf32>
  return %r#0, %r#1 : tensor<1x2x100x8xbf16>, tensor<1x2x100xf32>
}

// User math outside the work items keeps math.exp.
// NOEXP-LABEL: func.func @user_exp
// NOEXP: math.exp
func.func @user_exp(%x: f32) -> f32 {
  %e = math.exp %x : f32
  return %e : f32
}
