//===- SpaPlugin.cpp - spa as an mlir-opt plugin --------------------------===//
//
// Lets any tool built on the same shared MLIR (Debian's mlir-opt included)
// load the spa dialect with --load-dialect-plugin and spa's passes with
// --load-pass-plugin.
//
//===----------------------------------------------------------------------===//

#include "spa/Registration/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Compiler.h"

extern "C" LLVM_ATTRIBUTE_WEAK mlir::DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "Spa", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) {
            mlir::spa::registerAllSpaDialects(*registry);
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "SpaPasses", LLVM_VERSION_STRING,
          []() { mlir::spa::registerAllSpaPasses(); }};
}
