// -spa-expand-band-bounds lowers run-time bounds to index arithmetic.
// RUN: spa-opt %s -spa-expand-band-bounds -split-input-file | FileCheck %s
// RUN: spa-opt %s -spa-expand-band-bounds -canonicalize -split-input-file | FileCheck %s --check-prefix=FOLD

// The formula: Wb = N / H, R = N % H, W_h = Wb + (h < R), S_h = h*Wb + min(h, R),
// elementwise on [H, slots, 2] index tensors (h = 0, 1, 2 folded from the
// element positions); the lo side takes S_h, the hi side S_h + W_h.
// CHECK-LABEL: func.func @exclusive
// CHECK-SAME: (%[[N:.*]]: index)
// CHECK-NOT: spa.band_bounds
// CHECK-DAG: %[[LOSIDE:.*]] = arith.constant dense<{{\[}}{{\[}}[true, false]], {{\[}}[true, false]], {{\[}}[true, false]]]> : tensor<3x1x2xi1>
// CHECK-DAG: %[[HEAD:.*]] = arith.constant dense<{{\[}}{{\[}}[0, 0]], {{\[}}[1, 1]], {{\[}}[2, 2]]]> : tensor<3x1x2xindex>
// CHECK-DAG: %[[H:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[WB:.*]] = arith.divui %[[N]], %[[H]] : index
// CHECK-DAG: %[[R:.*]] = arith.remui %[[N]], %[[H]] : index
// CHECK-DAG: %[[WBS:.*]] = tensor.splat %[[WB]] : tensor<3x1x2xindex>
// CHECK-DAG: %[[RS:.*]] = tensor.splat %[[R]] : tensor<3x1x2xindex>
// CHECK: %[[WIDE:.*]] = arith.cmpi ugt, %[[RS]], %[[HEAD]] : tensor<3x1x2xindex>
// CHECK: %[[MIN:.*]] = arith.minui %[[RS]], %[[HEAD]] : tensor<3x1x2xindex>
// CHECK: %[[MUL:.*]] = arith.muli %[[WBS]], %[[HEAD]] : tensor<3x1x2xindex>
// CHECK: %[[S:.*]] = arith.addi %[[MUL]], %[[MIN]] : tensor<3x1x2xindex>
// CHECK: %[[E:.*]] = arith.addi %[[S]], %{{.*}} : tensor<3x1x2xindex>
// CHECK: %[[B:.*]] = arith.select %[[LOSIDE]], %[[S]], %[[E]] : tensor<3x1x2xi1>, tensor<3x1x2xindex>
// CHECK: return %[[B]]
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

// -----

// The op count does not grow with the heads (one scalar chain per head took
// over 3 minutes through spa-to-llvm-cpu at 100,000 heads).
// CHECK-LABEL: func.func @many_heads
// CHECK-NOT: tensor.from_elements
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : tensor<100000x2x2xi1>, tensor<100000x2x2xindex>
// CHECK-NOT: tensor.from_elements
// CHECK: return %{{.*}} : tensor<100000x2x2xindex>
func.func @many_heads(%n: index) -> tensor<100000x2x2xindex> {
  %b = spa.band_bounds #spa.band_policy<causal, local_plus_band> key_len(%n) : tensor<100000x2x2xindex>
  return %b : tensor<100000x2x2xindex>
}
