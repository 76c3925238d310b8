// score-grads=store (ScoreGradStore.h): the launches are preprocess
// (Delta), dkdv (which also stores each visited tile pair's dS^T) and
// dq_stored (one product a tile pair over the stored dS). The dS scratch
// is [B Hq R KT Q][64 x 64]: here B = 1, Hq = 2, R = 2 intervals x 1 side,
// KT = 2 key tiles of 64 (N = 100), Q = 2 query tiles (head 0's interval
// [60, 100) reaches key tile 0 from rows 60 .. 99, two aligned tiles).
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store" -canonicalize | FileCheck %s
// score-grads=auto (the default) takes it here (D = Dv = 128, 128 KiB of
// scratch), recompute never:
// RUN: spa-opt %s -convert-spa-to-gpu -canonicalize | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=recompute" -canonicalize | FileCheck %s --check-prefix=RECOMPUTE
// Without the staged lse: the tiles, barriers and dS staging only.
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store shared-stream-lse=false shared-stream-delta=false" -canonicalize | FileCheck %s --check-prefix=NOLSE
// NOLSE: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv {{.*}} dynamic_shared_memory_size %c114712_i32
// RECOMPUTE-NOT: score_grad
// RECOMPUTE: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq
// RECOMPUTE-NEXT: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv
// RECOMPUTE-NOT: score_grad
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store" -canonicalize | FileCheck %s --check-prefix=DQ
// RUN: spa-opt %s --spa-to-nvvm="score-grads=store format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX
// stored-dq-rows=128: the dq_stored kernel takes 128-row items.
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store stored-dq-rows=128" -canonicalize | FileCheck %s --check-prefix=ROWS128
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store stored-dq-rows=64" -canonicalize | FileCheck %s --check-prefix=DQ
// score-grad-layout=compact: the scratch holds the visited tile pairs only.
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store score-grad-layout=compact" -canonicalize | FileCheck %s --check-prefix=COMPACT
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store score-grad-layout=padded" -canonicalize | FileCheck %s
// score-grad-prefetch=3: the dq_stored kernel also sends its dS tiles to L2
// three tiles ahead of the ring (two stages: tiles 1..3 of a range when it
// begins, then tile t + 4 when tile t is taken and t + 1 refilled).
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store score-grad-layout=compact score-grad-prefetch=3" -canonicalize | FileCheck %s --check-prefix=PREFETCH
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store" -canonicalize | FileCheck %s --check-prefix=NOPREFETCH
// NOPREFETCH-NOT: nvvm.cp.async.bulk.prefetch
// With 128-row items (padded layout) each warpgroup prefetches only the
// tiles its rows reach (the others have no dS tile): every prefetch sits
// under the range check and then the warpgroup's own reach check.
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store stored-dq-rows=128 score-grad-prefetch=3" -canonicalize | FileCheck %s --check-prefix=PREFETCH128
// score-grad-warp-stores=true: each warp fences its own staged rows, meets
// at bar.warp.sync (no block barrier), and its lane 0 copies its 16 rows
// (2048 bytes, 2048 w into the staging tile and the scratch tile); each
// lane 0 waits for its own copies before the next tile and at the end.
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store score-grad-warp-stores=true" -canonicalize | FileCheck %s --check-prefix=WARPSTORES

