// convert-spa-to-linalg on spa.attention_grad: the forward's band walk
// (work items, key tiles from the interval bounds, masks on edge tiles
// only), P recomputed from the log-sum-exp in base 2, dK and dV accumulated
// in f32 over the whole [B, Hkv, Nk, D] and converted at the end; upstream
// ops only. A module holding both ops goes through spa-to-llvm-cpu.
// RUN: spa-opt %s -split-input-file -spa-expand-band-bounds -convert-spa-to-linalg="tile-q=16 tile-k=32" | FileCheck %s
// RUN: spa-opt %s -split-input-file -spa-expand-band-bounds -convert-spa-to-linalg | mlir-opt -split-input-file -verify-each | FileCheck %s --check-prefix=UPSTREAM
// RUN: spa-opt %s -split-input-file -spa-to-llvm-cpu | FileCheck %s --check-prefix=LLVM

// UPSTREAM-NOT: spa.
// LLVM-NOT: spa.
// LLVM-NOT: linalg.
// LLVM: llvm.func @layer_grad
// LLVM: llvm.func @layer(
// LLVM: llvm.func @layer_grad(

// CHECK-LABEL: func.func @layer_grad
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<2x4x100x64xbf16>, %[[K:[^:]*]]: tensor<2x2x100x64xbf16>, %[[V:[^:]*]]: tensor<2x2x100x32xbf16>, %[[O:[^:]*]]: tensor<2x4x100x32xbf16>, %[[L:[^:]*]]: tensor<2x4x100xf32>, %[[DO:[^:]*]]: tensor<2x4x100x32xbf16>, %[[DQ0:[^:]*]]: tensor<2x4x100x64xbf16>, %[[DK0:[^:]*]]: tensor<2x2x100x64xbf16>, %[[DV0:[^:]*]]: tensor<2x2x100x32xbf16>)
// CHECK-NOT: spa.attention_grad
// The scale (1/sqrt(64)) folded into dS, and scale * log2(e) for P.
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 1.250000e-01 : f32
// CHECK-DAG: %[[SCALELOG2:.*]] = arith.constant 0.180336878 : f32
// CHECK-DAG: %[[LOG2E:.*]] = arith.constant 1.44269502 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// The band table as a [Hq, M, 2] constant, as in the forward.
// CHECK-DAG: %[[BOUNDS:.*]] = arith.constant dense<{{\[}}{{\[}}[0, 26], [0, 0]], {{\[}}[0, 26], [26, 51]], {{\[}}[0, 26], [51, 76]], {{\[}}[76, 100], [0, 0]]]> : tensor<4x2x2xi64>
// dK and dV: zero f32 accumulators over the whole key/value tensors.
// CHECK: %[[DKE:.*]] = tensor.empty() : tensor<2x2x100x64xf32>
// CHECK: %[[DKACC:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[DKE]] : tensor<2x2x100x64xf32>)
// CHECK: %[[DVE:.*]] = tensor.empty() : tensor<2x2x100x32xf32>
// CHECK: %[[DVACC:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[DVE]] : tensor<2x2x100x32xf32>)
// Work items: batch, head, query tile, with (dQ, dK, dV) as iter_args.
// CHECK: %[[LOOPS:.*]]:3 = scf.for %[[B:.*]] = %c0 to %c2 step %c1 iter_args(%{{.*}} = %[[DQ0]], %{{.*}} = %[[DKACC]], %{{.*}} = %[[DVACC]])
// CHECK: scf.for %[[H:.*]] = %c0 to %c4 step %c1
// CHECK: %[[KVH:.*]] = arith.divui %[[H]], %c2 : index
// CHECK: scf.for %[[I0:.*]] = %c0 to %c100 step %c16
// CHECK: %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[I0]], 0]
// CHECK: %[[DOT:.*]] = tensor.extract_slice %[[DO]][%[[B]], %[[H]], %[[I0]], 0]
// CHECK: %[[OT:.*]] = tensor.extract_slice %[[O]][%[[B]], %[[H]], %[[I0]], 0]
// Delta = rowsum(dO * O) in f32.
// CHECK: %[[DELTA:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[DOT]], %[[OT]] : tensor<?x32xbf16>, tensor<?x32xbf16>) outs(%{{.*}} : tensor<?xf32>)
// CHECK: arith.extf
// CHECK: arith.mulf
// CHECK: arith.addf
// The natural-log lse in base 2.
// CHECK: %[[LT:.*]] = tensor.extract_slice %[[L]][%[[B]], %[[H]], %[[I0]]]
// CHECK: %[[L2:.*]] = linalg.generic {{.*}} ins(%[[LT]] : tensor<?xf32>)
// CHECK: arith.mulf %{{.*}}, %[[LOG2E]] : f32
// dQ of the tile accumulates in f32.
// CHECK: %[[DQACC:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<?x64xf32>)
// Per interval slot, clamped bounds give the key range; an empty interval
// a zero trip count.
// CHECK: scf.for %[[S:.*]] = %c0 to %c2 step %c1 iter_args(%{{.*}} = %[[DQACC]],
// CHECK: %[[LO64:.*]] = tensor.extract %[[BOUNDS]][%[[H]], %[[S]], %c0]
// CHECK: %[[LO0:.*]] = arith.index_cast %[[LO64]] : i64 to index
// CHECK: %[[LO:.*]] = arith.minsi %[[LO0]], %c100
// CHECK: %[[HI64:.*]] = tensor.extract %[[BOUNDS]][%[[H]], %[[S]], %c1]
// CHECK: %[[HI0:.*]] = arith.index_cast %[[HI64]] : i64 to index
// CHECK: %[[HI:.*]] = arith.minsi %[[HI0]], %c100
// CHECK: %[[BEGIN:.*]] = arith.maxsi
// CHECK: %[[END0:.*]] = arith.minsi
// CHECK: %[[NONEMPTY:.*]] = arith.cmpi slt, %[[LO]], %[[HI]]
// CHECK: %[[END:.*]] = arith.select %[[NONEMPTY]], %[[END0]], %[[BEGIN]]
// CHECK: scf.for %[[J0:.*]] = %[[BEGIN]] to %[[END]] step %c32 iter_args(%[[DQI:[^ ]*]] = %{{.*}}, %[[DKI:[^ ]*]] = %{{.*}}, %[[DVI:[^ ]*]] = %{{.*}})
// CHECK: %[[KT:.*]] = tensor.extract_slice %[[K]][%[[B]], %[[KVH]], %[[J0]], 0]
// CHECK: %[[VT:.*]] = tensor.extract_slice %[[V]][%[[B]], %[[KVH]], %[[J0]], 0]
// S = Q K^T and dP = dO V^T in f32.
// CHECK: %[[S_:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[QT]], %[[KT]] : tensor<?x64xbf16>, tensor<?x64xbf16>)
// CHECK: %[[DP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[DOT]], %[[VT]] : tensor<?x32xbf16>, tensor<?x32xbf16>)
// Interior tiles skip the mask; edge tiles select P and dS to 0 outside
// the interval.
// CHECK: %[[INTERIOR:.*]] = arith.andi
// CHECK: %[[PDS:.*]]:2 = scf.if %[[INTERIOR]] -> (tensor<?x?xf32>, tensor<?x?xf32>) {
// CHECK: linalg.generic {{.*}} ins(%[[S_]], %[[DP]], %[[L2]], %[[DELTA]] :
// CHECK: arith.mulf %{{.*}}, %[[SCALELOG2]] : f32
// CHECK: arith.subf
// CHECK: math.exp2
// CHECK: arith.mulf %{{.*}}, %[[SCALE]] : f32
// CHECK-NOT: linalg.index
// CHECK: } else {
// CHECK: math.exp2
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: %[[INBAND:.*]] = arith.andi
// CHECK: arith.select %[[INBAND]], %{{.*}}, %[[ZERO]] : f32
// CHECK: arith.select %[[INBAND]], %{{.*}}, %[[ZERO]] : f32
// CHECK: }
// dQ += dS K (loop dims i, d, j).
// CHECK: linalg.generic {{.*}} ins(%[[PDS]]#1, %[[KT]] : tensor<?x?xf32>, tensor<?x64xbf16>) outs(%[[DQI]] : tensor<?x64xf32>)
// dK[b, kv head, j0:] += dS^T Q, in place on the f32 accumulator.
// CHECK: %[[DKS:.*]] = tensor.extract_slice %[[DKI]][%[[B]], %[[KVH]], %[[J0]], 0] {{.*}} to tensor<?x64xf32>
// CHECK: %[[DKU:.*]] = linalg.generic {{.*}} ins(%[[PDS]]#1, %[[QT]] : tensor<?x?xf32>, tensor<?x64xbf16>) outs(%[[DKS]] : tensor<?x64xf32>)
// CHECK: tensor.insert_slice %[[DKU]] into %[[DKI]][%[[B]], %[[KVH]], %[[J0]], 0]
// dV[b, kv head, j0:] += P^T dO.
// CHECK: %[[DVS:.*]] = tensor.extract_slice %[[DVI]][%[[B]], %[[KVH]], %[[J0]], 0] {{.*}} to tensor<?x32xf32>
// CHECK: %[[DVU:.*]] = linalg.generic {{.*}} ins(%[[PDS]]#0, %[[DOT]] : tensor<?x?xf32>, tensor<?x32xbf16>) outs(%[[DVS]] : tensor<?x32xf32>)
// CHECK: tensor.insert_slice %[[DVU]] into %[[DVI]][%[[B]], %[[KVH]], %[[J0]], 0]
// Rows without keys from the geometry get dQ = 0; dQ is written per tile
// in the element type.
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<?xi1>)
// CHECK: arith.select %{{.*}}, %{{.*}}, %[[ZERO]] : f32
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[%[[B]], %[[H]], %[[I0]], 0]
// dK and dV converted to bf16 into their destinations once, at the end.
// CHECK: %[[DK:.*]] = linalg.generic {{.*}} ins(%[[LOOPS]]#1 : tensor<2x2x100x64xf32>) outs(%[[DK0]] : tensor<2x2x100x64xbf16>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: %[[DV:.*]] = linalg.generic {{.*}} ins(%[[LOOPS]]#2 : tensor<2x2x100x32xf32>) outs(%[[DV0]] : tensor<2x2x100x32xbf16>)
// CHECK: return %[[LOOPS]]#0, %[[DK]], %[[DV]]
func.func @layer_grad(%q: tensor<2x4x100x64xbf16>, %k: tensor<2x2x100x64xbf16>,
                      %v: tensor<2x2x100x32xbf16>, %o: tensor<2x4x100x32xbf16>,
                      %l: tensor<2x4x100xf32>, %do: tensor<2x4x100x32xbf16>,
                      %dq0: tensor<2x4x100x64xbf16>, %dk0: tensor<2x2x100x64xbf16>,
                      %dv0: tensor<2x2x100x32xbf16>)
    -> (tensor<2x4x100x64xbf16>, tensor<2x2x100x64xbf16>, tensor<2x2x100x32xbf16>) {
  %0:3 = spa.attention_grad bands(#spa.bands<causal, [0:26], [0:26, 26:51], [0:26, 51:76], [76:100]>)
      ins(%q, %k, %v, %o, %l, %do : tensor<2x4x100x64xbf16>, tensor<2x2x100x64xbf16>,
          tensor<2x2x100x32xbf16>, tensor<2x4x100x32xbf16>, tensor<2x4x100xf32>,
          tensor<2x4x100x32xbf16>)
      outs(%dq0, %dk0, %dv0 : tensor<2x4x100x64xbf16>, tensor<2x2x100x64xbf16>, tensor<2x2x100x32xbf16>)
      -> tensor<2x4x100x64xbf16>, tensor<2x2x100x64xbf16>, tensor<2x2x100x32xbf16>
  return %0#0, %0#1, %0#2 : tensor<2x4x100x64xbf16>, tensor<2x2x100x64xbf16>, tensor<2x2x100x32xbf16>
}

// -----

// f32 gradients accumulate in their destinations (no conversion pass);
// dynamic lengths with run-time band bounds (bidirectional: two sides per
// interval), as in the forward. The forward and its gradient in one module.
// CHECK-LABEL: func.func @layer(
// CHECK-LABEL: func.func @layer_grad(
// CHECK: %[[DKE:.*]] = tensor.empty(%{{.*}}) : tensor<1x1x?x16xf32>
// CHECK: %[[DKACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[DKE]] : tensor<1x1x?x16xf32>)
// CHECK: %[[LOOPS:.*]]:3 = scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %[[DKACC]],
// Bounds read from the run-time table; the causal side, then the anti side,
// each with its own key loop and edge test.
// CHECK: tensor.extract %{{.*}} : tensor<2x2x2xindex>
// CHECK: scf.for
// CHECK: scf.if
// CHECK: scf.for
// CHECK: scf.if
// CHECK-NOT: ins(%[[LOOPS]]#1
// CHECK: return %[[LOOPS]]#0, %[[LOOPS]]#1, %[[LOOPS]]#2
func.func @layer(%q: tensor<1x2x?x16xf32>, %k: tensor<1x1x?x16xf32>, %v: tensor<1x1x?x16xf32>)
    -> (tensor<1x2x?x16xf32>, tensor<1x2x?xf32>) {
  %c2 = arith.constant 2 : index
  %nq = tensor.dim %q, %c2 : tensor<1x2x?x16xf32>
  %nk = tensor.dim %k, %c2 : tensor<1x1x?x16xf32>
  %o = tensor.empty(%nq) : tensor<1x2x?x16xf32>
  %l = tensor.empty(%nq) : tensor<1x2x?xf32>
  %bb = spa.band_bounds #spa.band_policy<bidirectional, local_plus_band> key_len(%nk) : tensor<2x2x2xindex>
  %r:2 = spa.attention bands(#spa.band_policy<bidirectional, local_plus_band>)
      band_bounds(%bb : tensor<2x2x2xindex>)
      ins(%q, %k, %v : tensor<1x2x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>)
      outs(%o, %l : tensor<1x2x?x16xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x16xf32>, tensor<1x2x?xf32>
  return %r#0, %r#1 : tensor<1x2x?x16xf32>, tensor<1x2x?xf32>
}

func.func @layer_grad(%q: tensor<1x2x?x16xf32>, %k: tensor<1x1x?x16xf32>, %v: tensor<1x1x?x16xf32>,
                      %o: tensor<1x2x?x16xf32>, %lse: tensor<1x2x?xf32>, %do: tensor<1x2x?x16xf32>)
    -> (tensor<1x2x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) {
  %c2 = arith.constant 2 : index
  %nq = tensor.dim %q, %c2 : tensor<1x2x?x16xf32>
  %nk = tensor.dim %k, %c2 : tensor<1x1x?x16xf32>
  %dq = tensor.empty(%nq) : tensor<1x2x?x16xf32>
  %dk = tensor.empty(%nk) : tensor<1x1x?x16xf32>
  %dv = tensor.empty(%nk) : tensor<1x1x?x16xf32>
  %bb = spa.band_bounds #spa.band_policy<bidirectional, local_plus_band> key_len(%nk) : tensor<2x2x2xindex>
  %r:3 = spa.attention_grad bands(#spa.band_policy<bidirectional, local_plus_band>)
      band_bounds(%bb : tensor<2x2x2xindex>)
      ins(%q, %k, %v, %o, %lse, %do : tensor<1x2x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>,
          tensor<1x2x?x16xf32>, tensor<1x2x?xf32>, tensor<1x2x?x16xf32>)
      outs(%dq, %dk, %dv : tensor<1x2x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>)
      -> tensor<1x2x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>
  return %r#0, %r#1, %r#2 : tensor<1x2x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>
}
