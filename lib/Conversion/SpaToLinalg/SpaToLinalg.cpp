//===- SpaToLinalg.cpp - spa.attention -> tiled linalg/scf ----------------===//
//
// The reference lowering of banded attention: upstream linalg, tensor, arith,
// math and scf only, so any MLIR tool (Debian's mlir-opt included) accepts
// the result. Work item = (batch, query head, query tile); its key tiles are
// enumerated per head interval from the interval bounds, so keys outside
// every band are never touched and memory stays O(tile). Softmax is the
// online (streaming) base-2 form, in f32.
//
// Loop nest generated for one op (tensors threaded through iter_args):
//
//   for b, h, i0 (step tile-q):
//     m = -inf, l = 0, acc = 0                       // [tq], [tq], [tq, Dv]
//     for slot s < M:                                // intervals of head h
//       lo, hi = bounds[h, s]
//       for side in {+1} (causal) or {+1, -1} (bidirectional):
//         for j0 in key range of the tile's rows (step tile-k):
//           S = (Q_tile K_tile^T) * scale * log2(e)
//           if tile not entirely inside the interval: S = mask(S)
//           online-softmax update of m, l, acc with S and V_tile
//     out[b, h, i0:] = l > 0 ? acc / l : 0;  lse = l > 0 ? (m + log2 l) ln 2 : -inf
//
// Each (query, key) pair belongs to at most one interval and one side, and
// masks test only the current interval, so no pair is counted twice even
// where the key tiles of two intervals overlap.
//
//===----------------------------------------------------------------------===//

#include "spa/Conversion/SpaToLinalg/SpaToLinalg.h"
#include "spa/Conversion/Utils/BandGeometry.h"
#include "spa/Conversion/Utils/IndexArith.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

namespace mlir::spa {
#define GEN_PASS_DEF_CONVERTSPATOLINALG
#include "spa/Conversion/Passes.h.inc"
} // namespace mlir::spa

using namespace mlir;
using namespace mlir::spa;

namespace {

using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

/// Index/f32 arithmetic plus tensor.dim.
struct Emitter : IndexArith {
  using IndexArith::IndexArith;
  Value dim(Value shaped, int64_t d) {
    return tensor::DimOp::create(b, shaped, d);
  }
};

/// Converts a scalar to f32 inside a linalg body.
Value toF32(OpBuilder &b, Location loc, Value v) {
  return v.getType().isF32()
             ? v
             : arith::ExtFOp::create(b, loc, b.getF32Type(), v).getResult();
}

/// Builds linalg.generic ops with compact map and body descriptions.
struct LinalgBuilder {
  ImplicitLocOpBuilder &b;

  AffineMap map(unsigned dims, ArrayRef<unsigned> results) {
    SmallVector<AffineExpr> exprs;
    for (unsigned r : results)
      exprs.push_back(b.getAffineDimExpr(r));
    return AffineMap::get(dims, 0, exprs, b.getContext());
  }
  Value empty(ArrayRef<OpFoldResult> sizes, Type type) {
    return tensor::EmptyOp::create(b, sizes, type);
  }
  Value filled(ArrayRef<OpFoldResult> sizes, double value) {
    Value init = arith::ConstantOp::create(b, b.getF32FloatAttr(value));
    return linalg::FillOp::create(b, ValueRange{init},
                                  ValueRange{empty(sizes, b.getF32Type())})
        .getResult(0);
  }
  linalg::GenericOp generic(
      ValueRange ins, ValueRange outs, ArrayRef<AffineMap> maps,
      ArrayRef<IteratorType> iterators,
      function_ref<void(OpBuilder &, Location, ValueRange)> body) {
    return linalg::GenericOp::create(b, TypeRange(outs), ins, outs, maps,
                                     iterators, body);
  }
};

/// Yields `value` from a linalg body.
void yield(OpBuilder &b, Location loc, ValueRange values) {
  linalg::YieldOp::create(b, loc, values);
}

/// What the generated code needs to know about one op; fixed during lowering.
struct AttentionShape {
  Type elementType;
  int64_t headDim, valueDim, numQueryHeads, groupSize;
  int64_t tileQ, tileK;
  bool bidirectional;
  double scaleLog2; // scale * log2(e)
};

/// Values live for the whole op (defined before the loop nest).
struct AttentionValues {
  Value query, key, value;
  Value bounds;          // tensor<Hq x M x 2 x index>
  int64_t slots;         // M
  Value queryLen, keyLen;
  Value positionOffset;  // Nk - Nq
  Value distanceLimit;   // max(Nq, Nk): no pair is this far apart
};

class AttentionLowering {
public:
  AttentionLowering(const AttentionShape &shape, const AttentionValues &values)
      : shape(shape), v(values) {}

