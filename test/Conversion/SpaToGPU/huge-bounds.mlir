// Interval bounds near INT64_MAX are clamped to the distances that exist
// (< max(Nq, Nk)) before they reach the kernel's i32 bounds table, so they
// neither wrap nor overflow the key-range arithmetic.
// RUN: spa-opt %s -convert-spa-to-gpu="mma=mma.sync" | FileCheck %s

// CHECK: memref.global "private" constant @spa_attention_0_bounds : memref<2x1x2xi32> = dense<{{\[\[\[}}0, 96]], {{\[\[}}5, 96]]]>
// CHECK: bounds = array<i32: 0, 96, 5, 96>
func.func @layer(%q: memref<1x2x64x64xbf16>, %k: memref<1x1x96x64xbf16>,
                 %v: memref<1x1x96x64xbf16>, %o: memref<1x2x64x64xbf16>) {
  spa.attention bands(#spa.bands<bidirectional, [0:9223372036854775807], [5:9223372036854775806]>)
      ins(%q, %k, %v : memref<1x2x64x64xbf16>, memref<1x1x96x64xbf16>, memref<1x1x96x64xbf16>)
      outs(%o : memref<1x2x64x64xbf16>)
  return
}