// CHECK: %[[DELTA:.*]] = gpu.alloc () : memref<1x2x100xf32>
// CHECK: %[[DS:.*]] = gpu.alloc () : memref<16x4096xbf16>
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_preprocess {{.*}} args({{.*}}, %[[DELTA]] : memref<1x2x100xf32>, %{{.*}} : memref<2x{{[0-9]+}}x2xi32>)
// shared-stream-lse and -delta = auto take the lse's 512 bytes and
// Delta's 256 here (two blocks an SM either way: 2 x (115480 + 1024) <=
// 233472).
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv {{.*}} dynamic_shared_memory_size %c115480_i32 args({{.*}}, %[[DS]] : memref<16x4096xbf16>,
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_stored {{.*}} dynamic_shared_memory_size %c49168_i32 args(%arg1 : memref<1x1x100x128xbf16>, %[[DS]] : memref<16x4096xbf16>, %arg0 : memref<1x2x100x128xbf16>,
// CHECK: gpu.dealloc %[[DS]]

// The preprocess computes Delta only (no dq_accum), loading O and dO only
// for rows that exist and reach a key (the head's bounds: distance lo at
// most the row's position), else adding zeros.
// CHECK: gpu.func @spa_attention_grad_0_preprocess(
// CHECK-SAME: args = ["output", "output_grad", "delta", "bounds"]
// CHECK-SAME: role = "preprocess"
// CHECK: %[[EXISTS:.*]] = arith.cmpi slt, %{{.*}}, %c100 : index
// CHECK: memref.load %{{.*}}[%{{.*}}, %c0, %c0] : memref<2x2x2xi32>
// CHECK: %[[REACHES:.*]] = arith.andi %[[EXISTS]], %{{.*}} : i1
// CHECK: scf.if %[[REACHES]] -> (f32)
// CHECK: vector.load
// CHECK: } else {
// CHECK-NEXT: scf.yield %cst{{.*}} : f32

// The dK/dV kernel: each range of query rows starts at a multiple of 64
// (rounded down, an empty range kept empty); per tile, after dK's product
// is issued, every thread stages its dS^T fragments, fences them for the
// async proxy, a block barrier, and thread 0 stores the 8192-byte tile with
// one bulk copy from one of two staging tiles (tile t in t % 2); before
// the next tile thread 0 waits until at most the newest copy may still read
// its staging tile, and at the end until every copy is complete.
// CHECK: gpu.func @spa_attention_grad_0_dkdv(
// CHECK-SAME: args = ["query", "key", "value", "log_sum_exp", "output_grad", "delta", "key_grad", "value_grad", "score_grad", "bounds", "work", "key_map", "value_map", "query_map", "output_grad_map", "key_grad_map", "value_grad_map"]
// CHECK-SAME: role = "dkdv"
// CHECK: scf.for {{.*}} step %c1 iter_args
// CHECK: %[[ALIGNED:.*]] = arith.muli %{{.*}}, %c64 : index
// CHECK: %[[FIRST:.*]] = arith.select %{{.*}}, %[[ALIGNED]], %{{.*}} : index
// CHECK: scf.for %{{.*}} = %[[FIRST]] to %{{.*}} step %c64
// CHECK: wgmma.mma_async
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: scf.if
// CHECK: nvvm.cp.async.bulk.global.shared.cta %{{.*}}, %{{.*}}, %c8192_i32 : <1>, <3>
// CHECK-NEXT: nvvm.cp.async.bulk.commit.group
// CHECK: nvvm.cp.async.bulk.wait_group 1 {read}
// CHECK: nvvm.cp.async.bulk.wait_group 0{{$}}

// WARPSTORES: gpu.func @spa_attention_grad_0_dkdv(
// WARPSTORES-NOT: %c8192_i32 : <1>, <3>
// WARPSTORES: wgmma.mma_async
// WARPSTORES: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// WARPSTORES-NEXT: nvvm.bar.warp.sync %c-1_i32 : i32
// WARPSTORES-NEXT: %[[LANE0:.*]] = arith.cmpi eq, %[[LANE:[0-9]+]], %c0 : index
// WARPSTORES-NEXT: scf.if %[[LANE0]] {
// WARPSTORES-NEXT: arith.muli %{{.*}}, %c2048 : index
// WARPSTORES-NOT: gpu.barrier
// WARPSTORES: nvvm.cp.async.bulk.global.shared.cta %{{.*}}, %{{.*}}, %c2048_i32 : <1>, <3>
// WARPSTORES-NEXT: nvvm.cp.async.bulk.commit.group
// WARPSTORES-NEXT: }
// WARPSTORES: %[[RELEASE:.*]] = arith.cmpi eq, %[[LANE]], %c0 : index
// WARPSTORES-NEXT: scf.if %[[RELEASE]] {
// WARPSTORES-NEXT: nvvm.cp.async.bulk.wait_group 1 {read}
// WARPSTORES: scf.yield %{{[0-9]+}}#0
// WARPSTORES-NEXT: }
// WARPSTORES-NEXT: %[[DRAIN:.*]] = arith.cmpi eq, %[[LANE]], %c0 : index
// WARPSTORES-NEXT: scf.if %[[DRAIN]] {
// WARPSTORES-NEXT: nvvm.cp.async.bulk.wait_group 0{{$}}
// WARPSTORES-NOT: %c8192_i32 : <1>, <3>
// WARPSTORES: gpu.func @spa_attention_grad_0_dq_stored(

// The dQ kernel: no Q, dO, lse or Delta; per stage one barrier announcing
// a K tile (64 x 128 x 2 bytes) and a dS^T tile (8192): the K tile by TMA,
// the dS^T tile by one bulk copy; one tile in flight ahead of the product
// (two stages); the product dQ += dS K as D / 64 = 2 chains of four wgmma
// with both operands MN-major (A col, B row), accumulating.
// DQ: gpu.func @spa_attention_grad_0_dq_stored(
// DQ-SAME: args = ["key", "score_grad", "query_grad", "bounds", "work", "key_map", "query_grad_map"]
// DQ-SAME: role = "dq_stored"
// DQ-SAME: tensor_maps = [{box = array<i64: 64, 64, 1, 1>, dims = array<i64: 128, 100, 1, 1>, {{.*}} name = "key_map", of = "key"
// DQ-NOT: log_sum_exp
// DQ-COUNT-2: nvvm.mbarrier.init
// DQ-NOT: nvvm.mbarrier.init
// DQ: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %c24576_i32
// DQ: nvvm.cp.async.bulk.tensor.shared.cluster.global
// DQ: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, %c8192_i32 : !llvm.ptr<7>, <1>
// DQ-NOT: nvvm.cp.async.bulk.shared.cluster.global
// DQ: scf.for
// DQ: gpu.barrier
// DQ: nvvm.cp.async.bulk.shared.cluster.global
// DQ: nvvm.mbarrier.try_wait.parity
// DQ-COUNT-8: D[<f32>, <one>], A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// DQ: wgmma.wait_group.sync.aligned 0;

// With 128-row items the query work list has one item a head (Nq = 100
// < 128), the block two warpgroups (256 threads) and a ring of three
// stages of a K tile and two dS^T tiles (3 x 32768 + 3 x 8 bytes). Thread 0
// announces the K tile's bytes plus 8192 for each warpgroup whose 64 rows
// reach the key tile, and copies only those dS^T tiles; each warpgroup
// adds its product only where its rows reach the tile.
// ROWS128: memref.global "private" constant @spa_attention_grad_0_dq_work : memref<2x3xi32> = dense<{{\[}}[0, 0, 0], [0, 1, 0]]>
// ROWS128: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_stored blocks in (%c2, %c1, %c1) threads in (%c256, %c1, %c1) dynamic_shared_memory_size %c98328_i32
// ROWS128: gpu.func @spa_attention_grad_0_dq_stored(
// ROWS128-SAME: known_block_size = array<i32: 256, 1, 1>
// ROWS128-SAME: role = "dq_stored"
// ROWS128-SAME: tile = array<i64: 128, 64>
// ROWS128-COUNT-3: nvvm.mbarrier.init
// ROWS128: arith.select %{{.*}}, %c8192, %c0 : index
// ROWS128: arith.select %{{.*}}, %c8192, %c0 : index
// ROWS128: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %{{.*}} : !llvm.ptr<3>, i32
// ROWS128: nvvm.cp.async.bulk.tensor.shared.cluster.global
// ROWS128: scf.if
// ROWS128: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, %c8192_i32
// ROWS128: scf.if
// ROWS128: nvvm.cp.async.bulk.shared.cluster.global %{{.*}}, %{{.*}}, %{{.*}}, %c8192_i32
// ROWS128: scf.for
// ROWS128: nvvm.mbarrier.try_wait.parity
// ROWS128: scf.if %{{.*}} -> (f32,
// ROWS128-COUNT-8: D[<f32>, <one>], A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// ROWS128: wgmma.wait_group.sync.aligned 0;
// ROWS128: } else {
// ROWS128: gpu.return

// The compact layout: 8 tiles instead of 16. Head 0's query tile 0 reaches
// key tile 0 through [0:8] (slot 0) and [60:100] (slot 1); its query tile 1
// (rows 64 .. 99) key tiles 0 and 1 through [0:8] (slots 2, 3) and key tile
// 0 through [60:100] (slot 4); head 1 ([8:60], its second bounds slot
// empty) key tile 0 from query tile 0 (slot 5), key tiles 0 and 1 from
// query tile 1 (slots 6, 7). The table [Hq][query tiles][slots][sides]
// holds each range's first slot minus its first key tile (an empty range:
// the next slot), and both kernels find pair (qt, kt) of batch b at
// b x 8 + table[h][qt][slot][side] + kt.
// COMPACT: memref.global "private" constant @spa_attention_grad_0_score_grad_slots : memref<2x2x2x1xi32> = dense<{{\[}}{{\[}}{{\[}}[0], [1]], {{\[}}[2], [4]]], {{\[}}{{\[}}[5], [6]], {{\[}}[6], [8]]]]>
// COMPACT: %[[DS:.*]] = gpu.alloc () : memref<8x4096xbf16>
// COMPACT: %[[SLOTS:.*]] = memref.get_global @spa_attention_grad_0_score_grad_slots
// COMPACT: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv {{.*}}, %[[DS]] : memref<8x4096xbf16>, %[[SLOTS]] : memref<2x2x2x1xi32>, %{{.*}} : memref<2x2x2xi32>,
// COMPACT: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_stored {{.*}}, %[[DS]] : memref<8x4096xbf16>, %{{.*}} : memref<1x2x100x128xbf16>, %[[SLOTS]] : memref<2x2x2x1xi32>, %{{.*}} : memref<2x2x2xi32>,
// COMPACT: gpu.func @spa_attention_grad_0_dkdv(
// COMPACT-SAME: args = ["query", "key", "value", "log_sum_exp", "output_grad", "delta", "key_grad", "value_grad", "score_grad", "score_grad_slots", "bounds", "work", "key_map", "value_map", "query_map", "output_grad_map", "key_grad_map", "value_grad_map"]
// COMPACT-SAME: score_grad_slots = array<i32: 0, 1, 2, 4, 5, 6, 6, 8>
// COMPACT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// COMPACT: scf.if
// COMPACT: %[[QT:.*]] = arith.divui %{{.*}}, %c64 : index
// COMPACT-NEXT: %[[BASE:.*]] = memref.load %arg9[%{{.*}}, %[[QT]], %c0, %c0] : memref<2x2x2x1xi32>
// COMPACT-NEXT: %[[BATCH:.*]] = arith.muli %{{.*}}, %c8 : index
// COMPACT-NEXT: %[[KT:.*]] = arith.divui %{{.*}}, %c64 : index
// COMPACT-NEXT: %[[B32:.*]] = arith.index_cast %[[BASE]] : i32 to index
// COMPACT-NEXT: %[[FIRST:.*]] = arith.addi %[[BATCH]], %[[B32]] : index
// COMPACT-NEXT: %{{.*}} = arith.addi %[[FIRST]], %[[KT]] : index
// COMPACT: nvvm.cp.async.bulk.global.shared.cta
// COMPACT: gpu.func @spa_attention_grad_0_dq_stored(
// COMPACT-SAME: args = ["key", "score_grad", "query_grad", "score_grad_slots", "bounds", "work", "key_map", "query_grad_map"]
// COMPACT: memref.load %arg3[%{{.*}}, %{{.*}}, %c0, %c0] : memref<2x2x2x1xi32>
// COMPACT: nvvm.cp.async.bulk.shared.cluster.global

// PTX: .entry spa_attention_grad_0_dkdv(
// PTX: cp.async.bulk.global.shared::cta.bulk_group
// PTX: cp.async.bulk.wait_group.read 1;
// PTX: .entry spa_attention_grad_0_dq_stored(
// PTX: cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes

func.func @f(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x128xbf16>, %o: memref<1x2x100x128xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:8, 60:100], [8:60]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x2x100x128xbf16>, memref<1x2x100xf32>, memref<1x2x100x128xbf16>)
      outs(%q, %k, %v : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x128xbf16>)
  return
}

