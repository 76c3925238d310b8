// The two products of the CPU lowering are written for LLVM's loop
// vectoriser (issue #16): the score product S = Q K^T reduces over d with
// `reassoc contract` (an f32 sum in any order, fused multiply-adds; NaN and
// infinities still propagate: no nnan/ninf), and acc += P V iterates
// (i, j, d), so its innermost loop runs along contiguous rows of V and
// acc. On this machine that took the example layer from 364 to 121 ms
// (docs/benchmarks.md, "CPU path").
// RUN: spa-opt %s -spa-balance-bands -convert-spa-to-linalg | FileCheck %s

// CHECK-DAG: #[[PI:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[VJ:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[AI:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.mulf {{.*}} fastmath<reassoc,contract> : f32
// CHECK: arith.addf {{.*}} fastmath<reassoc,contract> : f32
// CHECK: linalg.generic {indexing_maps = [#[[PI]], #[[VJ]], #[[AI]]], iterator_types = ["parallel", "reduction", "parallel"]} ins({{.*}} : tensor<?x?xf32>, tensor<?x32xbf16>)
// CHECK-NOT: fastmath
// CHECK: return
func.func @layer(%q: tensor<1x2x100x64xbf16>, %k: tensor<1x1x100x64xbf16>,
                 %v: tensor<1x1x100x32xbf16>, %o: tensor<1x2x100x32xbf16>)
    -> tensor<1x2x100x32xbf16> {
  %0 = spa.attention bands(#spa.bands<causal, [0:26], [26:100]>)
      ins(%q, %k, %v : tensor<1x2x100x64xbf16>, tensor<1x1x100x64xbf16>, tensor<1x1x100x32xbf16>)
      outs(%o : tensor<1x2x100x32xbf16>) -> tensor<1x2x100x32xbf16>
  return %0 : tensor<1x2x100x32xbf16>
}
