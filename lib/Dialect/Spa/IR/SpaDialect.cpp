//===- SpaDialect.cpp - spa dialect registration --------------------------===//
//
// Registers the spa dialect's attributes and ops, and the external models
// (bufferization) that let `spa.attention` move from tensors to memrefs.
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Dialect/Spa/IR/BufferizableOpInterfaceImpl.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::spa;

#include "spa/Dialect/Spa/IR/SpaOpsDialect.cpp.inc"

void SpaDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "spa/Dialect/Spa/IR/SpaOps.cpp.inc"
      >();
}

void mlir::spa::registerSpaDialect(DialectRegistry &registry) {
  registry.insert<SpaDialect>();
  registerBufferizableOpInterfaceExternalModels(registry);
}
