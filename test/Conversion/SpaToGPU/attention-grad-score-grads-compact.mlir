// score-grad-layout=compact (ScoreGradStore.h): the stored dS holds only
// the visited 64 x 64 tile pairs, and both kernels find pair (query tile qt,
// key tile kt) of batch b, head h, interval slot s and side through one
// table lookup: b x T + score_grad_slots[h][qt][s][side] + kt.
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store score-grad-layout=compact" -canonicalize | FileCheck %s
// With score-grads=auto it applies where auto stores (here: at D = 64 auto
// recomputes, so nothing is stored and no table is made).
// RUN: spa-opt %s -convert-spa-to-gpu="score-grad-layout=compact" -canonicalize | FileCheck %s --check-prefix=AUTO
// AUTO-NOT: score_grad

// One head, bidirectional [0:8], N = 100 (d = p - j in [0, 8) on the causal
// side, j - p in [1, 8) on the anti side). Query tile 0 (rows 0 .. 63):
// causal keys 0 .. 63 (key tile 0: slot 0, base 0), anti keys 1 .. 70 (key
// tiles 0, 1: slots 1, 2, base 1). Query tile 1 (rows 64 .. 99): causal
// keys 57 .. 99 (tiles 0, 1: slots 3, 4, base 3), anti keys 65 .. 99
// (tile 1 only: slot 5, base 5 - 1 = 4). T = 6 tiles a batch element, 12
// for B = 2 (the padded layout would take 2 x 2 sides x 2 key tiles x Q).
// CHECK: memref.global "private" constant @spa_attention_grad_0_score_grad_slots : memref<1x2x1x2xi32> = dense<{{\[}}{{\[}}{{\[}}[0, 1]], {{\[}}[3, 4]]]]>
// CHECK: gpu.alloc () : memref<12x4096xbf16>

// The dK/dV kernel: per stream tile, thread 0 looks the range up by the
// query head (GQA loop), the stream tile's query tile and the side (index
// 0 on the causal walk, 1 on the anti walk), and adds the item's key tile.
// CHECK: gpu.func @spa_attention_grad_0_dkdv(
// CHECK-SAME: score_grad_slots = array<i32: 0, 1, 3, 4>
// CHECK: %[[B:.*]] = memref.load %arg11[%block_id_x, %c0] : memref<4x3xi32>
// CHECK-NEXT: %[[BI:.*]] = arith.index_cast %[[B]] : i32 to index
// CHECK: %[[T:.*]] = memref.load %arg11[%block_id_x, %c2] : memref<4x3xi32>
// CHECK-NEXT: %[[TI:.*]] = arith.index_cast %[[T]] : i32 to index
// CHECK-NEXT: %[[J0:.*]] = arith.muli %[[TI]], %c64 : index
// CHECK: scf.for %[[HEAD:.*]] = %{{.*}} to %{{.*}} step %c1 iter_args
// CHECK: scf.for %[[I0:.*]] = %{{.*}} to %{{.*}} step %c64 iter_args
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: %[[QT:.*]] = arith.divui %[[I0]], %c64 : index
// CHECK-NEXT: %[[BASE:.*]] = memref.load %arg9[%[[HEAD]], %[[QT]], %c0, %c0] : memref<1x2x1x2xi32>
// CHECK-NEXT: %[[FIRST:.*]] = arith.muli %[[BI]], %c6 : index
// CHECK-NEXT: %[[KT:.*]] = arith.divui %[[J0]], %c64 : index
// CHECK-NEXT: %[[BASEI:.*]] = arith.index_cast %[[BASE]] : i32 to index
// CHECK-NEXT: %[[SUM:.*]] = arith.addi %[[FIRST]], %[[BASEI]] : index
// CHECK-NEXT: %[[TILE:.*]] = arith.addi %[[SUM]], %[[KT]] : index
// CHECK: %[[TILE64:.*]] = arith.index_cast %[[TILE]] : index to i64
// CHECK-NEXT: arith.muli %[[TILE64]], %c8192_i64 : i64
// CHECK: nvvm.cp.async.bulk.global.shared.cta
// The anti side's walk: the same lookup at side index 1.
// CHECK: scf.for %[[I1:.*]] = %{{.*}} to %{{.*}} step %c64 iter_args
// CHECK: %[[QT1:.*]] = arith.divui %[[I1]], %c64 : index
// CHECK-NEXT: memref.load %arg9[%[[HEAD]], %[[QT1]], %c0, %c1] : memref<1x2x1x2xi32>

// The dq_stored kernel: the item's own query tile (work tile x 64 / 64),
// its head, the key tile being prefetched; causal ranges then anti ranges.
// CHECK: gpu.func @spa_attention_grad_0_dq_stored(
// CHECK-SAME: args = ["key", "score_grad", "query_grad", "score_grad_slots", "bounds", "work", "key_map", "query_grad_map"]
// CHECK: %[[QB:.*]] = memref.load %arg5[%block_id_x, %c0] : memref<4x3xi32>
// CHECK-NEXT: %[[QBI:.*]] = arith.index_cast %[[QB]] : i32 to index
// CHECK-NEXT: %[[QH:.*]] = memref.load %arg5[%block_id_x, %c1] : memref<4x3xi32>
// CHECK-NEXT: %[[QHI:.*]] = arith.index_cast %[[QH]] : i32 to index
// CHECK-NEXT: %[[QT2:.*]] = memref.load %arg5[%block_id_x, %c2] : memref<4x3xi32>
// CHECK-NEXT: %[[QTI:.*]] = arith.index_cast %[[QT2]] : i32 to index
// CHECK-NEXT: %[[QI0:.*]] = arith.muli %[[QTI]], %c64 : index
// CHECK: %[[QQT:.*]] = arith.divui %[[QI0]], %c64 : index
// CHECK-NEXT: %[[QBASE:.*]] = memref.load %arg3[%[[QHI]], %[[QQT]], %c0, %c0] : memref<1x2x1x2xi32>
// CHECK-NEXT: %[[QFIRST:.*]] = arith.muli %[[QBI]], %c6 : index
// CHECK-NEXT: arith.divui %{{.*}}, %c64 : index
// CHECK-NEXT: %[[QBASEI:.*]] = arith.index_cast %[[QBASE]] : i32 to index
// CHECK-NEXT: arith.addi %[[QFIRST]], %[[QBASEI]] : index
// CHECK: memref.load %arg3[%[[QHI]], %{{.*}}, %c0, %c1] : memref<1x2x1x2xi32>

func.func @f(%q: memref<2x1x100x64xbf16>, %l: memref<2x1x100xf32>) {
  spa.attention_grad bands(#spa.bands<bidirectional, [0:8]>)
      ins(%q, %q, %q, %q, %l, %q : memref<2x1x100x64xbf16>, memref<2x1x100x64xbf16>, memref<2x1x100x64xbf16>, memref<2x1x100x64xbf16>, memref<2x1x100xf32>, memref<2x1x100x64xbf16>)
      outs(%q, %q, %q : memref<2x1x100x64xbf16>, memref<2x1x100x64xbf16>, memref<2x1x100x64xbf16>)
  return
}
