// zero-tail-items = G > 1 (ZeroTail.h): the blocks past the zero tail's
// start each take G of its items: the launch has zeroItemsFrom + ceil(tail
// / G) blocks, and a tail block reads the work-list entries of its items
// first (indices clamped to the list), then stores each existing item's
// zeros in 16-byte chunks by every thread (O and lse = -inf forward; dK and
// dV; dQ from the stored dS, whose tail is taken only where grouped; dQ
// and Delta = 0 in the recomputing kernel). Same layers as zero-tail.mlir:
// items 6 and 7 of 8 are the tail, so G = 2 launches 7 blocks.
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-items=2" -canonicalize -split-input-file | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-items=2 score-grads=recompute" -canonicalize -split-input-file | FileCheck %s --check-prefix=RECOMPUTE
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-items=2 forward-schedule=ws" -canonicalize -split-input-file | FileCheck %s --check-prefix=WS
// RUN: not spa-opt %s -convert-spa-to-gpu="zero-tail-items=65" 2>&1 | FileCheck %s --check-prefix=BIG
// BIG: zero-tail-items must be 0 (auto) to 64; got 65

// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c7, %c1, %c1)
// CHECK-LABEL: gpu.func @spa_attention_0(
// CHECK: %[[TAIL:.*]] = arith.cmpi sge, %block_id_x, %c6 : index
// CHECK-NEXT: scf.if %[[TAIL]] {
// Item 6 + 2 (block - 6) + i, clamped to the list's last entry, all loaded
// before any store.
// CHECK: %[[I0:.*]] = arith.minsi %{{.*}}, %c7 : index
// CHECK: %[[B0:.*]] = memref.load %arg6[%[[I0]], %c0] : memref<8x3xi32>
// CHECK: %[[I1:.*]] = arith.minsi %{{.*}}, %c7 : index
// CHECK: memref.load %arg6[%[[I1]], %c0] : memref<8x3xi32>
// CHECK-NOT: vector.store
// CHECK: scf.if
// CHECK: vector.store %[[ZERO:.*]], %arg3[%{{.*}}] {alignment = 16 : i64} : memref<1x2x256x64xbf16>, vector<8xbf16>
// CHECK: memref.store %[[NEGINF:.*]], %arg4[%{{.*}}] : memref<1x2x256xf32>
// CHECK-NOT: nvvm.cp.async.bulk.tensor
// CHECK: } else {
func.func @forward(%q: memref<1x2x256x64xbf16>, %k: memref<1x2x256x64xbf16>, %v: memref<1x2x256x64xbf16>, %o: memref<1x2x256x64xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v : memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>)
      outs(%o, %l : memref<1x2x256x64xbf16>, memref<1x2x256xf32>)
  return
}

// The persistent (warp-specialised) forward keeps one item a block.
// WS: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c8, %c1, %c1)

// -----

// The gradient (stored dS at D = 128): dK/dV's and dq_stored's tails, 7
// blocks each; the preprocess is per row block, unchanged.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv blocks in (%c7, %c1, %c1)
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_stored blocks in (%c7, %c1, %c1)
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// CHECK: arith.cmpi sge, %{{.*}}, %c6 : index
// CHECK: vector.store %{{.*}}, %arg6[%{{.*}}] {alignment = 16 : i64} : memref<1x2x256x128xbf16>, vector<8xbf16>
// CHECK: vector.store %{{.*}}, %arg7[%{{.*}}] {alignment = 16 : i64} : memref<1x2x256x128xbf16>, vector<8xbf16>
// CHECK: } else {
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dq_stored(
// CHECK: arith.cmpi sge, %{{.*}}, %c6 : index
// CHECK: vector.store %{{.*}}, %arg2[%{{.*}}] {alignment = 16 : i64} : memref<1x2x256x128xbf16>, vector<8xbf16>
// CHECK: } else {

// The recomputing dQ kernel: dQ zeros and Delta = 0 for its tail.
// RECOMPUTE: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq blocks in (%c7, %c1, %c1)
// RECOMPUTE-LABEL: gpu.func @spa_attention_grad_0_dq(
// RECOMPUTE: arith.cmpi sge, %{{.*}}, %c6 : index
// RECOMPUTE: vector.store %{{.*}}, %arg7[%{{.*}}] {alignment = 16 : i64} : memref<1x2x256x128xbf16>, vector<8xbf16>
// RECOMPUTE: memref.store %{{.*}}, %arg5[%{{.*}}] : memref<1x2x256xf32>
// RECOMPUTE: } else {
func.func @grad(%q: memref<1x2x256x128xbf16>, %k: memref<1x2x256x128xbf16>, %v: memref<1x2x256x128xbf16>, %o: memref<1x2x256x128xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256xf32>, memref<1x2x256x128xbf16>)
      outs(%q, %k, %v : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>)
  return
}
