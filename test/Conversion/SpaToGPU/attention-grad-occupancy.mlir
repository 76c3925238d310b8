// The wgmma dQ kernel at D = Dv = 64, warps 4, tile-k 64 asks ptxas for
// three blocks an SM (nvvm.minctasm -> .minnctapersm 3): it then fits in
// 164 registers without spills instead of 216 (two blocks), 13% faster on
// the H200 (docs/benchmarks.md). The classic dK/dV kernel keeps ptxas's
// choice (it spills at three; the warp-specialised one, auto at this shape,
// asks for one block, attention-grad-ws.mlir), and other shapes, mma.sync
// and deterministic=false are unchanged.
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="mma=wgmma backward-schedule=classic" | FileCheck %s
// RUN: spa-opt %s -split-input-file --spa-to-nvvm="mma=wgmma backward-schedule=classic format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="mma=mma.sync" | FileCheck %s --check-prefix=SYNC
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="mma=wgmma deterministic=false backward-schedule=classic" | FileCheck %s --check-prefix=ATOMIC

// CHECK-LABEL: gpu.module @spa_kernels
// CHECK: gpu.func @spa_attention_grad_0_dq
// CHECK-SAME: nvvm.minctasm = 3 : i32
// CHECK: gpu.func @spa_attention_grad_0_dkdv
// CHECK-NOT: nvvm.minctasm
// PTX: .entry spa_attention_grad_0_dq(
// PTX: .maxntid 128, 1, 1
// PTX-NEXT: .minnctapersm 3
// PTX: .entry spa_attention_grad_0_dkdv(
// PTX-NOT: .minnctapersm
// SYNC-NOT: nvvm.minctasm
// ATOMIC-NOT: nvvm.minctasm
func.func @d64(%q: memref<1x2x100x64xbf16>, %k: memref<1x1x100x64xbf16>, %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%q, %k, %v : memref<1x2x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x1x100x64xbf16>)
  return
}

// -----

// D = 128: two blocks an SM by shared memory anyway; no request.
// CHECK-LABEL: gpu.module @spa_kernels
// CHECK-NOT: nvvm.minctasm
// PTX-NOT: .minnctapersm
func.func @d128(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x128xbf16>, %o: memref<1x2x100x128xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x2x100x128xbf16>, memref<1x2x100xf32>, memref<1x2x100x128xbf16>)
      outs(%q, %k, %v : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x128xbf16>)
  return
}
