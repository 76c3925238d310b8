// zero-tail-with-items = true (auto: off until measured on a GPU;
// KernelConfig::zeroTailWithItems,
// ZeroTail.h): in the kernels that run one item a block (the serial
// forward, the classic dK/dV, the recomputing dQ and the dq_stored
// kernels), the launch stops
// at the zero tail's first item K and block b first writes tail items K +
// b, K + b + K, ... (an scf.for over the list, each entry loaded, its zero
// rows stored in 16-byte chunks by every thread), then its own item with
// keys, with no test of its own index against the tail. Same layers as
// zero-tail.mlir: items 6 and 7 of 8 are the tail, so 6 blocks, and block
// b writes item 6 + b where it exists.
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-with-items=true" -canonicalize -split-input-file | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-with-items=true score-grads=recompute" -canonicalize -split-input-file | FileCheck %s --check-prefix=RECOMPUTE
// RUN: spa-opt %s -convert-spa-to-gpu -canonicalize -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-with-items=false" -canonicalize -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-items=2" -canonicalize -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-with-items=true forward-schedule=ws" -canonicalize -split-input-file | FileCheck %s --check-prefix=WS
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-with-items=true split-keys=2" -canonicalize -split-input-file | FileCheck %s --check-prefix=SPLIT
// RUN: not spa-opt %s -convert-spa-to-gpu="zero-tail-with-items=true zero-tail-items=2" 2>&1 | FileCheck %s --check-prefix=BOTH
// RUN: not spa-opt %s -convert-spa-to-gpu="zero-tail-with-items=maybe" 2>&1 | FileCheck %s --check-prefix=BADVALUE
// BOTH: zero-tail-with-items = true writes the zero tail from the blocks of the items with keys, zero-tail-items = 2 from blocks of its own: use one of them
// BADVALUE: for the --zero-tail-with-items option: Cannot find option named 'maybe'!

// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c6, %c1, %c1)
// CHECK-LABEL: gpu.func @spa_attention_0(
// CHECK: %[[BLOCK:.*]] = gpu.block_id x
// CHECK-NOT: arith.cmpi sge, %[[BLOCK]], %c6
// CHECK: %[[FIRST:.*]] = arith.addi %[[BLOCK]], %c6 : index
// CHECK-NEXT: scf.for %[[TAIL:.*]] = %[[FIRST]] to %c8 step %c6 {
// CHECK-NEXT: memref.load %arg6[%[[TAIL]], %c0] : memref<8x3xi32>
// CHECK-NOT: nvvm.cp.async.bulk.tensor
// CHECK: vector.store %{{.*}}, %arg3[%{{.*}}] {alignment = 16 : i64} : memref<1x2x256x64xbf16>, vector<8xbf16>
// CHECK: memref.store %{{.*}}, %arg4[%{{.*}}] : memref<1x2x256xf32>
// CHECK-NOT: nvvm.cp.async.bulk.tensor
// CHECK: }
// Then the block's own item: Q's copy and its wait.
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: nvvm.mbarrier.try_wait.parity

// auto (the default), false or a grouped tail: the tail's own blocks.
// OFF: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c{{7|8}}, %c1, %c1)
// OFF-LABEL: gpu.func @spa_attention_0(
// OFF: arith.cmpi sge, %{{.*}}, %c6 : index
// OFF-NOT: step %c6 {

// The persistent warp-specialised forward and split keys keep the tail's
// blocks (their items are not one a block).
// WS: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c8, %c1, %c1)
// SPLIT: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c8, %c2, %c1)
func.func @forward(%q: memref<1x2x256x64xbf16>, %k: memref<1x2x256x64xbf16>, %v: memref<1x2x256x64xbf16>, %o: memref<1x2x256x64xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v : memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>)
      outs(%o, %l : memref<1x2x256x64xbf16>, memref<1x2x256xf32>)
  return
}

// -----

// The gradient (stored dS): the classic dK/dV kernel's tail (key tiles 2
// and 3 of head 1) rides with its 6 items with keys: dK and dV zeros; so
// does the dq_stored kernel's (query tiles 0 and 1 of head 1): dQ zeros.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv blocks in (%c6, %c1, %c1)
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_stored blocks in (%c6, %c1, %c1)
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// CHECK: scf.for %[[TAIL:.*]] = %{{.*}} to %c8 step %c6 {
// CHECK-NEXT: memref.load %{{.*}}[%[[TAIL]], %c0] : memref<8x3xi32>
// CHECK: vector.store %{{.*}}, %arg6[%{{.*}}] {alignment = 16 : i64} : memref<1x2x256x128xbf16>, vector<8xbf16>
// CHECK: vector.store %{{.*}}, %arg7[%{{.*}}] {alignment = 16 : i64} : memref<1x2x256x128xbf16>, vector<8xbf16>
// CHECK: }
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dq_stored(
// CHECK: scf.for %[[TAIL:.*]] = %{{.*}} to %c8 step %c6 {
// CHECK-NEXT: memref.load %{{.*}}[%[[TAIL]], %c0] : memref<8x3xi32>
// CHECK: vector.store %{{.*}}, %arg2[%{{.*}}] {alignment = 16 : i64} : memref<1x2x256x128xbf16>, vector<8xbf16>
// CHECK: }

// The recomputing dQ kernel: dQ zeros and Delta = 0 for its tail, from the
// 6 blocks of its query items with keys.
// RECOMPUTE: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq blocks in (%c6, %c1, %c1)
// RECOMPUTE-LABEL: gpu.func @spa_attention_grad_0_dq(
// RECOMPUTE: scf.for %[[TAIL:.*]] = %{{.*}} to %c8 step %c6 {
// RECOMPUTE-NEXT: memref.load %{{.*}}[%[[TAIL]], %c0] : memref<8x3xi32>
// RECOMPUTE: vector.store %{{.*}} {alignment = 16 : i64} : memref<1x2x256x128xbf16>, vector<8xbf16>
// RECOMPUTE: memref.store %{{.*}} : memref<1x2x256xf32>
// RECOMPUTE: }

// OFF: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv blocks in (%c{{7|8}}, %c1, %c1)
// OFF: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_stored blocks in (%c{{7|8}}, %c1, %c1)
func.func @grad(%q: memref<1x2x256x128xbf16>, %k: memref<1x2x256x128xbf16>, %v: memref<1x2x256x128xbf16>, %o: memref<1x2x256x128xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256xf32>, memref<1x2x256x128xbf16>)
      outs(%q, %k, %v : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>)
  return
}
