// A band no row reaches (causal distances [100, 200) at N = 64): auto
// recomputes (nothing to store), and a forced store still gets a scratch of
// one tile (the launcher refuses an empty, null buffer; no kernel touches
// it).
// RUN: spa-opt %s -convert-spa-to-gpu -canonicalize | FileCheck %s --check-prefix=AUTO
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store" -canonicalize | FileCheck %s --check-prefix=STORE

// AUTO-NOT: score_grad
// AUTO: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq
// AUTO-NEXT: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv

// STORE: gpu.alloc () : memref<1x4096xbf16>
// STORE: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_stored

func.func @f(%q: memref<1x2x64x128xbf16>, %l: memref<1x2x64xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [100:200], [100:200]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x64x128xbf16>, memref<1x2x64x128xbf16>, memref<1x2x64x128xbf16>, memref<1x2x64x128xbf16>, memref<1x2x64xf32>, memref<1x2x64x128xbf16>)
      outs(%q, %q, %q : memref<1x2x64x128xbf16>, memref<1x2x64x128xbf16>, memref<1x2x64x128xbf16>)
  return
}
