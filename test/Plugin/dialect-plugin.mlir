// Debian's mlir-opt (the same shared MLIR) loads the spa dialect from our
// plugin and round-trips it; without the plugin it must reject the op.
// RUN: mlir-opt %s --load-dialect-plugin=%spa_lib_dir/SpaPlugin.so | FileCheck %s
// RUN: not mlir-opt %s 2>&1 | FileCheck %s --check-prefix=NOPLUGIN
// RUN: mlir-opt %s --load-dialect-plugin=%spa_lib_dir/SpaPlugin.so --load-pass-plugin=%spa_lib_dir/SpaPlugin.so --mlir-print-op-generic | spa-opt | FileCheck %s

// NOPLUGIN: Dialect `spa' not found
// CHECK-LABEL: func.func @layer
// CHECK: spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
func.func @layer(%q: tensor<1x2x8x16xf16>, %o: tensor<1x2x8x16xf16>) -> tensor<1x2x8x16xf16> {
  %0 = spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q : tensor<1x2x8x16xf16>, tensor<1x2x8x16xf16>, tensor<1x2x8x16xf16>)
      outs(%o : tensor<1x2x8x16xf16>) -> tensor<1x2x8x16xf16>
  return %0 : tensor<1x2x8x16xf16>
}
