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

#include "BandedTiles.h"
#include "spa/Conversion/Utils/BandGeometry.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <limits>
#include <numeric>

using namespace mlir;
using namespace mlir::spa;
using namespace mlir::spa::linalg_lowering;

namespace {

/// Accumulator rows updated together by the P V rank-1 updates: 8 rows plus
/// the L rows of Pt stay within 32 vector registers.
constexpr int64_t kValueRowsPerBlock = 8;

/// Small vector emitters on an ImplicitLocOpBuilder.
struct VectorEmitter {
  ImplicitLocOpBuilder &b;
  int64_t lanes;

  Type f32() { return b.getF32Type(); }
  VectorType row() { return VectorType::get({lanes}, f32()); }
  Value splat(VectorType type, Value scalar) {
    return vector::BroadcastOp::create(b, type, scalar);
  }
  Value splatF32(VectorType type, double x) {
    return splat(type, arith::ConstantOp::create(b, b.getF32FloatAttr(x)));
  }
  /// 2^x as exp(x ln 2) (see the file header).
  Value exp2(Value x) {
    auto type = cast<VectorType>(x.getType());
    return math::ExpOp::create(
        b, arith::MulFOp::create(b, x, splatF32(type, M_LN2)));
  }
  /// A transfer of the trailing dims; `firstInBounds` = false lets the
  /// leading vector dim run past the source (reads give 0, writes drop).
  Value read(VectorType type, Value source, ValueRange indices,
             bool firstInBounds = true) {
    Value pad = arith::ConstantOp::create(
        b, b.getZeroAttr(getElementTypeOrSelf(source.getType())));
    SmallVector<bool> inBounds(type.getRank(), true);
    inBounds[0] = firstInBounds;
    return vector::TransferReadOp::create(b, type, source, indices, pad,
                                          ArrayRef<bool>(inBounds));
  }
  Value write(Value vector, Value dest, ValueRange indices,
              bool firstInBounds = true) {
    SmallVector<bool> inBounds(cast<VectorType>(vector.getType()).getRank(),
                               true);
    inBounds[0] = firstInBounds;
    return vector::TransferWriteOp::create(b, vector, dest, indices,
                                           ArrayRef<bool>(inBounds))
        .getResult();
  }
};

/// One op's vector lowering: per work item, the online softmax over the
/// key blocks the band walk hands it.
class VectorAttentionLowering {
public:
  VectorAttentionLowering(const BandedTiles &tiles, Value query, Value key,
                          Value value)
      : tiles(tiles), shape(tiles.getShape()), v(tiles.getValues()),
        lanes(shape.tileQ), query(query), key(key), value(value) {}

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
    // the score loop reads one row per step. Built in column chunks of
    // [L, C] (C = gcd(D, L)) under a loop: a whole [L, D] transpose is
    // unrolled into D x L element moves, so its compile time grew faster
    // than linearly in D.
    Value zero = e.index(0);
    int64_t qChunk = columnChunk(shape.headDim);
    Value qtBuffer = forEachColumnChunk(
        b, shape.headDim, qChunk,
        tensor::EmptyOp::create(b, ArrayRef<int64_t>{shape.headDim, lanes},
                                ve.f32()),
        [&](ImplicitLocOpBuilder &cb, Value c0, Value buffer) {
          VectorEmitter cve{cb, lanes};
          Emitter ce{cb};
          // Rows past Nq read as zeros (their results are never written).
          Value q = cve.read(
              VectorType::get({lanes, qChunk}, shape.elementType), query,
              {b0, head, i0, c0}, /*firstInBounds=*/false);
          q = toF32Vector(cb, q);
          q = arith::MulFOp::create(
              cb, q,
              cve.splatF32(cast<VectorType>(q.getType()), shape.scaleLog2));
          Value qt =
              vector::TransposeOp::create(cb, q, ArrayRef<int64_t>{1, 0});
          return cve.write(qt, buffer, {c0, ce.index(0)});
        });