  /// One work item (b0, head, rows [i0, i0 + tq)): returns {out, lse}.
  SmallVector<Value> workItem(ImplicitLocOpBuilder &b, Value b0, Value head,
                              Value kvHead, Value i0, Value out,
                              Value lse) const {
    Emitter e{b};
    LinalgBuilder lb{b};
    Value rows = e.min(e.index(shape.tileQ), e.sub(v.queryLen, i0));
    SmallVector<OpFoldResult> unitStrides(4, b.getIndexAttr(1));
    auto queryTileType = RankedTensorType::get(
        {ShapedType::kDynamic, shape.headDim}, shape.elementType);
    Value queryTile = tensor::ExtractSliceOp::create(
        b, queryTileType, v.query,
        ArrayRef<OpFoldResult>{b0, head, i0, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1), rows,
                               b.getIndexAttr(shape.headDim)},
        unitStrides);
    Value firstPos = e.add(i0, v.positionOffset);
    Value lastPos = e.sub(e.add(firstPos, rows), e.index(1));

    SmallVector<Value> state = {
        lb.filled({rows}, -std::numeric_limits<double>::infinity()),
        lb.filled({rows}, 0.0),
        lb.filled({rows, b.getIndexAttr(shape.valueDim)}, 0.0)};

    auto slotLoop = scf::ForOp::create(
        b, e.index(0), e.index(v.slots), e.index(1), state,
        [&](OpBuilder &sb, Location sloc, Value slot, ValueRange slotState) {
          ImplicitLocOpBuilder ib(sloc, sb);
          Emitter se{ib};
          auto [lo, hi] = interval(ib, head, slot);
          SmallVector<Value> current(slotState);
          for (int side : {1, -1}) {
            if (side < 0 && !shape.bidirectional)
              break;
            BandGeometry geometry{se, firstPos, lastPos, v.keyLen};
            Value sideLo = geometry.sideLowerBound(lo, side);
            auto [begin, end] = geometry.keyRange(sideLo, hi, side);
            auto keyLoop = scf::ForOp::create(
                ib, begin, end, se.index(shape.tileK), current,
                [&](OpBuilder &kb, Location kloc, Value j0,
                    ValueRange keyState) {
                  ImplicitLocOpBuilder kib(kloc, kb);
                  SmallVector<Value> updated =
                      keyTile(kib, queryTile, b0, kvHead, j0, rows, end,
                              firstPos, lastPos, sideLo, hi, side, keyState);
                  scf::YieldOp::create(kib, updated);
                });
            current.assign(keyLoop.getResults().begin(),
                           keyLoop.getResults().end());
          }
          scf::YieldOp::create(ib, current);
        });
    Value hasKeys = rowsWithKeys(b, rows, firstPos, head);
    return finalize(b, slotLoop.getResults(), hasKeys, rows, out, lse, b0,
                    head, i0);
  }

private:
  /// Interval `slot` of `head`, clamped to the distances that exist: bounds
  /// near INT64_MAX must not overflow the key-range arithmetic.
  std::pair<Value, Value> interval(ImplicitLocOpBuilder &b, Value head,
                                   Value slot) const {
    Emitter e{b};
    Value lo = tensor::ExtractOp::create(b, v.bounds,
                                         ValueRange{head, slot, e.index(0)});
    Value hi = tensor::ExtractOp::create(b, v.bounds,
                                         ValueRange{head, slot, e.index(1)});
    return {e.min(lo, v.distanceLimit), e.min(hi, v.distanceLimit)};
  }

