//===- spa-opt.cpp - the spa optimizer driver -----------------------------===//
//
// mlir-opt with the spa dialect, passes and pipelines added: every upstream
// dialect and pass is available too, so whole lowering pipelines can be run
// and inspected stage by stage.
//
//===----------------------------------------------------------------------===//

#include "spa/Registration/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates kernels to LLVM IR inside the pipeline.
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::registerAllPasses();
  mlir::spa::registerAllSpaDialects(registry);
  mlir::spa::registerAllSpaPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "spa optimizer driver (banded multi-head attention)\n",
      registry));
}
