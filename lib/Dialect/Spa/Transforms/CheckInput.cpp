//===- CheckInput.cpp - reject IR upstream passes crash on ----------------===//
//
// -spa-check-input: the first pass of spa's pipelines. Upstream MLIR 22's
// verifiers accept `tensor.dim` / `memref.dim` with a constant index out of
// range (undefined behaviour by the ops' documentation), and the
// canonicalizer then segfaults folding it; spa's front doors must give a
// located error instead (found by the fuzz target, test/Fuzz).
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::spa {
#define GEN_PASS_DEF_SPACHECKINPUT
#include "spa/Dialect/Spa/Transforms/Passes.h.inc"
} // namespace mlir::spa

using namespace mlir;

namespace {

/// A located error when `dim`'s constant index is outside the source's rank.
template <typename DimOp>
LogicalResult checkDimIndex(DimOp dim) {
  std::optional<int64_t> index = dim.getConstantIndex();
  auto type = dyn_cast<ShapedType>(dim.getSource().getType());
  if (!index || !type || !type.hasRank())
    return success();
  if (*index >= 0 && *index < type.getRank())
    return success();
  return dim.emitOpError() << "index " << *index
                           << " is out of range for a rank-"
                           << type.getRank() << " operand (valid: 0.."
                           << type.getRank() - 1 << ")";
}

struct CheckInputPass
    : public mlir::spa::impl::SpaCheckInputBase<CheckInputPass> {
  void runOnOperation() override {
    WalkResult result = getOperation()->walk([](Operation *op) {
      LogicalResult ok = success();
      if (auto dim = dyn_cast<tensor::DimOp>(op))
        ok = checkDimIndex(dim);
      else if (auto dim = dyn_cast<memref::DimOp>(op))
        ok = checkDimIndex(dim);
      return failed(ok) ? WalkResult::interrupt() : WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
