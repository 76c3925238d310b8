//===- SpaDialect.cpp - spa dialect registration --------------------------===//
//
// Registers the spa dialect's attributes and ops, the inliner interface (so
// `inline` can fold a function around a `spa.attention`, as the torch-mlir
// import makes, into its caller), and the external models (bufferization)
// that let `spa.attention` move from tensors to memrefs.
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Dialect/Spa/IR/BufferizableOpInterfaceImpl.h"

#include "mlir/IR/DialectImplementation.h"
#include "mlir/Transforms/InliningUtils.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::spa;

#include "spa/Dialect/Spa/IR/SpaOpsDialect.cpp.inc"

namespace {
/// spa's ops are pure functions of their operands (destination style, no
/// regions), so any of them may move into a caller.
struct SpaInlinerInterface : public DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool,
                       IRMapping &) const final {
    return true;
  }
};
} // namespace

void SpaDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "spa/Dialect/Spa/IR/SpaOps.cpp.inc"
      >();
  addInterfaces<SpaInlinerInterface>();
}

void mlir::spa::registerSpaDialect(DialectRegistry &registry) {
  registry.insert<SpaDialect>();
  registerBufferizableOpInterfaceExternalModels(registry);
}
