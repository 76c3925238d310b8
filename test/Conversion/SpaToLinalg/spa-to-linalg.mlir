// convert-spa-to-linalg: the loop nest walks only the key tiles each head's
// intervals reach, masks only edge tiles, and leaves upstream ops only (so
// Debian's mlir-opt accepts the output unchanged).
// RUN: spa-opt %s -convert-spa-to-linalg="tile-q=16 tile-k=32" | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-linalg | mlir-opt -verify-each | FileCheck %s --check-prefix=UPSTREAM
// RUN: spa-opt %s -convert-spa-to-linalg -spa-to-llvm-cpu | FileCheck %s --check-prefix=LLVM

// UPSTREAM-NOT: spa.
// LLVM-NOT: spa.
// LLVM-NOT: linalg.
// LLVM: llvm.func @layer

// CHECK-LABEL: func.func @layer
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x100x64xbf16>, %[[K:.*]]: tensor<2x2x100x64xbf16>, %[[V:.*]]: tensor<2x2x100x32xbf16>, %[[O:.*]]: tensor<2x4x100x32xbf16>, %[[L:.*]]: tensor<2x4x100xf32>)
// CHECK-NOT: spa.attention
// The band table becomes a [Hq, M, 2] i64 constant (unused slots 0:0;
// i64, not index: IREE cannot compile index-typed constant tensors).
// CHECK-DAG: %[[BOUNDS:.*]] = arith.constant dense<{{\[}}{{\[}}[0, 26], [0, 0]], {{\[}}[0, 26], [26, 51]], {{\[}}[0, 26], [51, 76]], {{\[}}[76, 100], [0, 0]]]> : tensor<4x2x2xi64>
// Work items: batch, head, query tile.
// CHECK: scf.for %[[B:.*]] = %c0 to %c2 step %c1 iter_args(%{{.*}} = %[[O]], %{{.*}} = %[[L]])
// CHECK: scf.for %[[H:.*]] = %c0 to %c4 step %c1
// GQA: key/value head = h / (Hq / Hkv).
// CHECK: %[[KVH:.*]] = arith.divui %[[H]], %c2 : index
// CHECK: scf.for %[[I0:.*]] = %c0 to %c100 step %c16
// CHECK: %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[I0]], 0]
// Running max, sum and accumulator start at -inf, 0, 0.
// CHECK: linalg.fill ins(%cst{{.*}} : f32)
// Per interval slot: bounds read from the table ...
// CHECK: scf.for %[[S:.*]] = %c0 to %c2 step %c1
// CHECK: %[[LO64:.*]] = tensor.extract %[[BOUNDS]][%[[H]], %[[S]], %c0]
// CHECK: %[[LO0:.*]] = arith.index_cast %[[LO64]] : i64 to index
// CHECK: %[[LO:.*]] = arith.minsi %[[LO0]], %c100
// CHECK: %[[HI64:.*]] = tensor.extract %[[BOUNDS]][%[[H]], %[[S]], %c1]
// CHECK: %[[HI0:.*]] = arith.index_cast %[[HI64]] : i64 to index
// ... clamped to the distances that exist (max(Nq, Nk) = 100), so bounds
// near INT64_MAX cannot overflow the arithmetic below ...
// CHECK: %[[HI:.*]] = arith.minsi %[[HI0]], %c100
// ... give the key range p - hi < j <= p - lo of the tile's rows, clipped to
// [0, Nk); an empty interval gets a zero trip count.
// CHECK: %[[BEGIN:.*]] = arith.maxsi
// CHECK: %[[END0:.*]] = arith.minsi
// CHECK: %[[NONEMPTY:.*]] = arith.cmpi slt, %[[LO]], %[[HI]]
// CHECK: %[[END:.*]] = arith.select %[[NONEMPTY]], %[[END0]], %[[BEGIN]]
// CHECK: scf.for %[[J0:.*]] = %[[BEGIN]] to %[[END]] step %c32
// CHECK: tensor.extract_slice %[[K]][%[[B]], %[[KVH]], %[[J0]], 0]
// CHECK: tensor.extract_slice %[[V]][%[[B]], %[[KVH]], %[[J0]], 0]
// Scores in f32 from bf16 operands.
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.extf %{{.*}} : bf16 to f32
// Interior tiles skip the mask.
// CHECK: %[[INTERIOR:.*]] = arith.andi
// CHECK: scf.if %[[INTERIOR]] -> (tensor<?x?xf32>) {
// CHECK-NOT: linalg.index
// CHECK: } else {
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.select %{{.*}}, %{{.*}}, %cst{{.*}} : f32
// CHECK: }
// Online softmax in base 2.
// CHECK: arith.maximumf
// CHECK: math.exp2
// Rows without keys come from the band geometry (per row, every slot and
// side), not from l: NaN and all -inf rows keep their keys.
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<?xi1>)
// CHECK: linalg.index 0
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args(%{{.*}} = %false) -> (i1)
// CHECK: arith.ori
// Output: acc / l (0 for rows without keys), truncated to bf16; lse in nats.
// CHECK: arith.divf
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[%[[B]], %[[H]], %[[I0]], 0]
// CHECK: math.log2
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[%[[B]], %[[H]], %[[I0]]]
func.func @layer(%q: tensor<2x4x100x64xbf16>, %k: tensor<2x2x100x64xbf16>,
                 %v: tensor<2x2x100x32xbf16>, %o: tensor<2x4x100x32xbf16>,
                 %l: tensor<2x4x100xf32>) -> (tensor<2x4x100x32xbf16>, tensor<2x4x100xf32>) {
  %0:2 = spa.attention bands(#spa.bands<causal, [0:26], [0:26, 26:51], [0:26, 51:76], [76:100]>)
      ins(%q, %k, %v : tensor<2x4x100x64xbf16>, tensor<2x2x100x64xbf16>, tensor<2x2x100x32xbf16>)
      outs(%o, %l : tensor<2x4x100x32xbf16>, tensor<2x4x100xf32>)
      -> tensor<2x4x100x32xbf16>, tensor<2x4x100xf32>
  return %0#0, %0#1 : tensor<2x4x100x32xbf16>, tensor<2x4x100xf32>
}
