//===- AttentionGradToLinalg.cpp - spa.attention_grad -> linalg/scf -------===//
//
// The reference lowering of the attention gradients (FlashAttention-2's
// backward, recomputing P from Q, K and the forward's log-sum-exp), on the
// forward's band walk (BandedTiles.h): the same work items, the same key
// tiles per interval and side, masks on edge tiles only. f32 throughout.
//
//   dK, dV = 0                              // f32, whole [B, Hkv, Nk, D|Dv]
//   for b, h, i0 (step tile-q):
//     Delta = rowsum(dO * O); L2 = lse * log2(e); dQacc = 0    // [tq], [tq, D]
//     for slot, side, j0 (key tiles the rows reach, as the forward):
//       S = Q K^T; dP = dO V^T                                  // [tq, tk]
//       P  = 2^(S * scale * log2(e) - L2)
//       dS = scale * P * (dP - Delta)
//       on edge tiles: P = dS = 0 outside [lo, hi)
//       dQacc += dS K;  dK[b, g(h), j0:] += dS^T Q;  dV[b, g(h), j0:] += P^T dO
//     dQ[b, h, i0:] = row has keys ? dQacc : 0        (element type)
//   dK, dV -> element type
//
// dK and dV are loop-carried tensors updated through extract_slice /
// insert_slice of the same tensor, so bufferization keeps one buffer each;
// the query heads of a GQA group add into the same key/value head. Keys no
// row reaches are never written and stay 0.
//
// Non-finite values are never selected away except by the band mask: NaN
// in q, k, v, out, lse or dout reaches every gradient its pairs touch, and
// (through 0 * NaN in the tile products, as in the forward) may reach
// other rows or keys of the same tile. A row with keys whose forward
// log-sum-exp is -inf (all its scores -inf) gives P = 2^(-inf + inf) = NaN,
// as PyTorch does. Rows without keys have lse = -inf too; on edge tiles the
// mask selects their P to 0 before that NaN can form, and no interior tile
// holds them.
//
//===----------------------------------------------------------------------===//

#include "BandedTiles.h"
#include "spa/Conversion/Utils/BandGeometry.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::spa;
using namespace mlir::spa::linalg_lowering;

namespace {

/// What one work item keeps while it walks its key tiles.
struct QueryTile {
  Value b0, head, kvHead, rows, firstPos, lastPos;
  Value query;      // [rows, D], element type
  Value outputGrad; // [rows, Dv], element type
  Value lseLog2;    // [rows] f32: lse * log2(e)
  Value delta;      // [rows] f32: sum_d dO * O
};

class AttentionGradLowering {
public:
  AttentionGradLowering(const BandedTiles &tiles, const GradOperands &in,
                        double scale)
      : tiles(tiles), shape(tiles.getShape()), v(tiles.getValues()), in(in),
        scale(scale) {}

  /// One work item (b0, head, rows [i0, i0 + tq)); `state` = {dQ, dK, dV}.
  SmallVector<Value> workItem(ImplicitLocOpBuilder &b, Value b0, Value head,
                              Value kvHead, Value i0, ValueRange state) const {
    Emitter e{b};
    LinalgBuilder lb{b};
    QueryTile t;
    t.b0 = b0;
    t.head = head;
    t.kvHead = kvHead;
    t.rows = e.min(e.index(shape.tileQ), e.sub(v.queryLen, i0));
    t.query = tiles.rowSlice(b, in.query, b0, head, i0, t.rows, shape.headDim);
    t.outputGrad =
        tiles.rowSlice(b, in.outputGrad, b0, head, i0, t.rows, shape.valueDim);
    Value outputTile =
        tiles.rowSlice(b, in.output, b0, head, i0, t.rows, shape.valueDim);
    t.firstPos = e.add(i0, v.positionOffset);
    t.lastPos = e.sub(e.add(t.firstPos, t.rows), e.index(1));

    auto row = lb.map(1, {0});
    // Delta[i] = sum_d dO[i, d] O[i, d]; loop dims (i, d).
    t.delta =
        lb.generic({t.outputGrad, outputTile}, {lb.filled({t.rows}, 0.0)},
                   {lb.map(2, {0, 1}), lb.map(2, {0, 1}), lb.map(2, {0})},
                   {kPar, kRed}, LinalgBuilder::multiplyAccumulate)
            .getResult(0);
    // The forward stores the natural-log lse; P is recomputed in base 2.
    auto lseType = RankedTensorType::get({ShapedType::kDynamic}, b.getF32Type());
    Value lseTile = tensor::ExtractSliceOp::create(
        b, lseType, in.logSumExp, ArrayRef<OpFoldResult>{b0, head, i0},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1), t.rows},
        SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
    Value log2e = e.f32(M_LOG2E);
    t.lseLog2 =
        lb.generic({lseTile}, {lb.empty({t.rows}, b.getF32Type())},
                   {row, row}, {kPar},
                   [&](OpBuilder &nb, Location loc, ValueRange args) {
                     yield(nb, loc,
                           arith::MulFOp::create(nb, loc, args[0], log2e)
                               .getResult());
                   })
            .getResult(0);