  /// Whether each of the tile's rows has an admissible key (from the band
  /// geometry, not from the softmax sum: a row whose scores are all -inf or
  /// NaN still has keys and must not come out as a no-key row).
  Value rowsWithKeys(ImplicitLocOpBuilder &b, Value rows, Value firstPos,
                     Value head) const {
    LinalgBuilder lb{b};
    return lb
        .generic(
            {}, {lb.empty({rows}, b.getI1Type())}, {lb.map(1, {0})}, {kPar},
            [&](OpBuilder &nb, Location loc, ValueRange) {
              ImplicitLocOpBuilder body(loc, nb);
              Emitter e{body};
              Value p = e.add(firstPos, linalg::IndexOp::create(body, 0));
              Value none = arith::ConstantIntOp::create(body, body.getI1Type(),
                                                        0);
              auto slots = scf::ForOp::create(
                  body, e.index(0), e.index(v.slots), e.index(1),
                  ValueRange{none},
                  [&](OpBuilder &sb, Location sloc, Value slot,
                      ValueRange found) {
                    ImplicitLocOpBuilder ib(sloc, sb);
                    Emitter se{ib};
                    auto [lo, hi] = interval(ib, head, slot);
                    Value any = found[0];
                    for (int side : {1, -1}) {
                      if (side < 0 && !shape.bidirectional)
                        break;
                      BandGeometry geometry{se, p, p, v.keyLen};
                      auto [begin, end] = geometry.keyRange(
                          geometry.sideLowerBound(lo, side), hi, side);
                      any = se.ori(any, se.cmp(arith::CmpIPredicate::slt,
                                               begin, end));
                    }
                    scf::YieldOp::create(ib, any);
                  });
              yield(nb, loc, slots.getResult(0));
            })
        .getResult(0);
  }

  /// One key tile: scores, mask on edge tiles only, online-softmax update.
  SmallVector<Value> keyTile(ImplicitLocOpBuilder &b, Value queryTile,
                             Value b0, Value kvHead, Value j0, Value rows,
                             Value end, Value firstPos, Value lastPos,
                             Value lo, Value hi, int side,
                             ValueRange state) const {
    Emitter e{b};
    LinalgBuilder lb{b};
    Value cols = e.min(e.index(shape.tileK), e.sub(end, j0));
    SmallVector<OpFoldResult> unitStrides(4, b.getIndexAttr(1));
    auto slice = [&](Value source, int64_t width) -> Value {
      auto type = RankedTensorType::get({ShapedType::kDynamic, width},
                                        shape.elementType);
      return tensor::ExtractSliceOp::create(
          b, type, source,
          ArrayRef<OpFoldResult>{b0, kvHead, j0, b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1), cols,
                                 b.getIndexAttr(width)},
          unitStrides);
    };
    Value keyTile = slice(v.key, shape.headDim);
    Value valueTile = slice(v.value, shape.valueDim);

    // S[i, j] = sum_d Q[i, d] K[j, d], accumulated in f32.
    Value scores =
        lb.generic({queryTile, keyTile}, {lb.filled({rows, cols}, 0.0)},
                   {lb.map(3, {0, 2}), lb.map(3, {1, 2}), lb.map(3, {0, 1})},
                   {kPar, kPar, kRed},
                   [](OpBuilder &nb, Location loc, ValueRange args) {
                     Value product = arith::MulFOp::create(
                         nb, loc, toF32(nb, loc, args[0]),
                         toF32(nb, loc, args[1]));
                     yield(nb, loc,
                           arith::AddFOp::create(nb, loc, args[2], product)
                               .getResult());
                   })
            .getResult(0);

