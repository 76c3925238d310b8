// The zero tail of a static work list (KernelConfig::zeroItemsFrom): the
// items whose rows reach no key (forward) or whose keys no query reaches
// (the classic dK/dV kernel) sort last (plan::firstItemReachingNoKey,
// firstKeyTileItemReachedByNoQuery); the kernel tests its block's item
// against the tail's first index and there only writes the zeros, loading
// nothing. Two heads, N = 256, bands [0, 128) and [128, 256), 64-row
// tiles: head 1's query tiles 0 and 1 (rows below 128) reach no key, and
// its key tiles 2 and 3 (keys from 128) no query: items 6 and 7 of 8.
// zero-tail-with-items = false here (as auto): the tail in blocks of its own
// (the tail written by the items' blocks: zero-tail-with-items.mlir).
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-with-items=false" -canonicalize -split-input-file | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="forward-schedule=ws backward-schedule=ws zero-tail-with-items=false" -canonicalize -split-input-file | FileCheck %s --check-prefix=WS
// RUN: spa-opt %s -convert-spa-to-gpu="chip=sm_80 zero-tail-with-items=false" -canonicalize -split-input-file | FileCheck %s --check-prefix=SYNC
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=recompute zero-tail-with-items=false" -canonicalize -split-input-file | FileCheck %s --check-prefix=RECOMPUTE

// CHECK-LABEL: memref.global "private" constant @spa_attention_0_work : memref<8x3xi32> = dense<{{\[\[}}0, 0, 2], [0, 0, 3], [0, 0, 1], [0, 1, 3], [0, 0, 0], [0, 1, 2], [0, 1, 0], [0, 1, 1]]>
// CHECK-LABEL: gpu.func @spa_attention_0(
// CHECK: %[[ITEM:.*]] = gpu.block_id x
// The tail's branch (first): the epilogue of the empty state (O = 0, the
// log-sum-exp of rows without keys; O by the TMA stores), no load, no wait.
// CHECK: %[[NOKEYS:.*]] = arith.cmpi sge, %[[ITEM]], %c6 : index
// CHECK-NEXT: scf.if %[[NOKEYS]] {
// CHECK-NOT: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK-NOT: nvvm.mbarrier.try_wait
// CHECK: } else {
// The items with keys: Q's copy and wait, the key ranges.
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvvm.mbarrier.try_wait.parity

// The warp-specialised kernel (persistent: the item is the loop's): the
// producer skips the tail's Q and tiles, the consumers write its zeros; the
// same test on the item index, so the two roles stay paired.
// WS-LABEL: gpu.func @spa_attention_0(
// WS: %[[PRODUCES:.*]] = arith.cmpi slt, %{{.*}}, %c6 : index
// WS-NEXT: scf.if %[[PRODUCES]] {
// WS: nvvm.cp.async.bulk.tensor.shared.cluster.global
// WS: %[[NOKEYS:.*]] = arith.cmpi sge, %{{.*}}, %c6 : index
// WS-NEXT: scf.if %[[NOKEYS]] {
// WS-NOT: nvvm.mbarrier.try_wait
// WS: } else {
// WS: nvvm.mbarrier.try_wait

// mma.sync (synchronous copies): the same tail, no Q load in it.
// SYNC-LABEL: gpu.func @spa_attention_0(
// SYNC: %[[NOKEYS:.*]] = arith.cmpi sge, %{{.*}}, %c6 : index
// SYNC-NEXT: scf.if %[[NOKEYS]] {
// SYNC-NOT: vector.load %arg0
// SYNC: } else {
// SYNC: vector.load %arg0
func.func @forward(%q: memref<1x2x256x64xbf16>, %k: memref<1x2x256x64xbf16>, %v: memref<1x2x256x64xbf16>, %o: memref<1x2x256x64xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v : memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>)
      outs(%o, %l : memref<1x2x256x64xbf16>, memref<1x2x256xf32>)
  return
}

// -----

// The gradient: the dK/dV kernel's list puts key tiles 2 and 3 of head 1
// last; its tail stores zero dK and dV without its own tiles' copies. The
// preprocess loads O and dO only for rows with keys. The dq_stored kernel's
// query items without keys already load nothing (an empty walk).
// CHECK-LABEL: memref.global "private" constant @spa_attention_grad_0_dkdv_work : memref<8x3xi32> = dense<{{\[\[}}0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 0], [0, 0, 3], [0, 1, 1], [0, 1, 2], [0, 1, 3]]>
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// CHECK: %[[NOKEYS:.*]] = arith.cmpi sge, %{{.*}}, %c6 : index
// CHECK-NEXT: scf.if %[[NOKEYS]] {
// CHECK-NOT: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK-NOT: nvvm.mbarrier.try_wait
// CHECK: } else {
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global

// The recomputing dQ kernel (it runs first and writes Delta): the tail's
// query tiles store Delta = 0 and dQ = 0 without loading O, dO or Q.
// RECOMPUTE-LABEL: gpu.func @spa_attention_grad_0_dq(
// RECOMPUTE: %[[NOKEYS:.*]] = arith.cmpi sge, %{{.*}}, %c6 : index
// RECOMPUTE-NEXT: scf.if %[[NOKEYS]] {
// RECOMPUTE-NOT: vector.load %arg
// RECOMPUTE-NOT: nvvm.cp.async.bulk.tensor.shared.cluster.global
// RECOMPUTE: } else {
// RECOMPUTE: vector.load %arg6
// RECOMPUTE: nvvm.cp.async.bulk.tensor.shared.cluster.global

// The warp-specialised dK/dV kernel (D = 64's default) walks every item.
// WS-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// WS-NOT: arith.cmpi sge, %{{.*}}, %c6 : index
// WS: gpu.return

// SYNC-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// SYNC: %[[NOKEYS:.*]] = arith.cmpi sge, %{{.*}}, %c6 : index
// SYNC-NEXT: scf.if %[[NOKEYS]] {
// SYNC-NOT: vector.load %arg1
// SYNC: } else {
// SYNC: vector.load %arg1
func.func @grad(%q: memref<1x2x256x128xbf16>, %k: memref<1x2x256x128xbf16>, %v: memref<1x2x256x128xbf16>, %o: memref<1x2x256x128xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256xf32>, memref<1x2x256x128xbf16>)
      outs(%q, %k, %v : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>)
  return
}

// -----

// Every item of dense causal reaches a key: no tail, no test.
// CHECK-LABEL: gpu.func @spa_attention_0(
// CHECK-NOT: arith.cmpi sge, %block_id_x, %c
// CHECK: gpu.return
func.func @dense(%q: memref<1x2x256x64xbf16>, %k: memref<1x2x256x64xbf16>, %v: memref<1x2x256x64xbf16>, %o: memref<1x2x256x64xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention bands(#spa.bands<causal, [0:256], [0:256]>)
      ins(%q, %k, %v : memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>)
      outs(%o, %l : memref<1x2x256x64xbf16>, memref<1x2x256xf32>)
  return
}
