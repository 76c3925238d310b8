// score-grads=store where the stored-dS backward does not apply is a
// located error naming what is missing (never a silent fall back to the
// recomputing dQ kernel).
// RUN: spa-opt %s -split-input-file -verify-diagnostics -convert-spa-to-gpu="score-grads=store"
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="score-grads=store tma=false" 2>&1 | FileCheck %s --check-prefix=NOTMA
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="score-grads=store deterministic=false" 2>&1 | FileCheck %s --check-prefix=ATOMIC
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="score-grads=store warps=8" 2>&1 | FileCheck %s --check-prefix=WARPS
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="score-grads=store tile-k=32" 2>&1 | FileCheck %s --check-prefix=TILEK
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="score-grads=store backward-schedule=ws" 2>&1 | FileCheck %s --check-prefix=WS
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="score-grads=store chip=sm_80" 2>&1 | FileCheck %s --check-prefix=SM80
// RUN: not spa-opt %s -convert-spa-to-gpu="score-grads=stored" 2>&1 | FileCheck %s --check-prefix=BADVALUE
// RUN: not spa-opt %s -convert-spa-to-gpu="stored-dq-rows=96" 2>&1 | FileCheck %s --check-prefix=ROWS
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="stored-dq-rows=128 score-grads=recompute" 2>&1 | FileCheck %s --check-prefix=ROWSRECOMPUTE
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="score-grad-layout=compact score-grads=recompute" 2>&1 | FileCheck %s --check-prefix=LAYOUTRECOMPUTE
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="score-grad-layout=padded score-grads=recompute" 2>&1 | FileCheck %s --check-prefix=PADDEDRECOMPUTE
// RUN: not spa-opt %s -convert-spa-to-gpu="score-grad-layout=dense" 2>&1 | FileCheck %s --check-prefix=BADLAYOUT
// RUN: not spa-opt %s -convert-spa-to-gpu="score-grad-prefetch=17" 2>&1 | FileCheck %s --check-prefix=PREFETCHRANGE
// RUN: not spa-opt %s -convert-spa-to-gpu="score-grad-prefetch=-1" 2>&1 | FileCheck %s --check-prefix=PREFETCHNEGATIVE
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="score-grad-prefetch=4 score-grads=recompute" 2>&1 | FileCheck %s --check-prefix=PREFETCHRECOMPUTE
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="score-grad-warp-stores=true score-grads=recompute" 2>&1 | FileCheck %s --check-prefix=WARPSTORESRECOMPUTE
// RUN: not spa-opt %s -convert-spa-to-gpu="score-grad-warp-stores=always" 2>&1 | FileCheck %s --check-prefix=BADWARPSTORES
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="interleaved-dq=true score-grads=recompute" 2>&1 | FileCheck %s --check-prefix=INTERLEAVEDRECOMPUTE
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="interleaved-dq=true score-grads=store stored-dq-rows=128" 2>&1 | FileCheck %s --check-prefix=INTERLEAVEDROWS
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="interleaved-dq=true" 2>&1 | FileCheck %s --check-prefix=INTERLEAVEDAUTO
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="interleaved-dq-lag=-1" 2>&1 | FileCheck %s --check-prefix=INTERLEAVEDLAG
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="interleaved-dq-stages=5" 2>&1 | FileCheck %s --check-prefix=INTERLEAVEDSTAGES
// RUN: not spa-opt %s -convert-spa-to-gpu="interleaved-dq=sometimes" 2>&1 | FileCheck %s --check-prefix=BADINTERLEAVED

