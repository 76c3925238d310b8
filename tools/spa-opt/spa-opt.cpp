//===- spa-opt.cpp - the spa optimizer driver -----------------------------===//
//
// mlir-opt with the spa dialect, passes and pipelines added: every upstream
// dialect and pass is available too, so whole lowering pipelines can be run
// and inspected stage by stage.
//
//===----------------------------------------------------------------------===//

#include "spa/Registration/InitAll.h"
#include "spa/Version.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  // Every upstream dialect, extension and LLVM IR translation
  // (gpu-module-to-binary needs them), every pass, and spa's.
  mlir::spa::registerCompilerDialects(registry);
  mlir::spa::registerCompilerPasses();
  mlir::spa::setToolVersionPrinter("spa-opt");
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "spa optimizer driver (banded multi-head attention)\n",
      registry));
}