// PREFETCH-NOT: nvvm.cp.async.bulk.prefetch
// PREFETCH: gpu.func @spa_attention_grad_0_dq_stored(
// PREFETCH: %[[FIRST:.*]] = arith.addi %[[BEGIN:.*]], %c64 : index
// PREFETCH-NEXT: %[[LAST:.*]] = arith.addi %[[BEGIN]], %c256 : index
// PREFETCH-NEXT: scf.for %[[J:.*]] = %[[FIRST]] to %[[LAST]] step %c64 {
// PREFETCH-NEXT: %[[IN:.*]] = arith.cmpi slt, %[[J]], %{{.*}} : index
// PREFETCH-NEXT: scf.if %[[IN]] {
// PREFETCH: memref.load %{{.*}} : memref<2x2x2x1xi32>
// PREFETCH: nvvm.cp.async.bulk.prefetch %{{.*}}, %c8192_i32 : <1>
// PREFETCH: scf.for %[[T:.*]] = %[[BEGIN]] to %{{.*}} step %c64
// PREFETCH: gpu.barrier
// PREFETCH: nvvm.cp.async.bulk.shared.cluster.global
// PREFETCH: %[[AHEAD:.*]] = arith.addi %[[T]], %c256 : index
// PREFETCH-NEXT: %{{.*}} = arith.cmpi slt, %[[AHEAD]], %{{.*}} : index
// PREFETCH: nvvm.cp.async.bulk.prefetch %{{.*}}, %c8192_i32 : <1>
// PREFETCH: nvvm.mbarrier.try_wait.parity

// PREFETCH128-NOT: nvvm.cp.async.bulk.prefetch
// PREFETCH128: gpu.func @spa_attention_grad_0_dq_stored(
// PREFETCH128: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %c64 {
// PREFETCH128-NEXT: %[[IN:.*]] = arith.cmpi slt, %[[J]], %{{.*}} : index
// PREFETCH128-NEXT: scf.if %[[IN]] {
// PREFETCH128: scf.if %{{.*}} {
// PREFETCH128: nvvm.cp.async.bulk.prefetch %{{.*}}, %c8192_i32 : <1>
// PREFETCH128-NEXT: }
// PREFETCH128: scf.if %{{.*}} {
// PREFETCH128: nvvm.cp.async.bulk.prefetch %{{.*}}, %c8192_i32 : <1>
// PREFETCH128-NEXT: }
// PREFETCH128-NEXT: }
// PREFETCH128-NEXT: }