    SmallVector<Value> keyState = {
        lb.filled({t.rows, b.getIndexAttr(shape.headDim)}, 0.0), state[1],
        state[2]};
    ValueRange walked = tiles.forEachKeyTile(
        b, head, t.firstPos, t.lastPos, keyState,
        [&](ImplicitLocOpBuilder &kb, Value j0, Value end, Value lo, Value hi,
            int side, ValueRange current) {
          return keyTile(kb, t, j0, end, lo, hi, side, current);
        });
    Value hasKeys = tiles.rowsWithKeys(b, t.rows, t.firstPos, head);
    Value dq = storeQueryGrad(b, walked[0], hasKeys, t.rows, state[0], b0,
                              head, i0);
    return {dq, walked[1], walked[2]};
  }

private:
  /// One key tile; `state` = {dQacc [rows, D], dK, dV (f32, whole)}.
  SmallVector<Value> keyTile(ImplicitLocOpBuilder &b, const QueryTile &t,
                             Value j0, Value end, Value lo, Value hi, int side,
                             ValueRange state) const {
    Emitter e{b};
    LinalgBuilder lb{b};
    Value cols = e.min(e.index(shape.tileK), e.sub(end, j0));
    Value keyTile =
        tiles.rowSlice(b, in.key, t.b0, t.kvHead, j0, cols, shape.headDim);
    Value valueTile =
        tiles.rowSlice(b, in.value, t.b0, t.kvHead, j0, cols, shape.valueDim);
    Value scores = lb.productTransposed(t.query, keyTile, t.rows, cols);
    Value outputGradV =
        lb.productTransposed(t.outputGrad, valueTile, t.rows, cols);

    Value lastKey = e.sub(e.add(j0, cols), e.index(1));
    Value interior =
        BandGeometry{e, t.firstPos, t.lastPos, v.keyLen}.tileInside(
            j0, lastKey, lo, hi, side);
    auto ifOp = scf::IfOp::create(
        b, interior,
        probabilitiesAndScoreGrads(t, scores, outputGradV, cols, j0, lo, hi,
                                   side, /*masked=*/false),
        probabilitiesAndScoreGrads(t, scores, outputGradV, cols, j0, lo, hi,
                                   side, /*masked=*/true));
    Value probabilities = ifOp.getResult(0), scoreGrads = ifOp.getResult(1);

    auto multiplyAdd = [](OpBuilder &nb, Location loc, ValueRange args) {
      Value product = arith::MulFOp::create(nb, loc, toF32(nb, loc, args[0]),
                                            toF32(nb, loc, args[1]));
      yield(nb, loc,
            arith::AddFOp::create(nb, loc, args[2], product).getResult());
    };
    // dQacc[i, d] += sum_j dS[i, j] K[j, d]; loop dims (i, d, j).
    Value dq =
        lb.generic({scoreGrads, keyTile}, {state[0]},
                   {lb.map(3, {0, 2}), lb.map(3, {2, 1}), lb.map(3, {0, 1})},
                   {kPar, kPar, kRed}, multiplyAdd)
            .getResult(0);
    // dK[j, d] += sum_i dS[i, j] Q[i, d] and dV[j, d] += sum_i P[i, j] dO[i,
    // d], on the key tile's rows of the whole f32 gradient; loop dims
    // (j, d, i).
    auto accumulateKeys = [&](Value whole, Value pairs, Value rowsIn,
                              int64_t width) {
      Value slice = tiles.rowSlice(b, whole, t.b0, t.kvHead, j0, cols, width);
      Value updated =
          lb.generic({pairs, rowsIn}, {slice},
                     {lb.map(3, {2, 0}), lb.map(3, {2, 1}), lb.map(3, {0, 1})},
                     {kPar, kPar, kRed}, multiplyAdd)
              .getResult(0);
      return tensor::InsertSliceOp::create(
                 b, updated, whole,
                 ArrayRef<OpFoldResult>{t.b0, t.kvHead, j0, b.getIndexAttr(0)},
                 ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                        cols, b.getIndexAttr(width)},
                 SmallVector<OpFoldResult>(4, b.getIndexAttr(1)))
          .getResult();
    };
    Value dk = accumulateKeys(state[1], scoreGrads, t.query, shape.headDim);
    Value dv =
        accumulateKeys(state[2], probabilities, t.outputGrad, shape.valueDim);
    return {dq, dk, dv};
  }

  /// The scf.if branch computing P = 2^(S scale log2(e) - L2) and dS =
  /// scale P (dP - Delta) in one pass; the masked branch gives 0 for both
  /// outside the interval (a select, so the lse of -inf of a row without
  /// keys never meets its -inf scores).
  std::function<void(OpBuilder &, Location)>
  probabilitiesAndScoreGrads(const QueryTile &t, Value scores,
                             Value outputGradV, Value cols, Value j0, Value lo,
                             Value hi, int side, bool masked) const {
    return [=, this](OpBuilder &nb, Location loc) {
      ImplicitLocOpBuilder ib(loc, nb);
      LinalgBuilder lb{ib};
      Emitter e{ib};
      Value scaleLog2 = e.f32(shape.scaleLog2);
      Value gradScale = e.f32(scale);
      Value zero = e.f32(0.0);
      auto pair = lb.map(2, {0, 1}), row = lb.map(2, {0});
      auto generic = lb.generic(
          {scores, outputGradV, t.lseLog2, t.delta},
          {lb.empty({t.rows, cols}, ib.getF32Type()),
           lb.empty({t.rows, cols}, ib.getF32Type())},
          {pair, pair, row, row, pair, pair}, {kPar, kPar},
          [&](OpBuilder &bb, Location l, ValueRange args) {
            ImplicitLocOpBuilder body(l, bb);
            Value exponent = arith::SubFOp::create(
                body, arith::MulFOp::create(body, args[0], scaleLog2),
                args[2]);
            Value p = math::Exp2Op::create(body, exponent);
            Value ds = arith::MulFOp::create(
                body, arith::MulFOp::create(body, p, gradScale),
                arith::SubFOp::create(body, args[1], args[3]));
            if (masked) {
              Value inBand =
                  tiles.admissible(body, t.firstPos, j0, lo, hi, side);
              p = arith::SelectOp::create(body, inBand, p, zero);
              ds = arith::SelectOp::create(body, inBand, ds, zero);
            }
            yield(bb, l, {p, ds});
          });
      scf::YieldOp::create(ib, generic.getResults());
    };
  }

  /// dQ of the tile in the element type: dQacc, or 0 for rows without keys
  /// (from the band geometry, so NaN rows keep their NaN).
  Value storeQueryGrad(ImplicitLocOpBuilder &b, Value acc, Value hasKeys,
                       Value rows, Value dq, Value b0, Value head,
                       Value i0) const {
    LinalgBuilder lb{b};
    Emitter e{b};
    Value zero = e.f32(0.0);
    Type elt = shape.elementType;
    Value tile =
        lb.generic({acc, hasKeys},
                   {lb.empty({rows, b.getIndexAttr(shape.headDim)}, elt)},
                   {lb.map(2, {0, 1}), lb.map(2, {0}), lb.map(2, {0, 1})},
                   {kPar, kPar},
                   [&](OpBuilder &nb, Location loc, ValueRange args) {
                     Value value = arith::SelectOp::create(nb, loc, args[1],
                                                           args[0], zero);
                     if (!elt.isF32())
                       value = arith::TruncFOp::create(nb, loc, elt, value);
                     yield(nb, loc, value);
                   })
            .getResult(0);
    return tensor::InsertSliceOp::create(
        b, tile, dq, ArrayRef<OpFoldResult>{b0, head, i0, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1), rows,
                               b.getIndexAttr(shape.headDim)},
        SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
  }

  const BandedTiles &tiles;
  const BandedShape &shape;
  const BandedValues &v;
  GradOperands in;
  double scale;
};

