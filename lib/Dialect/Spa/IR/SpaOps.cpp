//===- SpaOps.cpp - spa.attention, spa.attention_grad, spa.band_bounds ----===//
//
// Verification and side effects of the spa ops; the two attention ops share
// one verifier. It names the operand, the dimension, the expected and the
// actual value, because users mostly meet it through shape mistakes in
// hand-written or imported IR.
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/IR/SpaDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::spa;

#include "spa/Dialect/Spa/IR/SpaInterfaces.cpp.inc"

#define GET_OP_CLASSES
#include "spa/Dialect/Spa/IR/SpaOps.cpp.inc"

namespace {
/// An operand under verification: its name in messages, its type, and the
/// symbol of each dimension (`B`, `Hq`, ...). Operands naming the same
/// symbol must agree; the first operand to name it is the reference.
struct NamedShaped {
  StringRef name;
  ShapedType type;
  ArrayRef<StringRef> dims;
  bool isLogSumExp = false;
};

const StringRef kQueryDims[] = {"B", "Hq", "Nq", "D"};
const StringRef kKeyDims[] = {"B", "Hkv", "Nk", "D"};
const StringRef kValueDims[] = {"B", "Hkv", "Nk", "Dv"};
const StringRef kOutputDims[] = {"B", "Hq", "Nq", "Dv"};
const StringRef kLogSumExpDims[] = {"B", "Hq", "Nq"};
} // namespace

static std::string dimToString(int64_t dim) {
  return ShapedType::isDynamic(dim) ? std::string("?") : std::to_string(dim);
}

