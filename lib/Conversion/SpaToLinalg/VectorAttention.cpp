//===- VectorAttention.cpp - spa.attention -> CPU vector tile bodies ------===//
//
// The CPU form of the forward lowering (`vector-lanes` = L > 0): the same
// band walk as the linalg form (BandedTiles.h), with each L x L block of
// (query, key) pairs computed in registers by `vector` ops, and the work
// items in one `scf.forall` so the pipeline can run them on threads.
//
// Layout: the queries of a work item are the L lanes of every vector, so
// every product is a rank-1 update "row(k) += scalar(k, r) * lanes(k)" whose
// scalar is a broadcast load and whose vector is contiguous; no horizontal
// reduction anywhere:
//
//   Qt      = transpose(Q tile) * scale * log2(e)      // [D][L], once per item,
//                                                      // in [gcd(D, L)][L] chunks
//   St[j]   = sum_d K[j0 + j, d] * Qt[d]               // scores, key j x L queries
//   St[j]   = band(j) ? St[j] : -inf                   // edge blocks only
//   m'      = max(m, max_j St[j]); ms = (m' == -inf ? 0 : m')
//   alpha   = 2^(m - ms);  Pt[j] = 2^(St[j] - ms);  l' = alpha l + sum_j Pt[j]
//   AccT[e] = alpha AccT[e] + sum_j V[j0 + j, e] * Pt[j] // [Dv][L], blocks of 8 rows
//   out     = transpose(AccT / l), lse = (m + log2 l) ln 2; rows without keys 0, -inf
//
// 2^x is emitted as exp(x ln 2): the pass replaces these `math.exp` ops by
// upstream's polynomial approximation (vectorised; NaN and -inf handled).
// Nothing is padded or copied: every block is L x L, the key rows a block
// reads are clamped to the last key (keys past a key range's end are
// masked), the query rows past Nq read as zeros, and the tiles written back
// hold the real rows only.
//
//===----------------------------------------------------------------------===//

#include "VectorTiles.h"
#include "spa/Conversion/Utils/BandGeometry.h"

#include "mlir/IR/PatternMatch.h"

#include <limits>

using namespace mlir;
using namespace mlir::spa;
using namespace mlir::spa::linalg_lowering;

namespace {

/// One op's vector lowering: per work item, the online softmax over the
/// key blocks the band walk hands it.
class VectorAttentionLowering {
public:
  VectorAttentionLowering(const BandedTiles &tiles, Value query, Value key,
                          Value value)
      : tiles(tiles), shape(tiles.getShape()), v(tiles.getValues()),
        lanes(shape.tileQ), ops(lanes), query(query), key(key), value(value) {}

  /// Work item (b0, head, rows [i0, i0 + realRows), realRows <= L):
  /// returns the output tile [1, 1, realRows, Dv] in the element type and,
  /// with `withLse`, the log-sum-exp tile [1, 1, realRows] in f32.
  SmallVector<Value> workItem(ImplicitLocOpBuilder &b, Value b0, Value head,
                              Value kvHead, Value i0, Value realRows,
                              bool withLse) const {
    Emitter e{b};
    VectorEmitter ve{b, lanes};
    Value firstPos = e.add(i0, v.positionOffset);
    Value lastPos = e.sub(e.add(firstPos, realRows), e.index(1));

    // Qt = transpose(Q tile) * scale log2(e), kept in a [D, L] buffer that
    // the score loop reads one row per step.
    Value qtBuffer = ops.transposedRows(b, query, b0, head, i0, shape.headDim,
                                        shape.scaleLog2);
    Value accInit = ops.zeroBuffer(b, shape.valueDim);
    SmallVector<Value> state = {
        ve.splatF32(ve.row(), -std::numeric_limits<double>::infinity()),
        ve.splatF32(ve.row(), 0.0), accInit};

    ValueRange final = tiles.forEachKeyTile(
        b, head, firstPos, lastPos, state,
        [&](ImplicitLocOpBuilder &kb, Value j0, Value end, Value lo, Value hi,
            int side, ValueRange keyState) {
          return keyBlock(kb, qtBuffer, b0, kvHead, j0, end, firstPos,
                          lastPos, lo, hi, side, keyState);
        });
    Value hasKeys = rowsWithKeysMask(b, tiles, lanes, firstPos, head);
    return finalize(b, final, hasKeys, realRows, withLse);
  }

private:
  /// Rows of St outside the interval (or past the key range's end) -> -inf.
  SmallVector<Value> mask(ImplicitLocOpBuilder &b, ArrayRef<Value> st,
                          Value firstPos, Value j0, Value end, Value lo,
                          Value hi, int side) const {
    Emitter e{b};
    VectorEmitter ve{b, lanes};
    auto indexRow = VectorType::get({lanes}, b.getIndexType());
    Value positions = arith::AddIOp::create(
        b, ve.splat(indexRow, firstPos), vector::StepOp::create(b, indexRow));
    Value loRow = ve.splat(indexRow, lo), hiRow = ve.splat(indexRow, hi);
    Value endRow = ve.splat(indexRow, end);
    Value negInf =
        ve.splatF32(ve.row(), -std::numeric_limits<double>::infinity());
    SmallVector<Value> masked;
    for (int64_t j = 0; j < lanes; ++j) {
      Value keyRow = ve.splat(indexRow, e.add(j0, e.index(j)));
      Value keep =
          pairInBand(b, positions, keyRow, loRow, hiRow, side, endRow);
      masked.push_back(arith::SelectOp::create(b, keep, st[j], negInf));
    }
    return masked;
  }

