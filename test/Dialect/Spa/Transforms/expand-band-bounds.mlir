// -spa-expand-band-bounds lowers run-time bounds to index arithmetic.
// RUN: spa-opt %s -spa-expand-band-bounds -split-input-file | FileCheck %s
// RUN: spa-opt %s -spa-expand-band-bounds -canonicalize -split-input-file | FileCheck %s --check-prefix=FOLD

// The formula: Wb = N / H, R = N % H, W_h = Wb + (h < R), S_h = h*Wb + min(h, R).
// CHECK-LABEL: func.func @exclusive
// CHECK-SAME: (%[[N:.*]]: index)
// CHECK-NOT: spa.band_bounds
// CHECK-DAG: %[[H:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[WB:.*]] = arith.divui %[[N]], %[[H]] : index
// CHECK-DAG: %[[R:.*]] = arith.remui %[[N]], %[[H]] : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[WIDE1:.*]] = arith.cmpi ugt, %[[R]], %[[C1]] : index
// CHECK: %[[MIN1:.*]] = arith.minui %[[R]], %[[C1]] : index
// CHECK: %[[S1:.*]] = arith.addi %[[WB]], %[[MIN1]] : index
// CHECK: tensor.from_elements %{{.*}}, %{{.*}}, %[[S1]], %{{.*}}, %{{.*}}, %{{.*}} : tensor<3x1x2xindex>
func.func @exclusive(%n: index) -> tensor<3x1x2xindex> {
  %b = spa.band_bounds #spa.band_policy<causal, exclusive_equal> key_len(%n) : tensor<3x1x2xindex>
  return %b : tensor<3x1x2xindex>
}

// -----

// With a constant length everything folds to the static table (N=10, H=3:
// compare balance-bands.mlir), empty slots as lo == hi.
// FOLD-LABEL: func.func @folded
// FOLD: arith.constant dense<{{\[}}{{\[}}[0, 4]], {{\[}}[4, 7]], {{\[}}[7, 10]]]> : tensor<3x1x2xindex>
// FOLD: arith.constant dense<{{\[}}{{\[}}[0, 5], [0, 0]], {{\[}}[0, 7], [0, 0]], {{\[}}[0, 4], [7, 10]]]> : tensor<3x2x2xindex>
func.func @folded() -> (tensor<3x1x2xindex>, tensor<3x2x2xindex>) {
  %n = arith.constant 10 : index
  %a = spa.band_bounds #spa.band_policy<causal, exclusive_equal> key_len(%n) : tensor<3x1x2xindex>
  %b = spa.band_bounds #spa.band_policy<causal, local_plus_band> key_len(%n) : tensor<3x2x2xindex>
  return %a, %b : tensor<3x1x2xindex>, tensor<3x2x2xindex>
}