/// The checks `spa.attention` and `spa.attention_grad` share: kinds, ranks,
/// element types, static and agreeing dimensions, head counts, results,
/// bands and scale. `operands[0]` is the query and `operands[1]` the key;
/// the last `numOutputs` are the destinations.
static LogicalResult
verifyBandedAttention(BandedAttentionOpInterface op,
                      ArrayRef<NamedShaped> operands, size_t numOutputs) {
  Operation *raw = op.getOperation();
  // Tensors or memrefs, ranked, never mixed.
  bool onTensors = isa<RankedTensorType>(operands[0].type);
  for (const NamedShaped &operand : operands) {
    if (!isa<RankedTensorType, MemRefType>(operand.type))
      return op->emitOpError() << operand.name
                               << ": expected a ranked tensor or memref, got "
                               << operand.type;
    if (isa<RankedTensorType>(operand.type) != onTensors)
      return op->emitOpError()
             << operand.name << " is a " << (onTensors ? "memref" : "tensor")
             << " but query is a " << (onTensors ? "tensor" : "memref")
             << "; all operands must be tensors or all memrefs";
  }

  // Ranks.
  for (const NamedShaped &operand : operands) {
    int64_t expected = operand.dims.size();
    if (operand.type.getRank() != expected)
      return op->emitOpError()
             << operand.name << ": expected rank " << expected
             << (expected == 4 ? " ([B, H, N, D])" : " ([B, Hq, Nq])")
             << ", got rank " << operand.type.getRank();
  }

  // Element types: one floating type for all but the f32 log-sum-exp.
  Type elementType = operands[0].type.getElementType();
  if (!elementType.isF16() && !elementType.isBF16() && !elementType.isF32())
    return op->emitOpError()
           << "query: unsupported element type " << elementType
           << "; expected f16, bf16 or f32";
  for (const NamedShaped &operand : operands.drop_front()) {
    Type type = operand.type.getElementType();
    if (operand.isLogSumExp && !type.isF32())
      return op->emitOpError()
             << operand.name << ": expected element type f32, got " << type;
    if (!operand.isLogSumExp && type != elementType)
      return op->emitOpError()
             << operand.name << ": element type " << type
             << " does not match query element type " << elementType;
  }

  // Dimensions that must be static: heads and head dims (from the first
  // operand naming them: query, key, value).
  llvm::StringMap<std::pair<unsigned, unsigned>> reference; // symbol -> (op, dim)
  for (auto [index, operand] : llvm::enumerate(operands))
    for (auto [dim, symbol] : llvm::enumerate(operand.dims))
      reference.try_emplace(symbol, index, dim);
  for (StringRef symbol : {"Hq", "Hkv", "D", "Dv"}) {
    auto [index, dim] = reference.lookup(symbol);
    if (operands[index].type.isDynamicDim(dim))
      return op->emitOpError() << operands[index].name << ": dimension "
                               << dim << " (" << symbol
                               << ") must be static";
  }

  // Dimension agreement with the first operand naming each symbol.
  for (const NamedShaped &operand : operands) {
    for (auto [dim, symbol] : llvm::enumerate(operand.dims)) {
      auto [refIndex, refDim] = reference.lookup(symbol);
      int64_t actual = operand.type.getDimSize(dim);
      int64_t expected = operands[refIndex].type.getDimSize(refDim);
      if (ShapedType::isDynamic(actual) || ShapedType::isDynamic(expected) ||
          actual == expected)
        continue;
      return op->emitOpError()
             << operand.name << ": dimension " << dim << " (" << symbol
             << ") is " << dimToString(actual) << ", expected "
             << dimToString(expected) << " (from " << operands[refIndex].name
             << ")";
    }
  }

  int64_t numQueryHeads = operands[0].type.getDimSize(1);
  int64_t numKvHeads = operands[1].type.getDimSize(1);
  if (numQueryHeads <= 0 || numKvHeads <= 0)
    return op->emitOpError() << "head counts must be positive, got Hq = "
                             << numQueryHeads << ", Hkv = " << numKvHeads;
  if (numQueryHeads % numKvHeads != 0)
    return op->emitOpError()
           << "query heads (Hq = " << numQueryHeads
           << ") must be a multiple of key/value heads (Hkv = " << numKvHeads
           << ")";
  if (operands[0].type.getDimSize(3) <= 0)
    return op->emitOpError() << "query: head dimension D must be positive, got "
                             << operands[0].type.getDimSize(3);

  // Results: one per destination on tensors, none on memrefs.
  ArrayRef<NamedShaped> destinations = operands.take_back(numOutputs);
  if (onTensors) {
    if (raw->getNumResults() != numOutputs)
      return op->emitOpError()
             << "on tensors expects " << numOutputs
             << " results (one per 'outs' operand), got "
             << raw->getNumResults();
    for (auto [index, result] : llvm::enumerate(raw->getResults()))
      if (result.getType() != destinations[index].type)
        return op->emitOpError()
               << "result #" << index << " type " << result.getType()
               << " does not match its 'outs' operand type "
               << destinations[index].type;
  } else if (raw->getNumResults() != 0) {
    return op->emitOpError() << "on memrefs expects no results, got "
                             << raw->getNumResults();
  }

  if (BandsAttr table = op.getBandTable())
    if (table.getNumHeads() != numQueryHeads)
      return op->emitOpError() << "band table has " << table.getNumHeads()
                               << " heads, expected " << numQueryHeads
                               << " (Hq, query dimension 1)";

  if (Value bounds = op.getBandBounds()) {
    auto policy = dyn_cast<BandPolicyAttr>(op.getBands());
    if (!policy)
      return op->emitOpError("band_bounds requires 'bands' to be the "
                             "#spa.band_policy they were computed from");
    auto boundsType = cast<ShapedType>(bounds.getType());
    if (!isa<RankedTensorType, MemRefType>(boundsType) ||
        isa<RankedTensorType>(boundsType) != onTensors)
      return op->emitOpError()
             << "band_bounds: expected a ranked "
             << (onTensors ? "tensor" : "memref")
             << " like the other operands, got " << boundsType;
    int64_t slots = BandBoundsOp::getSlotsPerHead(policy.getKind());
    if (!boundsType.getElementType().isIndex() ||
        boundsType.getShape() != ArrayRef<int64_t>{numQueryHeads, slots, 2})
      return op->emitOpError()
             << "band_bounds: expected shape [" << numQueryHeads << ", "
             << slots << ", 2] of index, got " << boundsType;
  }

  if (auto scaleAttr = raw->getAttrOfType<FloatAttr>("scale")) {
    double scale = scaleAttr.getValueAsDouble();
    if (!(scale > 0.0) || !std::isfinite(scale))
      return op->emitOpError() << "scale must be positive and finite, got "
                               << scale;
    // Scores are scaled in f32 with log2(e) folded in (both lowerings): a
    // scale that overflows there gives inf, one that underflows flattens
    // every score to 0.
    double scaleLog2 = scale * M_LOG2E;
    if (scaleLog2 > std::numeric_limits<float>::max() ||
        scaleLog2 < std::numeric_limits<float>::min())
      return op->emitOpError()
             << "scale " << scale
             << " does not fit the f32 computation: scale * log2(e) must lie "
                "in ["
             << std::numeric_limits<float>::min() << ", "
             << std::numeric_limits<float>::max() << "]";
  }
  return success();
}

BandMode BandedAttentionOpInterface::getMode() {
  if (BandsAttr table = getBandTable())
    return table.getMode();
  return cast<BandPolicyAttr>(getBands()).getMode();
}

static double defaultScale(Value query, FloatAttr scale) {
  if (scale)
    return scale.getValueAsDouble();
  int64_t headDim = cast<ShapedType>(query.getType()).getDimSize(3);
  return 1.0 / std::sqrt(static_cast<double>(headDim));
}

