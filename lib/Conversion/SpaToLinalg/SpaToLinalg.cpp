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
// The work-item loops, the slot/side/key-tile walk, the band table, the
// edge-tile mask and the rows-with-keys test live in BandedTiles.h, shared
// with the gradient's lowering (AttentionGradToLinalg.cpp); this file holds
// the forward's online softmax and the pass, which lowers both ops.
//
// With the `static-tiles` option the forward keeps every tile at exactly
// tile-q x tile-k (padded operands, keys past the range masked, padded rows
// sliced off): IREE cannot compile dynamically sized loop-carried tensors.
//
//===----------------------------------------------------------------------===//

#include "BandedTiles.h"
#include "spa/Conversion/SpaToLinalg/SpaToLinalg.h"
#include "spa/Conversion/Utils/BandGeometry.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
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

using namespace mlir::spa::linalg_lowering;

/// The forward lowering of one op: the work item's online softmax over the
/// key tiles the shared band walk hands it.
class AttentionLowering {
public:
  AttentionLowering(const BandedTiles &tiles, Value query, Value key,
                    Value value)
      : tiles(tiles), shape(tiles.getShape()), v(tiles.getValues()),
        query(query), key(key), value(value) {}

  /// One work item (b0, head, rows [i0, i0 + tq)): returns {out, lse}.
  SmallVector<Value> workItem(ImplicitLocOpBuilder &b, Value b0, Value head,
                              Value kvHead, Value i0, Value out,
                              Value lse) const {
    Emitter e{b};
    LinalgBuilder lb{b};
    Value realRows = e.min(e.index(shape.tileQ), e.sub(v.queryLen, i0));
    // Static tiles: always tile-q rows of the padded query (rows past Nq
    // are computed and dropped).
    OpFoldResult rows = shape.staticTiles
                            ? OpFoldResult(b.getIndexAttr(shape.tileQ))
                            : OpFoldResult(realRows);
    Value queryTile =
        tiles.rowSlice(b, query, b0, head, i0, rows, shape.headDim);
    Value firstPos = e.add(i0, v.positionOffset);
    Value lastPos = e.sub(e.add(firstPos, realRows), e.index(1));

    SmallVector<Value> state = {
        lb.filled({rows}, -std::numeric_limits<double>::infinity()),
        lb.filled({rows}, 0.0),
        lb.filled({rows, b.getIndexAttr(shape.valueDim)}, 0.0)};

    ValueRange final = tiles.forEachKeyTile(
        b, head, firstPos, lastPos, state,
        [&](ImplicitLocOpBuilder &kb, Value j0, Value end, Value lo, Value hi,
            int side, ValueRange keyState) {
          return keyTile(kb, queryTile, b0, kvHead, j0, rows, end, firstPos,
                         lastPos, lo, hi, side, keyState);
        });
    Value hasKeys = tiles.rowsWithKeys(b, rows, firstPos, head);
    return finalize(b, final, hasKeys, rows, out, lse, b0, head, i0);
  }

private:
  /// One key tile: scores, mask on edge tiles only, online-softmax update.
  SmallVector<Value> keyTile(ImplicitLocOpBuilder &b, Value queryTile, Value b0,
                             Value kvHead, Value j0, OpFoldResult rows,
                             Value end, Value firstPos, Value lastPos, Value lo,
                             Value hi, int side, ValueRange state) const {
    Emitter e{b};
    LinalgBuilder lb{b};
    // Static tiles: always tile-k keys of the padded key/value tensors;
    // keys from `end` on are masked.
    Value width = shape.staticTiles
                      ? e.index(shape.tileK)
                      : e.min(e.index(shape.tileK), e.sub(end, j0));
    OpFoldResult cols = shape.staticTiles
                            ? OpFoldResult(b.getIndexAttr(shape.tileK))
                            : OpFoldResult(width);
    Value keyTile = tiles.rowSlice(b, key, b0, kvHead, j0, cols, shape.headDim);
    Value valueTile =
        tiles.rowSlice(b, value, b0, kvHead, j0, cols, shape.valueDim);

    // S[i, j] = sum_d Q[i, d] K[j, d], accumulated in f32.
    Value scores = lb.productTransposed(queryTile, keyTile, rows, cols);

    // Interior: every (row, key) pair has its distance in [lo, hi).
    Value lastKey = e.sub(e.add(j0, width), e.index(1));
    Value interior = BandGeometry{e, firstPos, lastPos, v.keyLen}.tileInside(
        j0, lastKey, lo, hi, side);
    if (shape.staticTiles)
      interior = e.andi(interior,
                        e.cmp(arith::CmpIPredicate::slt, lastKey, end));
    Value keyEnd = shape.staticTiles ? end : Value();
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
                     Value inBand = tiles.admissible(body, firstPos, j0, lo,
                                                     hi, side, keyEnd);
                     yield(bb, l, arith::SelectOp::create(body, inBand, scaled,
                                                          negInf)
                                      .getResult());
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
                                         Value valueTile, OpFoldResult rows,
                                         OpFoldResult cols,
                                         ValueRange state) const {
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
    // acc[i, d] += sum_j P[i, j] V[j, d]; loop dims (i, j, d): the
    // innermost loop runs along rows of V and acc, contiguous.
    Value newAcc =
        lb.generic({probabilities, valueTile}, {scaledAcc},
                   {lb.map(3, {0, 1}), lb.map(3, {1, 2}), lb.map(3, {0, 2})},
                   {kPar, kRed, kPar},
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
                              Value hasKeys, OpFoldResult rows, Value out,
                              Value lse,
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

  const BandedTiles &tiles;
  const BandedShape &shape;
  const BandedValues &v;
  Value query, key, value;
};

/// The sizes of `shaped` (static as attributes, dynamic by tensor.dim).
static SmallVector<OpFoldResult> sizesOf(ImplicitLocOpBuilder &b,
                                         Value shaped) {
  SmallVector<OpFoldResult> sizes;
  auto type = cast<RankedTensorType>(shaped.getType());
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(type.isDynamicDim(d)
                        ? OpFoldResult(tensor::DimOp::create(b, shaped, d))
                        : OpFoldResult(b.getIndexAttr(type.getDimSize(d))));
  return sizes;
}

/// `source` with `extra` zero rows appended along dim 2 (the sequence).
static Value padSequence(ImplicitLocOpBuilder &b, Value source,
                         OpFoldResult extra) {
  auto type = cast<RankedTensorType>(source.getType());
  SmallVector<OpFoldResult> low(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> high = low;
  high[2] = extra;
  Value zero = arith::ConstantOp::create(
      b, b.getZeroAttr(type.getElementType()));
  return tensor::PadOp::create(b, Type(), source, low, high, zero);
}

/// The static-tile form's operands: query padded to whole query tiles,
/// key and value by one key tile (a tile may start at any key of its
/// range), and destinations of the padded query length.
struct PaddedOperands {
  Value query, key, value;
  SmallVector<Value> outputs;
};

static PaddedOperands padOperands(ImplicitLocOpBuilder &b, AttentionOp op,
                                  const BandedShape &shape) {
  Emitter e{b};
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  OpFoldResult queryPad;
  if (queryType.isDynamicDim(2)) {
    Value nq = e.dim(op.getQuery(), 2);
    Value tq = e.index(shape.tileQ);
    Value whole = e.mul(e.div(e.add(nq, e.index(shape.tileQ - 1)), tq), tq);
    queryPad = e.sub(whole, nq);
  } else {
    int64_t nq = queryType.getDimSize(2);
    queryPad = b.getIndexAttr(llvm::divideCeil(nq, shape.tileQ) * shape.tileQ -
                              nq);
  }
  PaddedOperands padded;
  padded.query = padSequence(b, op.getQuery(), queryPad);
  padded.key = padSequence(b, op.getKey(), b.getIndexAttr(shape.tileK));
  padded.value = padSequence(b, op.getValue(), b.getIndexAttr(shape.tileK));
  OpFoldResult paddedLen =
      sizesOf(b, padded.query)[2];
  for (Value out : op.getOutputs()) {
    SmallVector<OpFoldResult> sizes = sizesOf(b, out);
    sizes[2] = paddedLen;
    padded.outputs.push_back(tensor::EmptyOp::create(
        b, sizes, cast<ShapedType>(out.getType()).getElementType()));
  }
  return padded;
}

/// `padded` results cut back to the sizes of the op's `outputs` (drops the
/// padded query rows).
static SmallVector<Value> sliceOffPadding(ImplicitLocOpBuilder &b,
                                          ValueRange padded,
                                          ValueRange outputs) {
  SmallVector<Value> results;
  for (auto [result, out] : llvm::zip(padded, outputs)) {
    auto type = cast<RankedTensorType>(out.getType());
    SmallVector<OpFoldResult> zeros(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> ones(type.getRank(), b.getIndexAttr(1));
    results.push_back(tensor::ExtractSliceOp::create(b, type, result, zeros,
                                                     sizesOf(b, out), ones));
  }
  return results;
}

struct AttentionToLinalg : public BandedOpPattern<AttentionOp> {
  using BandedOpPattern::BandedOpPattern;

  LogicalResult lower(AttentionOp op, ImplicitLocOpBuilder &b,
                      const BandedTiles &tiles,
                      PatternRewriter &rewriter) const override {
    Emitter e{b};
    const BandedShape &shape = tiles.getShape();
    PaddedOperands operands{op.getQuery(), op.getKey(), op.getValue(),
                            SmallVector<Value>(op.getOutputs())};
    if (shape.staticTiles)
      operands = padOperands(b, op, shape);
    AttentionLowering lowering(tiles, operands.query, operands.key,
                               operands.value);

    Value batch = e.dim(op.getQuery(), 0);
    bool hasLse = op.getOutputs().size() == 2;
    // for b, for h, for i0: thread (out, lse) through iter_args.
    ValueRange loopResults = tiles.workItemLoops(
        b, batch, operands.outputs,
        [&](ImplicitLocOpBuilder &tb, Value b0, Value head, Value kvHead,
            Value i0, ValueRange tileArgs) {
          return lowering.workItem(tb, b0, head, kvHead, i0, tileArgs[0],
                                   hasLse ? tileArgs[1] : Value());
        });
    SmallVector<Value> results(loopResults);
    if (shape.staticTiles)
      results = sliceOffPadding(b, results, op.getOutputs());
    rewriter.replaceOp(op, results);
    return success();
  }
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
    if (vectorLanes != 0 &&
        (vectorLanes < 2 || vectorLanes > 64 || !llvm::isPowerOf2_64(vectorLanes))) {
      emitError(getOperation()->getLoc())
          << "convert-spa-to-linalg: vector-lanes must be 0 or a power of two "
             "from 2 to 64, got "
          << vectorLanes.getValue();
      return signalPassFailure();
    }
    // Diagnose what the pattern cannot lower before rewriting anything.
    bool forwardOnly = staticTiles && vectorLanes == 0;
    WalkResult check = getOperation()->walk([&](BandedAttentionOpInterface op) {
      if (forwardOnly && isa<AttentionGradOp>(op)) {
        op->emitOpError("has no static-tile form: convert-spa-to-linalg "
                        "with static-tiles=true lowers spa.attention only");
        return WalkResult::interrupt();
      }
      if (!op.hasPureTensorSemantics()) {
        op->emitOpError("convert-spa-to-linalg expects tensor semantics; run "
                       "it before bufferization");
        return WalkResult::interrupt();
      }
      if (!op.getBandTable() && !op.getBandBounds()) {
        op->emitOpError("has an unresolved band policy; run "
                       "-spa-balance-bands first");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (check.wasInterrupted())
      return signalPassFailure();

    RewritePatternSet patterns(&getContext());
    populateSpaToLinalgPatterns(patterns,
                                {tileQ, tileK, staticTiles, vectorLanes});
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    if (vectorLanes > 0 && failed(approximateWorkItemMath()))
      return signalPassFailure();
  }

  /// The vector form's exp ops -> upstream's polynomial approximation (on
  /// whole vectors, where libm would be called per lane). Only inside the
  /// work items this pass made: the rest of the module keeps its math.
  LogicalResult approximateWorkItemMath() {
    SmallVector<Operation *> exps;
    getOperation()->walk([&](scf::ForallOp forall) {
      if (forall->hasAttr(linalg_lowering::kWorkItemsAttrName))
        forall->walk([&](math::ExpOp exp) { exps.push_back(exp); });
    });
    if (exps.empty())
      return success();
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns,
        [](StringRef name) { return name == math::ExpOp::getOperationName(); });
    return applyOpPatternsGreedily(exps, std::move(patterns));
  }
};

} // namespace

void mlir::spa::populateSpaToLinalgPatterns(
    RewritePatternSet &patterns, const SpaToLinalgOptions &options) {
  if (options.vectorLanes > 0) {
    linalg_lowering::populateVectorAttentionPatterns(patterns, options);
    linalg_lowering::populateVectorAttentionGradPatterns(patterns, options);
    return;
  }
  patterns.add<AttentionToLinalg>(patterns.getContext(), options);
  linalg_lowering::populateAttentionGradToLinalgPatterns(patterns, options);
}
