//===- OutlineAttention.cpp - one attention op per function ---------------===//
//
// -spa-outline-attention: moves every spa.attention / spa.attention_grad of
// a function @f into `func.func private @f_attention_<i>` and calls it
// where the op was. spa's CUDA target compiles each such function into its
// own artifact and the host code around it for the CPU; an IREE user can
// route the calls to an external dispatch the same way.
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Dialect/Spa/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::spa {
#define GEN_PASS_DEF_SPAOUTLINEATTENTION
#include "spa/Dialect/Spa/Transforms/Passes.h.inc"
} // namespace mlir::spa

using namespace mlir;
using namespace mlir::spa;

namespace {

/// The op's tensor inputs (what the outlined function takes, in operand
/// order) and, per destination, the input whose leading dimensions it
/// shares (B and N come from there when dynamic; heads and feature sizes
/// are static).
struct Operands {
  SmallVector<OpOperand *> inputs;
  SmallVector<unsigned> shapeSources; ///< indices into `inputs`
};

Operands operandsOf(Operation *op) {
  if (auto forward = dyn_cast<AttentionOp>(op)) {
    Operands operands{{&forward.getQueryMutable(), &forward.getKeyMutable(),
                       &forward.getValueMutable()},
                      {}};
    // Output [B, Hq, Nq, Dv] and log-sum-exp [B, Hq, Nq]: B, Nq of query.
    operands.shapeSources.assign(forward.getOutputs().size(), 0);
    return operands;
  }
  auto grad = cast<AttentionGradOp>(op);
  return {{&grad.getQueryMutable(), &grad.getKeyMutable(),
           &grad.getValueMutable(), &grad.getOutputMutable(),
           &grad.getLogSumExpMutable(), &grad.getOutputGradMutable()},
          // dq, dk, dv are shaped like query, key, value.
          {0, 1, 2}};
}

/// Why `op` cannot be outlined, as a located error; success otherwise.
LogicalResult checkOutlinable(Operation *op, ModuleOp module) {
  auto fn = op->getParentOfType<func::FuncOp>();
  if (!fn || fn->getParentOp() != module)
    return op->emitOpError()
           << "is not inside a func.func of the module: "
              "spa-outline-attention outlines from top-level functions only";
  bool onTensors = isa<AttentionOp>(op)
                       ? cast<AttentionOp>(op).hasPureTensorSemantics()
                       : cast<AttentionGradOp>(op).hasPureTensorSemantics();
  if (!onTensors)
    return op->emitOpError()
           << "works on memrefs: spa-outline-attention needs tensor "
              "semantics (run it before bufferization)";
  Value bounds = isa<AttentionOp>(op)
                     ? cast<AttentionOp>(op).getBandBounds()
                     : cast<AttentionGradOp>(op).getBandBounds();
  if (bounds)
    return op->emitOpError()
           << "has run-time band_bounds: run spa-outline-attention before "
              "spa-balance-bands (the outlined function resolves its own "
              "policy)";
  return success();
}

/// `tensor.empty` of `type` with its dynamic sizes read from `source`.
Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type,
                Value source) {
  SmallVector<Value> sizes;
  for (auto [dim, size] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(size))
      sizes.push_back(tensor::DimOp::create(b, loc, source, dim));
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(),
                                 sizes);
}

/// Moves `op` of function `parent` into a new private function `name`,
/// inserted after `after`, and replaces it by a call; returns the function.
func::FuncOp outline(Operation *op, StringRef name, Operation *after,
                     SymbolTable &symbols) {
  Location loc = op->getLoc();
  Operands operands = operandsOf(op);
  SmallVector<Value> inputs;
  for (OpOperand *input : operands.inputs)
    inputs.push_back(input->get());
  auto type = FunctionType::get(op->getContext(), ValueRange(inputs).getTypes(),
                                op->getResultTypes());
  OpBuilder b(after);
  b.setInsertionPointAfter(after);
  auto fn = func::FuncOp::create(b, loc, name, type);
  fn.setPrivate();
  fn->setAttr(kOutlinedAttrName, b.getUnitAttr());
  symbols.insert(fn); // already in place; the name was checked free

  // The clone's operands are set one by one, not through a value mapping:
  // one value may be several inputs (k == v) or an input and a
  // destination, yet each operand must read its own argument. Until then
  // the clone refers to the outer values.
  Block *body = fn.addEntryBlock();
  b.setInsertionPointToStart(body);
  Operation *clone = b.clone(*op);
  b.setInsertionPoint(clone);
  for (auto [input, arg] : llvm::zip(operands.inputs, body->getArguments()))
    clone->getOpOperand(input->getOperandNumber()).set(arg);
  // The op overwrites its destinations: fresh tensors of their types.
  llvm::SetVector<Operation *> oldInits;
  for (auto [operand, source] :
       llvm::zip(cast<DestinationStyleOpInterface>(clone).getDpsInitsMutable(),
                 operands.shapeSources)) {
    if (Operation *def = operand.get().getDefiningOp())
      oldInits.insert(def);
    operand.set(emptyLike(b, loc,
                          cast<RankedTensorType>(operand.get().getType()),
                          body->getArgument(source)));
  }
  b.setInsertionPointToEnd(body);
  func::ReturnOp::create(b, loc, clone->getResults());

  b.setInsertionPoint(op);
  auto call = func::CallOp::create(b, loc, fn, inputs);
  op->replaceAllUsesWith(call.getResults());
  op->erase();
  // The destinations' tensor.empty ops are dead now (others stay).
  for (Operation *def : oldInits)
    if (isa<tensor::EmptyOp>(def) && def->use_empty())
      def->erase();
  return fn;
}

struct OutlineAttentionPass
    : public mlir::spa::impl::SpaOutlineAttentionBase<OutlineAttentionPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<Operation *, func::FuncOp>> work;
    bool failedAny = false;
    module.walk([&](BandedAttentionOpInterface banded) {
      Operation *op = banded.getOperation();
      auto fn = op->getParentOfType<func::FuncOp>();
      if (fn && fn->hasAttr(kOutlinedAttrName))
        return; // outlined by an earlier run
      if (failed(checkOutlinable(op, module))) {
        failedAny = true;
        return;
      }
      work.push_back({op, fn});
    });
    if (failedAny)
      return signalPassFailure();

    SymbolTable symbols(module);
    // Per function: the next index to try, and the last function outlined
    // from it (new ones follow in op order, right after their caller).
    llvm::DenseMap<Operation *, std::pair<unsigned, Operation *>> state;
    for (auto [op, fn] : work) {
      auto [it, inserted] = state.try_emplace(fn, 0u, fn.getOperation());
      unsigned &index = it->second.first;
      std::string name;
      do {
        name = (fn.getSymName() + "_attention_" + Twine(index++)).str();
      } while (symbols.lookup(name));
      it->second.second = outline(op, name, it->second.second, symbols);
    }
  }
};

} // namespace