static ShapedType shapedOf(Value value) {
  return cast<ShapedType>(value.getType());
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

double AttentionOp::getEffectiveScale() {
  return defaultScale(getQuery(), getScaleAttr());
}

bool AttentionOp::hasPureTensorSemantics() {
  return isa<RankedTensorType>(getQuery().getType());
}

LogicalResult AttentionOp::verify() {
  size_t numOutputs = getOutputs().size();
  if (numOutputs < 1 || numOutputs > 2)
    return emitOpError("expects 1 or 2 'outs' operands (output, then "
                       "optional log-sum-exp), got ")
           << numOutputs;
  SmallVector<NamedShaped> operands = {
      {"query", shapedOf(getQuery()), kQueryDims},
      {"key", shapedOf(getKey()), kKeyDims},
      {"value", shapedOf(getValue()), kValueDims},
      {"output", shapedOf(getOutput()), kOutputDims}};
  if (numOutputs == 2)
    operands.push_back(
        {"log-sum-exp", shapedOf(getLogSumExp()), kLogSumExpDims, true});
  return verifyBandedAttention(*this, operands, numOutputs);
}

//===----------------------------------------------------------------------===//
// AttentionGradOp
//===----------------------------------------------------------------------===//

double AttentionGradOp::getEffectiveScale() {
  return defaultScale(getQuery(), getScaleAttr());
}

bool AttentionGradOp::hasPureTensorSemantics() {
  return isa<RankedTensorType>(getQuery().getType());
}

LogicalResult AttentionGradOp::verify() {
  size_t numOutputs = getOutputs().size();
  if (numOutputs != 3)
    return emitOpError("expects 3 'outs' operands (query, key and value "
                       "gradients), got ")
           << numOutputs;
  SmallVector<NamedShaped> operands = {
      {"query", shapedOf(getQuery()), kQueryDims},
      {"key", shapedOf(getKey()), kKeyDims},
      {"value", shapedOf(getValue()), kValueDims},
      {"output", shapedOf(getOutput()), kOutputDims},
      {"log-sum-exp", shapedOf(getLogSumExp()), kLogSumExpDims, true},
      {"output gradient", shapedOf(getOutputGrad()), kOutputDims},
      {"query gradient", shapedOf(getQueryGrad()), kQueryDims},
      {"key gradient", shapedOf(getKeyGrad()), kKeyDims},
      {"value gradient", shapedOf(getValueGrad()), kValueDims}};
  return verifyBandedAttention(*this, operands, numOutputs);
}

//===----------------------------------------------------------------------===//
// BandBoundsOp
//===----------------------------------------------------------------------===//

int64_t BandBoundsOp::getSlotsPerHead(BandPolicyKind kind) {
  return kind == BandPolicyKind::LocalPlusBand ? 2 : 1;
}

bool BandBoundsOp::hasRuntimeForm(BandPolicyKind kind) {
  return kind != BandPolicyKind::PairBalanced &&
         kind != BandPolicyKind::TileBalanced;
}

LogicalResult BandBoundsOp::verify() {
  BandPolicyKind kind = getPolicy().getKind();
  if (!hasRuntimeForm(kind))
    return emitOpError() << stringifyBandPolicyKind(kind)
                         << " has no run-time form; it needs a static key "
                            "length";
  RankedTensorType type = getBounds().getType();
  int64_t slots = getSlotsPerHead(kind);
  if (type.getRank() != 3 || type.isDynamicDim(0) || type.getDimSize(0) <= 0 ||
      type.getDimSize(1) != slots || type.getDimSize(2) != 2)
    return emitOpError() << "result: expected shape [H, " << slots
                         << ", 2] with static H > 0 for "
                         << stringifyBandPolicyKind(kind) << ", got " << type;
  return success();
}

//===----------------------------------------------------------------------===//
// Side effects: none on tensors; on memrefs the inputs are read and the
// destinations written.
//===----------------------------------------------------------------------===//

template <typename OpTy>
static void getDestinationStyleEffects(
    OpTy op, SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &effects) {
  if (op.hasPureTensorSemantics())
    return;
  for (OpOperand *input : op.getDpsInputOperands())
    effects.emplace_back(MemoryEffects::Read::get(), input,
                         SideEffects::DefaultResource::get());
  for (OpOperand &output : op.getOutputsMutable())
    effects.emplace_back(MemoryEffects::Write::get(), &output,
                         SideEffects::DefaultResource::get());
}

void AttentionOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDestinationStyleEffects(*this, effects);
}

void AttentionGradOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  getDestinationStyleEffects(*this, effects);
}
