// zero-tail-items = 0 (auto): the recomputing wgmma dQ kernel at D = Dv =
// 64, warps 4, tile-k 64 writes 8 zero-tail items a block
// (BackwardConfig.h queryGradZeroTailItems: measured faster on an H100);
// every other kernel keeps one an item, and so does an explicit 1. Items 6
// and 7 of 8 are the tail (head 1's rows 0-127 reach no key), so the
// grouped dQ launch has 6 + ceil(2 / 8) = 7 blocks, the ungrouped 8.
// RUN: spa-opt %s -convert-spa-to-gpu -canonicalize -split-input-file | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-items=1" -canonicalize -split-input-file | FileCheck %s --check-prefix=ONE
// RUN: spa-opt %s -convert-spa-to-gpu="tile-k=32" -canonicalize -split-input-file | FileCheck %s --check-prefix=ONE

// The D = 64 gradient: the warp-specialised dK/dV kernel (persistent, no
// tail), the recomputing dQ kernel first, grouped.
// CHECK-LABEL: func.func @grad_d64(
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq blocks in (%c7, %c1, %c1)
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dq(
// CHECK: arith.cmpi sge, %{{.*}}, %c6 : index
// CHECK: arith.minsi %{{.*}}, %c7 : index
// ONE-LABEL: func.func @grad_d64(
// ONE: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq blocks in (%c8, %c1, %c1)
func.func @grad_d64(%q: memref<1x2x256x64xbf16>, %k: memref<1x2x256x64xbf16>, %v: memref<1x2x256x64xbf16>, %o: memref<1x2x256x64xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256xf32>, memref<1x2x256x64xbf16>)
      outs(%q, %k, %v : memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>)
  return
}

// -----

// The forward at D = 64 keeps one tail item a block under auto.
// CHECK-LABEL: func.func @forward_d64(
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c8, %c1, %c1)
// ONE-LABEL: func.func @forward_d64(
// ONE: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c8, %c1, %c1)
func.func @forward_d64(%q: memref<1x2x256x64xbf16>, %k: memref<1x2x256x64xbf16>, %v: memref<1x2x256x64xbf16>, %o: memref<1x2x256x64xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v : memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>)
      outs(%o, %l : memref<1x2x256x64xbf16>, memref<1x2x256xf32>)
  return
}

// -----

// D = 128: the stored dS (auto there), whose dQ kernel is dq_stored: no
// grouping by auto (its tail is taken only where grouped: 8 blocks) ...
// CHECK-LABEL: func.func @grad_d128(
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv blocks in (%c8, %c1, %c1)
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_stored blocks in (%c8, %c1, %c1)
func.func @grad_d128(%q: memref<1x2x256x128xbf16>, %k: memref<1x2x256x128xbf16>, %v: memref<1x2x256x128xbf16>, %o: memref<1x2x256x128xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256xf32>, memref<1x2x256x128xbf16>)
      outs(%q, %k, %v : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>)
  return
}
