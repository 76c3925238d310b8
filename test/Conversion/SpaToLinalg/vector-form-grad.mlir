// The CPU vector form of spa.attention_grad (convert-spa-to-linalg
// vector-lanes=L, VectorAttentionGrad.cpp): two passes, each one scf.forall
// of work items marked spa.work_items. Pass 1 (batch, query head, block of
// L query rows, the last block first) writes dQ and the Delta scratch; pass
// 2 (batch, key/value head, block of L keys) loops over the group's query
// heads and walks the query blocks reaching its keys, writing dK and dV.
// Every product is a rank-1 vector.fma; masks only on edge blocks (scf.if);
// no padded copies. Here: L = 4, bidirectional, GQA (2
// query heads over 1), Nq = 10 != Nk = 9, Dv != D.
// RUN: spa-opt %s -spa-balance-bands -convert-spa-to-linalg=vector-lanes=4 | FileCheck %s

// CHECK-LABEL: func.func @layer_grad
// CHECK-NOT: tensor.pad
// Pass 1: dQ and Delta (f32 [B, Hq, Nq]).
// CHECK: %[[DELTA:.*]] = tensor.empty(%{{.*}}) : tensor<?x2x?xf32>
// CHECK: %[[P1:.*]]:2 = scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}}, 2, %{{.*}}) shared_outs(%{{.*}} = %{{.*}}, %{{.*}} = %[[DELTA]])
// Q scaled and transposed once per item; dO and O transposed.
// CHECK: vector.transpose %{{.*}}, [1, 0] : vector<4x4xf32> to vector<4x4xf32>
// The forward's key walk; per key block the two score-like products.
// CHECK: scf.for
// CHECK: vector.fma %{{.*}} : vector<4xf32>
// Edge blocks only: the band mask.
// CHECK: scf.if
// CHECK: arith.select
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, 0] [1, 1, %{{.*}}, 8]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] [1, 1, %{{.*}}]
// CHECK: } {spa.work_items}
// Pass 2: dK, dV per key block (one key/value head), reading Delta.
// CHECK: %[[P2:.*]]:2 = scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}}, 1, %{{.*}}) shared_outs
// The query heads of the group, then the interval slots, then query blocks.
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: scf.for
// CHECK: tensor.extract %[[P1]]#1
// CHECK: scf.if
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, 0] [1, 1, %{{.*}}, 8]
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, 0] [1, 1, %{{.*}}, 4]
// CHECK: } {spa.work_items}
// CHECK: return %[[P1]]#0, %[[P2]]#0, %[[P2]]#1

func.func @layer_grad(%q: tensor<1x2x10x8xf32>, %k: tensor<1x1x9x8xf32>,
                      %v: tensor<1x1x9x4xf32>, %o: tensor<1x2x10x4xf32>,
                      %lse: tensor<1x2x10xf32>, %do: tensor<1x2x10x4xf32>,
                      %dq: tensor<1x2x10x8xf32>, %dk: tensor<1x1x9x8xf32>,
                      %dv: tensor<1x1x9x4xf32>)
    -> (tensor<1x2x10x8xf32>, tensor<1x1x9x8xf32>, tensor<1x1x9x4xf32>) {
  %r:3 = spa.attention_grad bands(#spa.band_policy<bidirectional, local_plus_band>)
      ins(%q, %k, %v, %o, %lse, %do : tensor<1x2x10x8xf32>, tensor<1x1x9x8xf32>, tensor<1x1x9x4xf32>, tensor<1x2x10x4xf32>, tensor<1x2x10xf32>, tensor<1x2x10x4xf32>)
      outs(%dq, %dk, %dv : tensor<1x2x10x8xf32>, tensor<1x1x9x8xf32>, tensor<1x1x9x4xf32>)
      -> tensor<1x2x10x8xf32>, tensor<1x1x9x8xf32>, tensor<1x1x9x4xf32>
  return %r#0, %r#1, %r#2 : tensor<1x2x10x8xf32>, tensor<1x1x9x8xf32>, tensor<1x1x9x4xf32>
}
