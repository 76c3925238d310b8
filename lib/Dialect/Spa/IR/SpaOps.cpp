//===- SpaOps.cpp - spa.attention -----------------------------------------===//
//
// Verification and side effects of `spa.attention`. The verifier names the
// operand, the dimension, the expected and the actual value, because users
// mostly meet it through shape mistakes in hand-written or imported IR.
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/IR/SpaDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::spa;

#define GET_OP_CLASSES
#include "spa/Dialect/Spa/IR/SpaOps.cpp.inc"

namespace {
/// A named, ranked operand under verification.
struct NamedShaped {
  StringRef name;
  ShapedType type;
};
} // namespace

static std::string dimToString(int64_t dim) {
  return ShapedType::isDynamic(dim) ? std::string("?") : std::to_string(dim);
}

double AttentionOp::getEffectiveScale() {
  if (FloatAttr scale = getScaleAttr())
    return scale.getValueAsDouble();
  int64_t headDim = cast<ShapedType>(getQuery().getType()).getDimSize(3);
  return 1.0 / std::sqrt(static_cast<double>(headDim));
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
      {"query", cast<ShapedType>(getQuery().getType())},
      {"key", cast<ShapedType>(getKey().getType())},
      {"value", cast<ShapedType>(getValue().getType())},
      {"output", cast<ShapedType>(getOutput().getType())}};
  if (numOutputs == 2)
    operands.push_back(
        {"log-sum-exp", cast<ShapedType>(getLogSumExp().getType())});

  // Tensors or memrefs, ranked, never mixed.
  bool onTensors = isa<RankedTensorType>(operands[0].type);
  for (const NamedShaped &operand : operands) {
    if (!isa<RankedTensorType, MemRefType>(operand.type))
      return emitOpError() << operand.name
                           << ": expected a ranked tensor or memref, got "
                           << operand.type;
    if (isa<RankedTensorType>(operand.type) != onTensors)
      return emitOpError() << operand.name << " is a "
                           << (onTensors ? "memref" : "tensor")
                           << " but query is a "
                           << (onTensors ? "tensor" : "memref")
                           << "; all operands must be tensors or all memrefs";
  }

  // Ranks.
  for (const NamedShaped &operand : operands) {
    int64_t expected = operand.name == "log-sum-exp" ? 3 : 4;
    if (operand.type.getRank() != expected)
      return emitOpError() << operand.name << ": expected rank " << expected
                           << (expected == 4 ? " ([B, H, N, D])"
                                             : " ([B, Hq, Nq])")
                           << ", got rank " << operand.type.getRank();
  }

  // Element types.
  Type elementType = operands[0].type.getElementType();
  if (!elementType.isF16() && !elementType.isBF16() && !elementType.isF32())
    return emitOpError() << "query: unsupported element type " << elementType
                         << "; expected f16, bf16 or f32";
  for (const NamedShaped &operand : ArrayRef(operands).slice(1, 3))
    if (operand.type.getElementType() != elementType)
      return emitOpError() << operand.name << ": element type "
                           << operand.type.getElementType()
                           << " does not match query element type "
                           << elementType;
  if (numOutputs == 2 && !operands[4].type.getElementType().isF32())
    return emitOpError() << "log-sum-exp: expected element type f32, got "
                         << operands[4].type.getElementType();

  // Dimensions that must be static: heads and head dims.
  struct StaticDim {
    unsigned operand;
    unsigned dim;
    StringRef label;
  };
  for (StaticDim s : {StaticDim{0, 1, "Hq"}, StaticDim{1, 1, "Hkv"},
                      StaticDim{0, 3, "D"}, StaticDim{2, 3, "Dv"}})
    if (operands[s.operand].type.isDynamicDim(s.dim))
      return emitOpError() << operands[s.operand].name << ": dimension "
                           << s.dim << " (" << s.label << ") must be static";

  // Dimension agreement: (operand, dim) must equal (reference, refDim).
  struct SameDim {
    unsigned operand, dim, reference, refDim;
    StringRef label;
  };
  SmallVector<SameDim> sameDims = {
      {1, 0, 0, 0, "B"},  {2, 0, 0, 0, "B"},  {3, 0, 0, 0, "B"},
      {3, 1, 0, 1, "Hq"}, {2, 1, 1, 1, "Hkv"}, {3, 2, 0, 2, "Nq"},
      {2, 2, 1, 2, "Nk"}, {1, 3, 0, 3, "D"},  {3, 3, 2, 3, "Dv"}};
  if (numOutputs == 2) {
    sameDims.push_back({4, 0, 0, 0, "B"});
    sameDims.push_back({4, 1, 0, 1, "Hq"});
    sameDims.push_back({4, 2, 0, 2, "Nq"});
  }
  for (const SameDim &s : sameDims) {
    int64_t actual = operands[s.operand].type.getDimSize(s.dim);
    int64_t expected = operands[s.reference].type.getDimSize(s.refDim);
    if (ShapedType::isDynamic(actual) || ShapedType::isDynamic(expected) ||
        actual == expected)
      continue;
    return emitOpError() << operands[s.operand].name << ": dimension "
                         << s.dim << " (" << s.label << ") is "
                         << dimToString(actual) << ", expected "
                         << dimToString(expected) << " (from "
                         << operands[s.reference].name << ")";
  }

  int64_t numQueryHeads = operands[0].type.getDimSize(1);
  int64_t numKvHeads = operands[1].type.getDimSize(1);
  if (numQueryHeads <= 0 || numKvHeads <= 0)
    return emitOpError() << "head counts must be positive, got Hq = "
                         << numQueryHeads << ", Hkv = " << numKvHeads;
  if (numQueryHeads % numKvHeads != 0)
    return emitOpError() << "query heads (Hq = " << numQueryHeads
                         << ") must be a multiple of key/value heads (Hkv = "
                         << numKvHeads << ")";
  if (operands[0].type.getDimSize(3) <= 0)
    return emitOpError() << "query: head dimension D must be positive, got "
                         << operands[0].type.getDimSize(3);

  // Results: one per destination on tensors, none on memrefs.
  if (onTensors) {
    if (getNumResults() != numOutputs)
      return emitOpError() << "on tensors expects " << numOutputs
                           << " results (one per 'outs' operand), got "
                           << getNumResults();
    for (auto [index, result, output] :
         llvm::enumerate(getResults(), getOutputs()))
      if (result.getType() != output.getType())
        return emitOpError() << "result #" << index << " type "
                             << result.getType()
                             << " does not match its 'outs' operand type "
                             << output.getType();
  } else if (getNumResults() != 0) {
    return emitOpError() << "on memrefs expects no results, got "
                         << getNumResults();
  }

  if (BandsAttr table = getBandTable())
    if (table.getNumHeads() != numQueryHeads)
      return emitOpError() << "band table has " << table.getNumHeads()
                           << " heads, expected " << numQueryHeads
                           << " (Hq, query dimension 1)";

  if (Value bounds = getBandBounds()) {
    auto policy = dyn_cast<BandPolicyAttr>(getBands());
    if (!policy)
      return emitOpError("band_bounds requires 'bands' to be the "
                         "#spa.band_policy they were computed from");
    auto boundsType = cast<ShapedType>(bounds.getType());
    if (!isa<RankedTensorType, MemRefType>(boundsType) ||
        isa<RankedTensorType>(boundsType) != onTensors)
      return emitOpError() << "band_bounds: expected a ranked "
                           << (onTensors ? "tensor" : "memref")
                           << " like the other operands, got " << boundsType;
    int64_t slots = BandBoundsOp::getSlotsPerHead(policy.getKind());
    if (!boundsType.getElementType().isIndex() ||
        boundsType.getShape() != ArrayRef<int64_t>{numQueryHeads, slots, 2})
      return emitOpError() << "band_bounds: expected shape [" << numQueryHeads
                           << ", " << slots << ", 2] of index, got "
                           << boundsType;
  }

  if (FloatAttr scaleAttr = getScaleAttr()) {
    double scale = scaleAttr.getValueAsDouble();
    if (!(scale > 0.0) || !std::isfinite(scale))
      return emitOpError() << "scale must be positive and finite, got "
                           << scale;
    // Scores are scaled in f32 with log2(e) folded in (both lowerings): a
    // scale that overflows there gives inf, one that underflows flattens
    // every score to 0.
    double scaleLog2 = scale * M_LOG2E;
    if (scaleLog2 > std::numeric_limits<float>::max() ||
        scaleLog2 < std::numeric_limits<float>::min())
      return emitOpError() << "scale " << scale
                           << " does not fit the f32 computation: scale * "
                              "log2(e) must lie in ["
                           << std::numeric_limits<float>::min() << ", "
                           << std::numeric_limits<float>::max() << "]";
  }
  return success();
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
// AttentionOp side effects
//===----------------------------------------------------------------------===//

void AttentionOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  if (hasPureTensorSemantics())
    return;
  for (OpOperand *input : getDpsInputOperands())
    effects.emplace_back(MemoryEffects::Read::get(), input,
                         SideEffects::DefaultResource::get());
  for (OpOperand &output : getOutputsMutable())
    effects.emplace_back(MemoryEffects::Write::get(), &output,
                         SideEffects::DefaultResource::get());
}