  /// One key block: scores, the mask on edge blocks, the online softmax and
  /// AccT += Pt^T-weighted value rows.
  SmallVector<Value> keyBlock(ImplicitLocOpBuilder &b, Value qtBuffer,
                              Value b0, Value kvHead, Value j0, Value end,
                              Value firstPos, Value lastPos, Value lo,
                              Value hi, int side, ValueRange state) const {
    Emitter e{b};
    VectorEmitter ve{b, lanes};
    SmallVector<Value> rowsOfKeys =
        ops.clampedRows(b, j0, e.sub(v.keyLen, e.index(1)));
    SmallVector<Value> st = ops.rowProducts(b, qtBuffer, key, b0, kvHead,
                                            rowsOfKeys, shape.headDim);
    Value lastKey = e.add(j0, e.index(lanes - 1));
    Value interior = e.andi(
        BandGeometry{e, firstPos, lastPos, v.keyLen}.tileInside(j0, lastKey,
                                                                lo, hi, side),
        e.cmp(arith::CmpIPredicate::slt, lastKey, end));
    auto ifOp = scf::IfOp::create(
        b, interior,
        [&](OpBuilder &nb, Location loc) { scf::YieldOp::create(nb, loc, st); },
        [&](OpBuilder &nb, Location loc) {
          ImplicitLocOpBuilder ib(loc, nb);
          scf::YieldOp::create(
              ib, mask(ib, st, firstPos, j0, end, lo, hi, side));
        });
    st.assign(ifOp.getResults().begin(), ifOp.getResults().end());

    Value m = state[0], l = state[1], accT = state[2];
    Value tileMax = st[0];
    for (int64_t j = 1; j < lanes; ++j)
      tileMax = arith::MaximumFOp::create(b, tileMax, st[j]);
    Value newMax = arith::MaximumFOp::create(b, m, tileMax);
    Value negInf =
        ve.splatF32(ve.row(), -std::numeric_limits<double>::infinity());
    Value isEmpty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                          newMax, negInf);
    Value safeMax = arith::SelectOp::create(b, isEmpty,
                                            ve.splatF32(ve.row(), 0.0), newMax);
    Value alpha = ve.exp2(arith::SubFOp::create(b, m, safeMax));
    SmallVector<Value> pt;
    Value rowSum = ve.splatF32(ve.row(), 0.0);
    for (int64_t j = 0; j < lanes; ++j) {
      pt.push_back(
          ve.exp2(arith::SubFOp::create(b, st[j], safeMax)));
      rowSum = arith::AddFOp::create(b, rowSum, pt.back());
    }
    Value newSum = vector::FMAOp::create(b, alpha, l, rowSum);
    Value newAcc = ops.accumulateRankOne(b, accT, alpha, pt, value, b0, kvHead,
                                         rowsOfKeys, shape.valueDim);
    return {newMax, newSum, newAcc};
  }