    // Interior: every (row, key) pair has its distance in [lo, hi).
    // Causal side d = p - j; anti side d = j - p.
    Value lastKey = e.sub(e.add(j0, cols), e.index(1));
    using P = arith::CmpIPredicate;
    Value interior = BandGeometry{e, firstPos, lastPos, v.keyLen}.tileInside(
        j0, lastKey, lo, hi, side);
    Value scale =
        arith::ConstantOp::create(b, b.getF32FloatAttr(shape.scaleLog2));
    Value negInf = arith::ConstantOp::create(
        b, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
    auto scaleOrMask = [&](bool masked) {
      return [&, masked](OpBuilder &nb, Location loc) {
        ImplicitLocOpBuilder ib(loc, nb);
        LinalgBuilder ilb{ib};
        Value result =
            ilb.generic(
                   {scores}, {ilb.empty({rows, cols}, ib.getF32Type())},
                   {ilb.map(2, {0, 1}), ilb.map(2, {0, 1})}, {kPar, kPar},
                   [&](OpBuilder &bb, Location l, ValueRange args) {
                     ImplicitLocOpBuilder body(l, bb);
                     Value scaled = arith::MulFOp::create(body, args[0], scale);
                     if (!masked)
                       return yield(bb, l, scaled);
                     Emitter be{body};
                     Value i = linalg::IndexOp::create(body, 0);
                     Value j = linalg::IndexOp::create(body, 1);
                     Value distance =
                         be.sub(be.add(firstPos, i), be.add(j0, j));
                     if (side < 0)
                       distance = be.sub(be.index(0), distance);
                     Value admissible =
                         be.andi(be.cmp(P::sge, distance, lo),
                                 be.cmp(P::slt, distance, hi));
                     yield(bb, l, be.select(admissible, scaled, negInf));
                   })
                .getResult(0);
        scf::YieldOp::create(nb, loc, result);
      };
    };
    auto ifOp = scf::IfOp::create(b, interior, scaleOrMask(false),
                                  scaleOrMask(true));
    return onlineSoftmaxUpdate(b, ifOp.getResult(0), valueTile, rows, cols,
                               state);
  }