// NOTMA: error: 'spa.attention_grad' op score-grads = store needs TMA loads (tma = true and buffers a tensor map describes); got chip = sm_90a, mma = auto, tma = false, deterministic = true, warps = 4, tile-k = 64, D = 64, Dv = 64; use score-grads = recompute
// ATOMIC: error: {{.*}} score-grads = store needs deterministic = true; got {{.*}} deterministic = false,
// WARPS: error: {{.*}} score-grads = store needs 64 x 64 tiles (warps = 4, tile-k = 64); got {{.*}} warps = 8, tile-k = 64, D = 64, Dv = 64;
// TILEK: error: {{.*}} score-grads = store needs 64 x 64 tiles (warps = 4, tile-k = 64); got {{.*}} warps = 4, tile-k = 32, D = 64, Dv = 64;
// WS: error: {{.*}} score-grads = store needs the classic dK/dV kernel (backward-schedule = auto or classic); got
// SM80: error: {{.*}} score-grads = store needs the wgmma backward (chip = sm_90a, mma = auto or wgmma, f16/bf16); got chip = sm_80,
// BADVALUE: for the --score-grads option: Cannot find option named 'stored'!
// ROWS: error: convert-spa-to-gpu: stored-dq-rows must be 0 (auto), 64 or 128; got 96
// ROWSRECOMPUTE: error: 'spa.attention_grad' op stored-dq-rows = 128 applies to the stored dS (score-grads = store or auto); got score-grads = recompute
// LAYOUTRECOMPUTE: error: 'spa.attention_grad' op score-grad-layout = compact applies to the stored dS (score-grads = store or auto); got score-grads = recompute
// PADDEDRECOMPUTE: error: 'spa.attention_grad' op score-grad-layout = padded applies to the stored dS (score-grads = store or auto); got score-grads = recompute
// BADLAYOUT: for the --score-grad-layout option: Cannot find option named 'dense'!
// PREFETCHRANGE: error: convert-spa-to-gpu: score-grad-prefetch must be 0 (off) to 16 tiles; got 17
// PREFETCHNEGATIVE: error: convert-spa-to-gpu: score-grad-prefetch must be 0 (off) to 16 tiles; got -1
// PREFETCHRECOMPUTE: error: 'spa.attention_grad' op score-grad-prefetch = 4 applies to the stored dS (score-grads = store or auto); got score-grads = recompute
// WARPSTORESRECOMPUTE: error: 'spa.attention_grad' op score-grad-warp-stores applies to the stored dS (score-grads = store or auto); got score-grads = recompute
// BADWARPSTORES: for the --score-grad-warp-stores option: '{{.*}}always{{.*}}' is invalid value for boolean argument
// INTERLEAVEDRECOMPUTE: error: 'spa.attention_grad' op interleaved-dq needs the stored dS, and this op's backward recomputes it (score-grads = recompute); use score-grads = store
// INTERLEAVEDAUTO: error: 'spa.attention_grad' op interleaved-dq needs the stored dS, and this op's backward recomputes it (score-grads = auto); use score-grads = store
// INTERLEAVEDROWS: error: 'spa.attention_grad' op interleaved-dq runs 64-row dQ items (one warpgroup, as the dK/dV kernel's block); got stored-dq-rows = 128
// INTERLEAVEDLAG: error: 'spa.attention_grad' op interleaved-dq-lag must be 0 or more, got -1
// INTERLEAVEDSTAGES: error: 'spa.attention_grad' op interleaved-dq-stages must be 2, 3 or 4, got 5
// BADINTERLEAVED: for the --interleaved-dq option: '{{.*}}sometimes{{.*}}' is invalid value for boolean argument

// D = 64: every condition but the ones the RUN lines break holds.
func.func @ok_shape(%q: memref<1x2x64x64xbf16>, %l: memref<1x2x64xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64xf32>, memref<1x2x64x64xbf16>)
      outs(%q, %q, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>)
  return
}

// -----

// D = 192: mma = auto takes mma.sync, which has no stored form.
func.func @d192(%q: memref<1x2x64x192xbf16>, %l: memref<1x2x64xf32>) {
  // expected-error @+1 {{score-grads = store needs the wgmma backward (chip = sm_90a, mma = auto or wgmma, f16/bf16); got chip = sm_90a, mma = auto, tma = true, deterministic = true, warps = 4, tile-k = 64, D = 192, Dv = 192; use score-grads = recompute}}
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x64x192xbf16>, memref<1x2x64x192xbf16>, memref<1x2x64x192xbf16>, memref<1x2x64x192xbf16>, memref<1x2x64xf32>, memref<1x2x64x192xbf16>)
      outs(%q, %q, %q : memref<1x2x64x192xbf16>, memref<1x2x64x192xbf16>, memref<1x2x64x192xbf16>)
  return
}

// -----

// A scratch past 2^31 - 1 tiles (dense_causal-like heads, N = 2^20, Q =
// 16385 query tiles a key tile): a forced store is a located error at
// once (auto recomputes: attention-grad-score-grads-empty.mlir's rule).
func.func @huge(%q: memref<1x8x1048576x128xbf16>, %l: memref<1x8x1048576xf32>) {
  // expected-error @+1 {{score-grads = store: the dS scratch would hold more than 2147483647 tiles of 64 x 64}}
  spa.attention_grad bands(#spa.bands<causal, [0:1048576], [0:1048576], [0:1048576], [0:1048576], [0:1048576], [0:1048576], [0:1048576], [0:1048576]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x8x1048576x128xbf16>, memref<1x8x1048576x128xbf16>, memref<1x8x1048576x128xbf16>, memref<1x8x1048576x128xbf16>, memref<1x8x1048576xf32>, memref<1x8x1048576x128xbf16>)
      outs(%q, %q, %q : memref<1x8x1048576x128xbf16>, memref<1x8x1048576x128xbf16>, memref<1x8x1048576x128xbf16>)
  return
}
