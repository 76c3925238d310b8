//===- InitAll.cpp - register everything spa provides ---------------------===//

#include "spa/Registration/InitAll.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Dialect/Spa/Transforms/Passes.h"
#include "spa/Conversion/Passes.h"
#include "spa/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::spa::registerAllSpaDialects(DialectRegistry &registry) {
  registerSpaDialect(registry);
}

void mlir::spa::registerAllSpaPasses() {
  registerSpaPasses();
  registerSpaConversionPasses();
  registerSpaPipelines();
}

void mlir::spa::registerCompilerDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registerAllSpaDialects(registry);
}

void mlir::spa::registerCompilerPasses() {
  registerAllPasses();
  registerAllSpaPasses();
}