  /// m' = max(m, rowmax S); ms = (m' == -inf ? 0 : m'); alpha = 2^(m - ms);
  /// P = 2^(S - ms); l' = alpha l + rowsum P; acc' = alpha acc + P V.
  SmallVector<Value> onlineSoftmaxUpdate(ImplicitLocOpBuilder &b, Value scores,
                                         Value valueTile, Value rows,
                                         Value cols, ValueRange state) const {
    LinalgBuilder lb{b};
    Type f32 = b.getF32Type();
    Value m = state[0], l = state[1], acc = state[2];
    auto row = lb.map(1, {0});
    Value negInf = arith::ConstantOp::create(
        b, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0));
    Value tileMax =
        lb.generic({scores}, {lb.filled({rows}, -INFINITY)},
                   {lb.map(2, {0, 1}), lb.map(2, {0})}, {kPar, kRed},
                   [](OpBuilder &nb, Location loc, ValueRange args) {
                     yield(nb, loc,
                           arith::MaximumFOp::create(nb, loc, args[0], args[1])
                               .getResult());
                   })
            .getResult(0);
    // One elementwise pass updates m in place and derives the safe maximum
    // and the rescale factor from the old m it overwrites.
    auto safeAndAlpha = lb.generic(
        {tileMax}, {m, lb.empty({rows}, f32), lb.empty({rows}, f32)},
        {row, row, row, row}, {kPar},
        [&](OpBuilder &nb, Location loc, ValueRange args) {
          Value oldMax = args[1];
          Value newMax = arith::MaximumFOp::create(nb, loc, oldMax, args[0]);
          Value isEmpty = arith::CmpFOp::create(
              nb, loc, arith::CmpFPredicate::OEQ, newMax, negInf);
          Value safe = arith::SelectOp::create(nb, loc, isEmpty, zero, newMax);
          Value alpha = math::Exp2Op::create(
              nb, loc, arith::SubFOp::create(nb, loc, oldMax, safe));
          yield(nb, loc, {newMax, safe, alpha});
        });
    Value newMax = safeAndAlpha.getResult(0);
    Value safeMax = safeAndAlpha.getResult(1);
    Value alpha = safeAndAlpha.getResult(2);
    Value probabilities =
        lb.generic({scores, safeMax}, {lb.empty({rows, cols}, f32)},
                   {lb.map(2, {0, 1}), lb.map(2, {0}), lb.map(2, {0, 1})},
                   {kPar, kPar},
                   [](OpBuilder &nb, Location loc, ValueRange args) {
                     yield(nb, loc,
                           math::Exp2Op::create(
                               nb, loc,
                               arith::SubFOp::create(nb, loc, args[0], args[1]))
                               .getResult());
                   })
            .getResult(0);
    // Rescale l and acc in place (outs = the loop-carried tensors) so that
    // bufferization keeps one buffer per state across iterations.
    auto rescale = [](OpBuilder &nb, Location loc, ValueRange args) {
      yield(nb, loc,
            arith::MulFOp::create(nb, loc, args[1], args[0]).getResult());
    };
    Value scaledSum =
        lb.generic({alpha}, {l}, {row, row}, {kPar}, rescale).getResult(0);
    Value newSum =
        lb.generic({probabilities}, {scaledSum},
                   {lb.map(2, {0, 1}), lb.map(2, {0})}, {kPar, kRed},
                   [](OpBuilder &nb, Location loc, ValueRange args) {
                     yield(nb, loc,
                           arith::AddFOp::create(nb, loc, args[0], args[1])
                               .getResult());
                   })
            .getResult(0);
    Value scaledAcc =
        lb.generic({alpha}, {acc}, {lb.map(2, {0}), lb.map(2, {0, 1})},
                   {kPar, kPar}, rescale)
            .getResult(0);
    // acc[i, d] += sum_j P[i, j] V[j, d]; loop dims (i, d, j).
    Value newAcc =
        lb.generic({probabilities, valueTile}, {scaledAcc},
                   {lb.map(3, {0, 2}), lb.map(3, {2, 1}), lb.map(3, {0, 1})},
                   {kPar, kPar, kRed},
                   [](OpBuilder &nb, Location loc, ValueRange args) {
                     Value product = arith::MulFOp::create(
                         nb, loc, args[0], toF32(nb, loc, args[1]));
                     yield(nb, loc,
                           arith::AddFOp::create(nb, loc, args[2], product)
                               .getResult());
                   })
            .getResult(0);
    return {newMax, newSum, newAcc};
  }

  /// Normalises the accumulator into the output tile and writes the
  /// log-sum-exp; rows without keys give 0 and -inf. Rows with keys divide
  /// by l whatever it is, so NaN and Inf propagate (an all -inf row gives
  /// 0 / 0 = NaN, as PyTorch's softmax does).
  SmallVector<Value> finalize(ImplicitLocOpBuilder &b, ValueRange state,
                              Value hasKeys, Value rows, Value out, Value lse,
                              Value b0, Value head, Value i0) const {
    LinalgBuilder lb{b};
    Value m = state[0], l = state[1], acc = state[2];
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0));
    Type elt = shape.elementType;
    Value normalized =
        lb.generic({acc, l, hasKeys},
                   {lb.empty({rows, b.getIndexAttr(shape.valueDim)}, elt)},
                   {lb.map(2, {0, 1}), lb.map(2, {0}), lb.map(2, {0}),
                    lb.map(2, {0, 1})},
                   {kPar, kPar},
                   [&](OpBuilder &nb, Location loc, ValueRange args) {
                     Value quotient =
                         arith::DivFOp::create(nb, loc, args[0], args[1]);
                     Value value = arith::SelectOp::create(nb, loc, args[2],
                                                           quotient, zero);
                     if (!elt.isF32())
                       value = arith::TruncFOp::create(nb, loc, elt, value);
                     yield(nb, loc, value);
                   })
            .getResult(0);
    out = tensor::InsertSliceOp::create(
        b, normalized, out,
        ArrayRef<OpFoldResult>{b0, head, i0, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1), rows,
                               b.getIndexAttr(shape.valueDim)},
        SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
    if (!lse)
      return {out};
    Value negInf = arith::ConstantOp::create(
        b, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
    Value ln2 = arith::ConstantOp::create(b, b.getF32FloatAttr(M_LN2));
    auto row = lb.map(1, {0});
    Value lseTile =
        lb.generic({m, l, hasKeys}, {lb.empty({rows}, b.getF32Type())},
                   {row, row, row, row}, {kPar},
                   [&](OpBuilder &nb, Location loc, ValueRange args) {
                     Value log2Sum = math::Log2Op::create(nb, loc, args[1]);
                     Value natural = arith::MulFOp::create(
                         nb, loc,
                         arith::AddFOp::create(nb, loc, args[0], log2Sum),
                         ln2);
                     yield(nb, loc,
                           arith::SelectOp::create(nb, loc, args[2], natural,
                                                   negInf)
                               .getResult());
                   })
            .getResult(0);
    lse = tensor::InsertSliceOp::create(
        b, lseTile, lse, ArrayRef<OpFoldResult>{b0, head, i0},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1), rows},
        SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
    return {out, lse};
  }

  AttentionShape shape;
  AttentionValues v;
};

