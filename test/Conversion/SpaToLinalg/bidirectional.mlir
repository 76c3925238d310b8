// Bidirectional mode walks two key ranges per interval: the causal side
// (p - hi < j <= p - lo) and the anti side (p + max(lo, 1) <= j < p + hi);
// run-time band bounds (dynamic Nk) are read from the op's operand.
// RUN: spa-opt %s -spa-balance-bands -convert-spa-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @bidirectional
// CHECK: %[[BOUNDS:.*]] = spa.band_bounds #spa.band_policy<bidirectional, exclusive_equal> key_len(%{{.*}}) : tensor<2x1x2xindex>
// CHECK: tensor.extract %[[BOUNDS]]
// Causal side:
// CHECK: scf.for
// CHECK: scf.if
// Anti side starts at distance max(lo, 1):
// CHECK: %[[ANTILO:.*]] = arith.maxsi %{{.*}}, %c1 : index
// CHECK: scf.for
// CHECK: scf.if
// CHECK-NOT: spa.attention
func.func @bidirectional(%q: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %0 = spa.attention bands(#spa.band_policy<bidirectional, exclusive_equal>)
      ins(%q, %q, %q : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>)
      outs(%q : tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  return %0 : tensor<1x2x?x16xf32>
}
