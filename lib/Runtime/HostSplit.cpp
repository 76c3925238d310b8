//===- HostSplit.cpp - split an outlined module into host and kernels -----===//

#include "spa/Runtime/HostSplit.h"
#include "spa/Dialect/Spa/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::spa;

std::vector<std::string> mlir::spa::outlinedFunctions(ModuleOp module) {
  std::vector<std::string> names;
  for (auto fn : module.getOps<func::FuncOp>())
    if (fn->hasAttr(kOutlinedAttrName))
      names.push_back(fn.getSymName().str());
  return names;
}

/// The func.func `name` of `module` with a body, or null and `error`.
static func::FuncOp definedFunction(ModuleOp module, const std::string &name,
                                    std::string &error) {
  auto fn = module.lookupSymbol<func::FuncOp>(name);
  if (!fn || fn.isExternal()) {
    error = "no function @" + name + " with a body in the module";
    return nullptr;
  }
  return fn;
}

OwningOpRef<ModuleOp> mlir::spa::extractFunctions(ModuleOp module,
                                                  ArrayRef<std::string> names,
                                                  std::string &error) {
  OpBuilder b(module.getContext());
  OwningOpRef<ModuleOp> result = ModuleOp::create(b, module.getLoc());
  b.setInsertionPointToEnd(result->getBody());
  for (const std::string &name : names) {
    func::FuncOp fn = definedFunction(module, name, error);
    if (!fn)
      return nullptr;
    auto copy = cast<func::FuncOp>(b.clone(*fn));
    copy.setPublic();
  }
  return result;
}

LogicalResult mlir::spa::declareExternal(ModuleOp module,
                                         ArrayRef<std::string> names,
                                         std::string &error) {
  for (const std::string &name : names) {
    func::FuncOp fn = definedFunction(module, name, error);
    if (!fn)
      return failure();
    fn.getBody().getBlocks().clear();
    fn.setPrivate();
    fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                UnitAttr::get(module.getContext()));
  }
  return success();
}