/// The band table as a [Hq, M, 2] index tensor: the op's run-time bounds, or
/// the static table as a constant (unused slots are lo == hi == 0).
std::pair<Value, int64_t> materializeBounds(ImplicitLocOpBuilder &b,
                                            AttentionOp op,
                                            int64_t numQueryHeads) {
  if (Value runtime = op.getBandBounds())
    return {runtime, cast<ShapedType>(runtime.getType()).getDimSize(1)};
  BandsAttr table = op.getBandTable();
  int64_t slots = 1;
  for (int64_t h = 0; h < table.getNumHeads(); ++h)
    slots = std::max<int64_t>(slots, table.getHeadIntervals(h).size());
  SmallVector<int64_t> values;
  for (int64_t h = 0; h < table.getNumHeads(); ++h) {
    auto intervals = table.getHeadIntervals(h);
    intervals.resize(slots, {0, 0});
    for (auto [lo, hi] : intervals) {
      values.push_back(lo);
      values.push_back(hi);
    }
  }
  auto type =
      RankedTensorType::get({numQueryHeads, slots, 2}, b.getIndexType());
  Value bounds = arith::ConstantOp::create(
      b, DenseIntElementsAttr::get(type, ArrayRef<int64_t>(values)));
  return {bounds, slots};
}

struct AttentionToLinalg : public OpRewritePattern<AttentionOp> {
  AttentionToLinalg(MLIRContext *context, SpaToLinalgOptions options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "expects tensor semantics");
    if (!op.getBandTable() && !op.getBandBounds())
      return rewriter.notifyMatchFailure(op, "band policy not resolved");

    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    Emitter e{b};
    auto queryType = cast<RankedTensorType>(op.getQuery().getType());
    auto keyType = cast<RankedTensorType>(op.getKey().getType());
    auto valueType = cast<RankedTensorType>(op.getValue().getType());
    BandMode mode = op.getBandTable()
                        ? op.getBandTable().getMode()
                        : cast<BandPolicyAttr>(op.getBands()).getMode();