  /// out = transpose(AccT / l) where the row has keys (else 0; NaN and Inf
  /// propagate through the division), lse = (m + log2 l) ln 2 (else -inf).
  SmallVector<Value> finalize(ImplicitLocOpBuilder &b, ValueRange state,
                              Value hasKeys, Value realRows,
                              bool withLse) const {
    VectorEmitter ve{b, lanes};
    Emitter e{b};
    Value m = state[0], l = state[1];
    Value zero = e.index(0);
    // Tiles of the real rows only: the rows past Nq are dropped here.
    auto tileOf = [&](ArrayRef<int64_t> sizes, Type type) -> Value {
      auto tensorType = RankedTensorType::get(sizes, type);
      return tensor::EmptyOp::create(b, tensorType, ValueRange{realRows});
    };
    // In column chunks of [C, L] -> [L, C], as Qt is built (workItem).
    int64_t chunk = ops.columnChunk(shape.valueDim);
    Value outTile = ops.forEachColumnChunk(
        b, shape.valueDim, chunk,
        tileOf({1, 1, ShapedType::kDynamic, shape.valueDim}, shape.elementType),
        [&](ImplicitLocOpBuilder &cb, Value c0, Value tile) {
          VectorEmitter cve{cb, lanes};
          Emitter ce{cb};
          auto accType = VectorType::get({chunk, lanes}, cve.f32());
          Value acc = cve.read(accType, state[2], {c0, ce.index(0)});
          Value quotient =
              arith::DivFOp::create(cb, acc, cve.splat(accType, l));
          auto maskType = VectorType::get({chunk, lanes}, cb.getI1Type());
          Value normalized = arith::SelectOp::create(
              cb, cve.splat(maskType, hasKeys), quotient,
              cve.splatF32(accType, 0.0));
          Value out = vector::TransposeOp::create(cb, normalized,
                                                  ArrayRef<int64_t>{1, 0});
          if (!shape.elementType.isF32())
            out = arith::TruncFOp::create(
                cb, VectorType::get({lanes, chunk}, shape.elementType), out);
          Value z = ce.index(0);
          return cve.write(out, tile, {z, z, z, c0}, /*firstInBounds=*/false);
        });
    if (!withLse)
      return {outTile};
    Value natural = arith::MulFOp::create(
        b, arith::AddFOp::create(b, m, math::Log2Op::create(b, l)),
        ve.splatF32(ve.row(), M_LN2));
    Value lse = arith::SelectOp::create(
        b, hasKeys, natural,
        ve.splatF32(ve.row(), -std::numeric_limits<double>::infinity()));
    Value lseTile =
        ve.write(lse, tileOf({1, 1, ShapedType::kDynamic}, ve.f32()),
                 {zero, zero, zero}, /*firstInBounds=*/false);
    return {outTile, lseTile};
  }

  const BandedTiles &tiles;
  const BandedShape &shape;
  const BandedValues &v;
  int64_t lanes;
  VectorTileOps ops;
  Value query, key, value;
};

struct VectorAttentionToLinalg : public BandedOpPattern<AttentionOp> {
  using BandedOpPattern::BandedOpPattern;

  LogicalResult lower(AttentionOp op, ImplicitLocOpBuilder &b,
                      const BandedTiles &tiles,
                      PatternRewriter &rewriter) const override {
    Emitter e{b};
    const BandedShape &shape = tiles.getShape();
    VectorAttentionLowering lowering(tiles, op.getQuery(), op.getKey(),
                                     op.getValue());
    bool hasLse = op.getOutputs().size() == 2;
    int64_t lanes = shape.tileQ;
    const BandedValues &v = tiles.getValues();
    Value queryBlocks =
        e.div(e.add(v.queryLen, e.index(lanes - 1)), e.index(lanes));
    // (batch, head, query block) with a head's blocks from the last one
    // down: under causal bands a later block reaches at least as many keys,
    // so each head's heaviest items come first and the dynamic schedule
    // ends on small ones; consecutive items share a head's keys and values
    // in cache (blocks outermost measured 2x slower on one thread at
    // N = 2048: every item a different head).
    SmallVector<Value> results = forEachWorkItem(
        b,
        {e.dim(op.getQuery(), 0), b.getIndexAttr(shape.numQueryHeads),
         queryBlocks},
        op.getOutputs(), [&](ImplicitLocOpBuilder &ib, ValueRange ivs) {
          Emitter ie{ib};
          Value b0 = ivs[0], head = ivs[1];
          Value block = ie.sub(ie.sub(queryBlocks, ie.index(1)), ivs[2]);
          Value i0 = ie.mul(block, ie.index(lanes));
          Value kvHead = ie.div(head, ie.index(shape.groupSize));
          Value rows = ie.min(ie.index(lanes), ie.sub(v.queryLen, i0));
          return ItemTiles{
              lowering.workItem(ib, b0, head, kvHead, i0, rows, hasLse),
              {b0, head, i0},
              rows};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void linalg_lowering::populateVectorAttentionPatterns(
    RewritePatternSet &patterns, const SpaToLinalgOptions &options) {
  // One vector of query rows per work item, square blocks of keys.
  patterns.add<VectorAttentionToLinalg>(patterns.getContext(),
                                        vectorFormOptions(options));
}