    int64_t accChunk = columnChunk(shape.valueDim);
    Value accInit = forEachColumnChunk(
        b, shape.valueDim, accChunk,
        tensor::EmptyOp::create(b, ArrayRef<int64_t>{shape.valueDim, lanes},
                                ve.f32()),
        [&](ImplicitLocOpBuilder &cb, Value c0, Value buffer) {
          VectorEmitter cve{cb, lanes};
          return cve.write(
              cve.splatF32(VectorType::get({accChunk, lanes}, cve.f32()),
                           0.0),
              buffer, {c0, Emitter{cb}.index(0)});
        });
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
    // Read as bytes: a vector of i1 loads packed bits, not i1 elements.
    auto byteRow = VectorType::get({lanes}, b.getI8Type());
    Value bytes = tiles.rowsWithKeys(b, b.getIndexAttr(lanes), firstPos, head,
                                     b.getI8Type());
    Value hasKeys = arith::CmpIOp::create(
        b, arith::CmpIPredicate::ne, ve.read(byteRow, bytes, {zero}),
        arith::ConstantOp::create(b, b.getZeroAttr(byteRow)));
    return finalize(b, final, hasKeys, realRows, withLse);
  }

private:
  Value toF32Vector(ImplicitLocOpBuilder &b, Value x) const {
    auto type = cast<VectorType>(x.getType());
    if (type.getElementType().isF32())
      return x;
    return arith::ExtFOp::create(
        b, VectorType::get(type.getShape(), b.getF32Type()), x);
  }

  /// The rows j0 .. j0 + L - 1 of a key block, clamped to the last key:
  /// a block may reach past Nk (those keys are masked), and clamping keeps
  /// its loads inside the tensor without padding it.
  SmallVector<Value> keyRows(ImplicitLocOpBuilder &b, Value j0) const {
    Emitter e{b};
    Value lastKey = e.sub(v.keyLen, e.index(1));
    SmallVector<Value> rows;
    for (int64_t j = 0; j < lanes; ++j)
      rows.push_back(e.min(e.add(j0, e.index(j)), lastKey));
    return rows;
  }

  /// tensor[b0, kvHead, row, col] as an f32 scalar.
  Value scalarAt(ImplicitLocOpBuilder &b, Value tensor, Value b0,
                 Value kvHead, Value row, Value col) const {
    Value x = tensor::ExtractOp::create(b, tensor,
                                        ValueRange{b0, kvHead, row, col});
    return toF32(b, b.getLoc(), x);
  }