/// A zero f32 accumulator shaped like `destination`: the destination itself
/// when it is f32 (accumulated in place), else a new tensor.
Value zeroAccumulator(ImplicitLocOpBuilder &b, Value destination) {
  SmallVector<OpFoldResult> sizes =
      tensor::getMixedSizes(b, b.getLoc(), destination);
  Value init = destination;
  if (!cast<ShapedType>(destination.getType()).getElementType().isF32())
    init = tensor::EmptyOp::create(b, sizes, b.getF32Type());
  Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0));
  return linalg::FillOp::create(b, ValueRange{zero}, ValueRange{init})
      .getResult(0);
}

/// The accumulated f32 gradient in `destination`'s element type.
Value convertAccumulator(ImplicitLocOpBuilder &b, Value acc,
                         Value destination) {
  Type elt = cast<ShapedType>(destination.getType()).getElementType();
  if (elt.isF32())
    return acc;
  LinalgBuilder lb{b};
  auto identity = AffineMap::getMultiDimIdentityMap(4, b.getContext());
  return lb
      .generic({acc}, {destination}, {identity, identity},
               {kPar, kPar, kPar, kPar},
               [&](OpBuilder &nb, Location loc, ValueRange args) {
                 yield(nb, loc,
                       arith::TruncFOp::create(nb, loc, elt, args[0])
                           .getResult());
               })
      .getResult(0);
}