    AttentionShape shape;
    shape.elementType = queryType.getElementType();
    shape.headDim = queryType.getDimSize(3);
    shape.valueDim = valueType.getDimSize(3);
    shape.numQueryHeads = queryType.getDimSize(1);
    shape.groupSize = shape.numQueryHeads / keyType.getDimSize(1);
    shape.tileQ = options.tileQ;
    shape.tileK = options.tileK;
    shape.bidirectional = mode == BandMode::Bidirectional;
    shape.scaleLog2 = op.getEffectiveScale() * M_LOG2E;

    AttentionValues values;
    values.query = op.getQuery();
    values.key = op.getKey();
    values.value = op.getValue();
    std::tie(values.bounds, values.slots) =
        materializeBounds(b, op, shape.numQueryHeads);
    values.queryLen = e.dim(op.getQuery(), 2);
    values.keyLen = e.dim(op.getKey(), 2);
    values.positionOffset = e.sub(values.keyLen, values.queryLen);
    values.distanceLimit = e.max(values.queryLen, values.keyLen);
    AttentionLowering lowering(shape, values);

    Value batch = e.dim(op.getQuery(), 0);
    bool hasLse = op.getOutputs().size() == 2;
    // for b, for h, for i0: thread (out, lse) through iter_args.
    auto batchLoop = scf::ForOp::create(
        b, e.index(0), batch, e.index(1), op.getOutputs(),
        [&](OpBuilder &bb, Location loc, Value b0, ValueRange batchArgs) {
          ImplicitLocOpBuilder ib(loc, bb);
          Emitter be{ib};
          auto headLoop = scf::ForOp::create(
              ib, be.index(0), be.index(shape.numQueryHeads), be.index(1),
              batchArgs,
              [&](OpBuilder &hb, Location hloc, Value head,
                  ValueRange headArgs) {
                ImplicitLocOpBuilder hib(hloc, hb);
                Emitter he{hib};
                Value kvHead =
                    arith::DivUIOp::create(hib, head, he.index(shape.groupSize));
                auto tileLoop = scf::ForOp::create(
                    hib, he.index(0), values.queryLen, he.index(shape.tileQ),
                    headArgs,
                    [&](OpBuilder &tb, Location tloc, Value i0,
                        ValueRange tileArgs) {
                      ImplicitLocOpBuilder tib(tloc, tb);
                      SmallVector<Value> next = lowering.workItem(
                          tib, b0, head, kvHead, i0, tileArgs[0],
                          hasLse ? tileArgs[1] : Value());
                      scf::YieldOp::create(tib, next);
                    });
                scf::YieldOp::create(hib, tileLoop.getResults());
              });
          scf::YieldOp::create(ib, headLoop.getResults());
        });
    rewriter.replaceOp(op, batchLoop.getResults());
    return success();
  }

  SpaToLinalgOptions options;
};

struct ConvertSpaToLinalgPass
    : public mlir::spa::impl::ConvertSpaToLinalgBase<ConvertSpaToLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    if (tileQ <= 0 || tileK <= 0) {
      emitError(getOperation()->getLoc())
          << "convert-spa-to-linalg: tile sizes must be positive, got tile-q = "
          << tileQ.getValue() << ", tile-k = " << tileK.getValue();
      return signalPassFailure();
    }
    // Diagnose what the pattern cannot lower before rewriting anything.
    WalkResult check = getOperation()->walk([](AttentionOp op) {
      if (!op.hasPureTensorSemantics()) {
        op.emitOpError("convert-spa-to-linalg expects tensor semantics; run "
                       "it before bufferization");
        return WalkResult::interrupt();
      }
      if (!op.getBandTable() && !op.getBandBounds()) {
        op.emitOpError("has an unresolved band policy; run "
                       "-spa-balance-bands first");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (check.wasInterrupted())
      return signalPassFailure();

    RewritePatternSet patterns(&getContext());
    populateSpaToLinalgPatterns(patterns, {tileQ, tileK});
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::spa::populateSpaToLinalgPatterns(
    RewritePatternSet &patterns, const SpaToLinalgOptions &options) {
  patterns.add<AttentionToLinalg>(patterns.getContext(), options);
}
