// zero-tail-spread = true (auto: off until measured on a GPU;
// KernelConfig::spreadsZeroTail, ZeroTail.h spreadTailBlocks,
// spa/Planning/TailSpread.h): where a kernel runs one item a block and its
// zero tail keeps blocks of its own, launch block b runs list block
// spreadTailBlock(b) (after the lead, r = b - lead of T positions: the
// tail's z0-th block where floor((r + 1) Z / T) > z0 = floor(r Z / T), else
// the items' (lead + r - z0)-th), and everything after reads that index.
// The grids stay. Same layers as zero-tail.mlir: items 6 and 7 of 8 are the
// tail (K = 6, Z = 2, T = 8, no lead without a first-wave stagger), so
// launch blocks 3 and 7 run the tail.
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-spread=true" -canonicalize -split-input-file | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-spread=true score-grads=recompute" -canonicalize -split-input-file | FileCheck %s --check-prefix=RECOMPUTE
// RUN: spa-opt %s -convert-spa-to-gpu -canonicalize -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-spread=false" -canonicalize -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-spread=true forward-schedule=ws" -canonicalize -split-input-file | FileCheck %s --check-prefix=WS
// RUN: spa-opt %s -convert-spa-to-gpu="zero-tail-spread=true zero-tail-with-items=false zero-tail-items=2" -canonicalize -split-input-file | FileCheck %s --check-prefix=GROUPED
// RUN: not spa-opt %s -convert-spa-to-gpu="zero-tail-spread=true zero-tail-with-items=true" 2>&1 | FileCheck %s --check-prefix=BOTH
// RUN: not spa-opt %s -convert-spa-to-gpu="zero-tail-spread=maybe" 2>&1 | FileCheck %s --check-prefix=BADVALUE
// BOTH: zero-tail-spread = true orders the zero tail's own blocks, zero-tail-with-items = true gives it none: use one of them
// BADVALUE: for the --zero-tail-spread option: Cannot find option named 'maybe'!

// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c8, %c1, %c1)
// CHECK-LABEL: gpu.func @spa_attention_0(
// CHECK: %[[BLOCK:.*]] = gpu.block_id x
// CHECK-NEXT: %[[RZ:.*]] = arith.muli %[[BLOCK]], %c2 : index
// CHECK-NEXT: %[[BEFORE:.*]] = arith.divui %[[RZ]], %c8 : index
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi %[[BLOCK]], %c1 : index
// CHECK-NEXT: %[[NZ:.*]] = arith.muli %[[NEXT]], %c2 : index
// CHECK-NEXT: %[[THROUGH:.*]] = arith.divui %[[NZ]], %c8 : index
// CHECK-NEXT: %[[KEYED:.*]] = arith.subi %[[BLOCK]], %[[BEFORE]] : index
// CHECK-NEXT: %[[TAIL:.*]] = arith.addi %[[BEFORE]], %c6 : index
// CHECK-NEXT: %[[IS_TAIL:.*]] = arith.cmpi sgt, %[[THROUGH]], %[[BEFORE]] : index
// CHECK-NEXT: %[[ITEM:.*]] = arith.select %[[IS_TAIL]], %[[TAIL]], %[[KEYED]] : index
// CHECK: memref.load %arg6[%[[ITEM]], %c0] : memref<8x3xi32>
// CHECK: arith.cmpi sge, %[[ITEM]], %c6 : index

// auto (the default) and false: the block index itself, the tail last.
// OFF: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c8, %c1, %c1)
// OFF-LABEL: gpu.func @spa_attention_0(
// OFF: %[[BLOCK:.*]] = gpu.block_id x
// OFF-NOT: arith.divui %{{.*}}, %c8
// OFF: memref.load %arg6[%[[BLOCK]], %c0] : memref<8x3xi32>
// OFF: arith.cmpi sge, %[[BLOCK]], %c6 : index

// The persistent warp-specialised forward keeps its order (no tail blocks
// of its own to place).
// WS-LABEL: gpu.func @spa_attention_0(
// WS-NOT: arith.cmpi sgt
// WS: arith.cmpi sge, %{{.*}}, %c6 : index
func.func @forward(%q: memref<1x2x256x64xbf16>, %k: memref<1x2x256x64xbf16>, %v: memref<1x2x256x64xbf16>, %o: memref<1x2x256x64xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v : memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>)
      outs(%o, %l : memref<1x2x256x64xbf16>, memref<1x2x256xf32>)
  return
}

// -----

// The gradient (stored dS): the classic dK/dV kernel's tail (key tiles 2
// and 3 of head 1) and the dq_stored kernel's (query tiles 0 and 1 of head
// 1, otherwise empty walks at the end) both spread: 8 blocks each, the
// same line; dq_stored's tail blocks store their own dQ zeros.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv blocks in (%c8, %c1, %c1)
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_stored blocks in (%c8, %c1, %c1)
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// CHECK: %[[IS_TAIL:.*]] = arith.cmpi sgt, %{{.*}}, %{{.*}} : index
// CHECK-NEXT: %[[ITEM:.*]] = arith.select %[[IS_TAIL]], %{{.*}}, %{{.*}} : index
// CHECK: arith.cmpi sge, %{{.*}}, %c6 : index
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dq_stored(
// CHECK: %[[IS_TAIL:.*]] = arith.cmpi sgt, %{{.*}}, %{{.*}} : index
// CHECK-NEXT: %[[ITEM:.*]] = arith.select %[[IS_TAIL]], %{{.*}}, %{{.*}} : index
// CHECK: arith.cmpi sge, %{{.*}}, %c6 : index
// CHECK: scf.if
// CHECK: vector.store %{{.*}}, %arg2[%{{.*}}] {alignment = 16 : i64} : memref<1x2x256x128xbf16>, vector<8xbf16>

// The recomputing dQ kernel spreads its tail too (dQ zeros, Delta 0).
// RECOMPUTE: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq blocks in (%c8, %c1, %c1)
// RECOMPUTE-LABEL: gpu.func @spa_attention_grad_0_dq(
// RECOMPUTE: %[[IS_TAIL:.*]] = arith.cmpi sgt, %{{.*}}, %{{.*}} : index
// RECOMPUTE-NEXT: arith.select %[[IS_TAIL]], %{{.*}}, %{{.*}} : index
// RECOMPUTE: arith.cmpi sge, %{{.*}}, %c6 : index

// A grouped tail (2 items a block: 6 + 1 blocks) is spread as one block:
// Z = 1 of T = 7.
// GROUPED: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv blocks in (%c7, %c1, %c1)
// GROUPED-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// GROUPED: arith.divui %{{.*}}, %c7 : index

// The defaults: no dq_stored tail (its items without keys walk nothing).
// OFF: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv blocks in (%c8, %c1, %c1)
// OFF-LABEL: gpu.func @spa_attention_grad_0_dq_stored(
// OFF-NOT: arith.cmpi sge, %{{.*}}, %c6 : index
// OFF: gpu.return
func.func @grad(%q: memref<1x2x256x128xbf16>, %k: memref<1x2x256x128xbf16>, %v: memref<1x2x256x128xbf16>, %o: memref<1x2x256x128xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256xf32>, memref<1x2x256x128xbf16>)
      outs(%q, %k, %v : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>)
  return
}