struct AttentionGradToLinalg : public BandedOpPattern<AttentionGradOp> {
  using BandedOpPattern::BandedOpPattern;

  LogicalResult lower(AttentionGradOp op, ImplicitLocOpBuilder &b,
                      const BandedTiles &tiles,
                      PatternRewriter &rewriter) const override {
    Emitter e{b};
    GradOperands in{op.getQuery(),  op.getKey(),       op.getValue(),
                    op.getOutput(), op.getLogSumExp(), op.getOutputGrad()};
    AttentionGradLowering lowering(tiles, in, op.getEffectiveScale());

    SmallVector<Value> state = {op.getQueryGrad(),
                                zeroAccumulator(b, op.getKeyGrad()),
                                zeroAccumulator(b, op.getValueGrad())};
    Value batch = e.dim(op.getQuery(), 0);
    ValueRange results = tiles.workItemLoops(
        b, batch, state,
        [&](ImplicitLocOpBuilder &tb, Value b0, Value head, Value kvHead,
            Value i0, ValueRange tileArgs) {
          return lowering.workItem(tb, b0, head, kvHead, i0, tileArgs);
        });
    Value dk = convertAccumulator(b, results[1], op.getKeyGrad());
    Value dv = convertAccumulator(b, results[2], op.getValueGrad());
    rewriter.replaceOp(op, ValueRange{results[0], dk, dv});
    return success();
  }
};

} // namespace

void linalg_lowering::populateAttentionGradToLinalgPatterns(
    RewritePatternSet &patterns, const SpaToLinalgOptions &options) {
  patterns.add<AttentionGradToLinalg>(patterns.getContext(), options);
}
