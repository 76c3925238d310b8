// spa's passes and pipelines in Debian's mlir-opt through SpaPlugin.so work
// only inside a textual pipeline (--pass-pipeline=... or its short form -p):
// mlir-opt builds its --<pass-name> flags before --load-pass-plugin loads the
// plugin, so `--spa-balance-bands` is an unknown argument there (FLAG pins
// that; if an MLIR upgrade lifts it, update README.md and docs/design.md).
// RUN: mlir-opt %s --load-dialect-plugin=%spa_lib_dir/SpaPlugin.so --load-pass-plugin=%spa_lib_dir/SpaPlugin.so --pass-pipeline="builtin.module(spa-balance-bands{policy=exclusive_equal})" | FileCheck %s --check-prefix=BALANCE
// RUN: mlir-opt %s --load-dialect-plugin=%spa_lib_dir/SpaPlugin.so --load-pass-plugin=%spa_lib_dir/SpaPlugin.so -p "builtin.module(spa-balance-bands, convert-spa-to-linalg)" | FileCheck %s --check-prefix=LINALG
// RUN: mlir-opt %s --load-dialect-plugin=%spa_lib_dir/SpaPlugin.so --load-pass-plugin=%spa_lib_dir/SpaPlugin.so --pass-pipeline="builtin.module(spa-to-llvm-cpu{tile-q=4 tile-k=4})" | FileCheck %s --check-prefix=PIPELINE
// RUN: not mlir-opt %s --load-dialect-plugin=%spa_lib_dir/SpaPlugin.so --load-pass-plugin=%spa_lib_dir/SpaPlugin.so --spa-balance-bands 2>&1 | FileCheck %s --check-prefix=FLAG

// BALANCE: spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
// LINALG-NOT: spa.attention
// LINALG: scf.for
// PIPELINE-NOT: spa.attention
// PIPELINE: llvm.func @layer
// FLAG: Unknown command line argument '--spa-balance-bands'

func.func @layer(%q: tensor<1x2x8x16xf32>, %o: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %0 = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %q, %q : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
      outs(%o : tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %0 : tensor<1x2x8x16xf32>
}