  /// St[j] = sum_d K[j0 + j, d] Qt[d] for the block's L keys (one vector
  /// per key; separate values, not one 2-D vector, so nothing is ever
  /// reassembled element by element).
  SmallVector<Value> scores(ImplicitLocOpBuilder &b, Value qtBuffer, Value b0,
                            Value kvHead, ArrayRef<Value> rowsOfKeys) const {
    Emitter e{b};
    VectorEmitter ve{b, lanes};
    SmallVector<Value> init(lanes, ve.splatF32(ve.row(), 0.0));
    auto loop = scf::ForOp::create(
        b, e.index(0), e.index(shape.headDim), e.index(1), init,
        [&](OpBuilder &lb, Location loc, Value d, ValueRange args) {
          ImplicitLocOpBuilder ib(loc, lb);
          VectorEmitter ive{ib, lanes};
          Value qRow = ive.read(ive.row(), qtBuffer,
                                {d, arith::ConstantIndexOp::create(ib, 0)});
          SmallVector<Value> acc;
          for (int64_t j = 0; j < lanes; ++j) {
            Value k = ive.splat(ive.row(),
                                scalarAt(ib, key, b0, kvHead, rowsOfKeys[j], d));
            acc.push_back(vector::FMAOp::create(ib, k, qRow, args[j]));
          }
          scf::YieldOp::create(ib, acc);
        });
    return SmallVector<Value>(loop.getResults());
  }

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
    SmallVector<Value> rowsOfKeys = keyRows(b, j0);
    SmallVector<Value> st = scores(b, qtBuffer, b0, kvHead, rowsOfKeys);
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
    Value newAcc =
        accumulateValues(b, accT, alpha, pt, b0, kvHead, rowsOfKeys);
    return {newMax, newSum, newAcc};
  }

  /// AccT[e] = alpha AccT[e] + sum_j V[j0 + j, e] Pt[j], kValueRowsPerBlock
  /// rows of AccT at a time.
  Value accumulateValues(ImplicitLocOpBuilder &b, Value accT, Value alpha,
                         ArrayRef<Value> pt, Value b0, Value kvHead,
                         ArrayRef<Value> rowsOfKeys) const {
    Emitter e{b};
    // The largest power of two up to kValueRowsPerBlock dividing Dv.
    int64_t block = kValueRowsPerBlock;
    while (shape.valueDim % block)
      block /= 2;
    auto loop = scf::ForOp::create(
        b, e.index(0), e.index(shape.valueDim), e.index(block),
        ValueRange{accT},
        [&](OpBuilder &lb, Location loc, Value e0, ValueRange args) {
          ImplicitLocOpBuilder ib(loc, lb);
          Emitter ie{ib};
          VectorEmitter ive{ib, lanes};
          Value zero = ie.index(0);
          SmallVector<Value> accRows, rowIndex;
          for (int64_t r = 0; r < block; ++r) {
            rowIndex.push_back(ie.add(e0, ie.index(r)));
            accRows.push_back(arith::MulFOp::create(
                ib, ive.read(ive.row(), args[0], {rowIndex[r], zero}), alpha));
          }
          for (int64_t j = 0; j < lanes; ++j)
            for (int64_t r = 0; r < block; ++r) {
              Value x = ive.splat(ive.row(), scalarAt(ib, value, b0, kvHead,
                                                       rowsOfKeys[j], rowIndex[r]));
              accRows[r] = vector::FMAOp::create(ib, x, pt[j], accRows[r]);
            }
          Value acc = args[0];
          for (int64_t r = 0; r < block; ++r)
            acc = ive.write(accRows[r], acc, {rowIndex[r], zero});
          scf::YieldOp::create(ib, acc);
        });
    return loop.getResult(0);
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
    int64_t chunk = columnChunk(shape.valueDim);
    Value outTile = forEachColumnChunk(
        b, shape.valueDim, chunk,
        tileOf({1, 1, ShapedType::kDynamic, shape.valueDim},
               shape.elementType),
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

  /// Columns per chunk of the per-item transposes: gcd(width, L), so the
  /// chunks tile the width exactly.
  int64_t columnChunk(int64_t width) const {
    return std::gcd(width, lanes);
  }

  /// `body(c0, value)` for the column chunks c0 = 0, C, ..., width - C,
  /// threading `init` through them: one chunk inline when it is the whole
  /// width, else an scf.for (the chunk's code exists once).
  Value forEachColumnChunk(
      ImplicitLocOpBuilder &b, int64_t width, int64_t chunk, Value init,
      function_ref<Value(ImplicitLocOpBuilder &, Value, Value)> body) const {
    Emitter e{b};
    if (chunk == width)
      return body(b, e.index(0), init);
    auto loop = scf::ForOp::create(
        b, e.index(0), e.index(width), e.index(chunk), ValueRange{init},
        [&](OpBuilder &nb, Location l, Value c0, ValueRange carried) {
          ImplicitLocOpBuilder ib(l, nb);
          scf::YieldOp::create(ib, body(ib, c0, carried.front()));
        });
    return loop.getResult(0);
  }

  const BandedTiles &tiles;
  const BandedShape &shape;
  const BandedValues &v;
  int64_t lanes;
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
    SmallVector<OpFoldResult> upper = {e.dim(op.getQuery(), 0),
                                       b.getIndexAttr(shape.numQueryHeads),
                                       queryBlocks};
    auto forall = scf::ForallOp::create(
        b, upper, op.getOutputs(), std::nullopt,
        [&](OpBuilder &fb, Location loc, ValueRange args) {
          ImplicitLocOpBuilder ib(loc, fb);
          Emitter ie{ib};
          Value b0 = args[0], head = args[1];
          Value block = ie.sub(ie.sub(queryBlocks, ie.index(1)), args[2]);
          Value i0 = ie.mul(block, ie.index(lanes));
          Value kvHead = ie.div(head, ie.index(shape.groupSize));
          Value rows = ie.min(ie.index(lanes), ie.sub(v.queryLen, i0));
          SmallVector<Value> tilesOut =
              lowering.workItem(ib, b0, head, kvHead, i0, rows, hasLse);
          auto inParallel = scf::InParallelOp::create(ib);
          ib.setInsertionPointToStart(inParallel.getBody());
          for (auto [index, tile] : llvm::enumerate(tilesOut)) {
            int64_t rank = cast<RankedTensorType>(tile.getType()).getRank();
            SmallVector<OpFoldResult> offsets = {b0, head, i0};
            SmallVector<OpFoldResult> sizes = {ib.getIndexAttr(1),
                                               ib.getIndexAttr(1), rows};
            if (rank == 4) {
              offsets.push_back(ib.getIndexAttr(0));
              sizes.push_back(ib.getIndexAttr(shape.valueDim));
            }
            tensor::ParallelInsertSliceOp::create(
                ib, tile, args[3 + index], offsets, sizes,
                SmallVector<OpFoldResult>(rank, ib.getIndexAttr(1)));
          }
        });
    forall->setAttr(kWorkItemsAttrName, b.getUnitAttr());
    rewriter.replaceOp(op, forall.getResults());
    return success();
  }
};

} // namespace

void linalg_lowering::populateVectorAttentionPatterns(
    RewritePatternSet &patterns, const SpaToLinalgOptions &options) {
  SpaToLinalgOptions vectorForm = options;
  // One vector of query rows per work item, square blocks of keys.
  vectorForm.tileQ = vectorForm.tileK = options.vectorLanes;
  vectorForm.staticTiles = false;
  patterns.add<VectorAttentionToLinalg>(patterns.getContext(), vectorForm);
}
