//===- VectorAttentionGrad.cpp - spa.attention_grad -> CPU vector form ----===//
//
// The CPU form of the gradient lowering (`vector-lanes` = L > 0): two passes
// of work items, each pass one `scf.forall` the pipeline runs on threads,
// every product a rank-1 vector update (VectorTiles.h). The reference form
// (AttentionGradToLinalg.cpp) walks one query tile at a time and adds into
// dK and dV, so its work items cannot run in parallel; here each pass owns
// what it writes, as FlashAttention-2's two backward kernels do (S and dP
// are computed in both passes: seven products a pair instead of five, all
// of them parallel and deterministic):
//
//   pass 1, per (b, query head h, block of L query rows; lanes = rows),
//   the forward's band walk:
//     Qt = transpose(Q) * scale log2(e); dOt, Ot = transpose(dO), transpose(O)
//     Delta = sum_e dOt[e] * Ot[e]; L2 = lse * log2(e)      -> Delta scratch
//     per key block of L keys j:
//       St[j] = sum_d K[j, d] Qt[d];  dPt[j] = sum_e V[j, e] dOt[e]
//       dSt[j] = 2^(St[j] - L2) (dPt[j] - Delta)   (0 outside the band)
//       dQt[d] += K[j, d] dSt[j]
//     dQ = transpose(dQt) * scale, 0 on rows without keys
//
//   pass 2, per (b, key/value head g, block of L keys; lanes = keys), every
//   query head of the group, the mirror walk (BandedTiles::forEachQueryTile):
//     Kt = transpose(K) * scale log2(e); Vt = transpose(V)
//     per block of L query rows i (of the rows reaching the keys):
//       S'[i] = sum_d Q[i, d] Kt[d];  dP'[i] = sum_e dO[i, e] Vt[e]
//       P'[i] = 2^(S'[i] - L2[i]);  dS'[i] = P'[i] (dP'[i] - Delta[i])
//       (both 0 outside the band)
//       dVt[e] += dO[i, e] P'[i];  dKt[d] += Q[i, d] dS'[i]
//     dK = transpose(dKt) * scale; dV = transpose(dVt); keys no row reaches
//     stay 0
//
// Masks only on edge blocks, as selects after the arithmetic (the -inf lse
// of a row without keys never meets its -inf scores). Blocks reach past
// their ranges instead of being padded: the rows they read are clamped to
// the range's last row and masked; the rows past Nq (pass 1) or keys past
// Nk (pass 2) in the lanes read as zeros and are never written. NaN in an
// input reaches every gradient its pairs touch and, through 0 * NaN in the
// rank-1 updates of a block, may reach other rows or keys of that block
// (as in the reference form and the forward).
//
//===----------------------------------------------------------------------===//

#include "VectorTiles.h"
#include "spa/Conversion/Utils/BandGeometry.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::spa;
using namespace mlir::spa::linalg_lowering;

namespace {

class VectorAttentionGradLowering {
public:
  VectorAttentionGradLowering(const BandedTiles &tiles, const GradOperands &in,
                              double scale)
      : tiles(tiles), shape(tiles.getShape()), v(tiles.getValues()),
        lanes(shape.tileQ), ops(lanes), in(in), scale(scale) {}

  /// Pass 1, work item (b0, head, rows [i0, i0 + realRows)): the dQ tile
  /// [1, 1, realRows, D] in the element type and the Delta tile
  /// [1, 1, realRows] in f32.
  SmallVector<Value> queryItem(ImplicitLocOpBuilder &b, Value b0, Value head,
                               Value kvHead, Value i0, Value realRows) const {
    Emitter e{b};
    VectorEmitter ve{b, lanes};
    Value zero = e.index(0);
    Value firstPos = e.add(i0, v.positionOffset);
    Value lastPos = e.sub(e.add(firstPos, realRows), e.index(1));
    Value qt = ops.transposedRows(b, in.query, b0, head, i0, shape.headDim,
                                  shape.scaleLog2);
    Value dot = ops.transposedRows(b, in.outputGrad, b0, head, i0,
                                   shape.valueDim, std::nullopt);
    Value ot = ops.transposedRows(b, in.output, b0, head, i0, shape.valueDim,
                                  std::nullopt);
    Value delta = columnDot(b, dot, ot, shape.valueDim);
    // The forward stores the natural-log lse; P is recomputed in base 2.
    // Rows past Nq read lse 0 (never written).
    Value lseLog2 = arith::MulFOp::create(
        b, ve.read(ve.row(), in.logSumExp, {b0, head, i0}, false),
        ve.splatF32(ve.row(), M_LOG2E));

    ValueRange walked = tiles.forEachKeyTile(
        b, head, firstPos, lastPos, ValueRange{ops.zeroBuffer(b, shape.headDim)},
        [&](ImplicitLocOpBuilder &kb, Value j0, Value end, Value lo, Value hi,
            int side, ValueRange state) -> SmallVector<Value> {
          return {keyBlock(kb, qt, dot, lseLog2, delta, b0, kvHead, firstPos,
                           j0, end, lo, hi, side, state[0])};
        });
    Value hasKeys = rowsWithKeysMask(b, tiles, lanes, firstPos, head);
    Value dq = transposedOut(b, walked[0], shape.headDim, scale, hasKeys,
                             realRows);
    Value deltaTile = ve.write(
        delta,
        tensor::EmptyOp::create(
            b, RankedTensorType::get({1, 1, ShapedType::kDynamic}, ve.f32()),
            ValueRange{realRows}),
        {zero, zero, zero}, /*firstInBounds=*/false);
    return {dq, deltaTile};
  }

  /// Pass 2, work item (b0, kvHead, keys [j0, j0 + realKeys)): the dK tile
  /// [1, 1, realKeys, D] and the dV tile [1, 1, realKeys, Dv].
  SmallVector<Value> keyItem(ImplicitLocOpBuilder &b, Value b0, Value kvHead,
                             Value j0, Value realKeys, Value delta) const {
    Emitter e{b};
    Value lastKey = e.sub(e.add(j0, realKeys), e.index(1));
    Value kt = ops.transposedRows(b, in.key, b0, kvHead, j0, shape.headDim,
                                  shape.scaleLog2);
    Value vt = ops.transposedRows(b, in.value, b0, kvHead, j0, shape.valueDim,
                                  std::nullopt);
    Value firstHead = e.mul(kvHead, e.index(shape.groupSize));
    auto heads = scf::ForOp::create(
        b, firstHead, e.add(firstHead, e.index(shape.groupSize)), e.index(1),
        ValueRange{ops.zeroBuffer(b, shape.headDim),
                   ops.zeroBuffer(b, shape.valueDim)},
        [&](OpBuilder &nb, Location l, Value head, ValueRange carried) {
          ImplicitLocOpBuilder hb(l, nb);
          ValueRange walked = tiles.forEachQueryTile(
              hb, head, j0, lastKey, carried,
              [&](ImplicitLocOpBuilder &qb, Value i0, Value end, Value lo,
                  Value hi, int side, ValueRange state) {
                return queryBlock(qb, kt, vt, delta, b0, head, j0, i0, end, lo,
                                  hi, side, state);
              });
          scf::YieldOp::create(hb, walked);
        });
    Value dk = transposedOut(b, heads.getResult(0), shape.headDim, scale,
                             Value(), realKeys);
    Value dv = transposedOut(b, heads.getResult(1), shape.valueDim, 1.0,
                             Value(), realKeys);
    return {dk, dv};
  }

private:
  /// sum_c a[c] * b[c] over the rows of two [width][L] buffers.
  Value columnDot(ImplicitLocOpBuilder &b, Value x, Value y,
                  int64_t width) const {
    Emitter e{b};
    VectorEmitter ve{b, lanes};
    auto loop = scf::ForOp::create(
        b, e.index(0), e.index(width), e.index(1),
        ValueRange{ve.splatF32(ve.row(), 0.0)},
        [&](OpBuilder &nb, Location l, Value c, ValueRange acc) {
          ImplicitLocOpBuilder ib(l, nb);
          VectorEmitter ive{ib, lanes};
          Value zero = Emitter{ib}.index(0);
          scf::YieldOp::create(
              ib, ValueRange{vector::FMAOp::create(
                      ib, ive.read(ive.row(), x, {c, zero}),
                      ive.read(ive.row(), y, {c, zero}), acc[0])});
        });
    return loop.getResult(0);
  }

  /// Pass 1, one key block of L keys at j0: dQt += K^T-weighted dSt.
  Value keyBlock(ImplicitLocOpBuilder &b, Value qt, Value dot, Value lseLog2,
                 Value delta, Value b0, Value kvHead, Value firstPos, Value j0,
                 Value end, Value lo, Value hi, int side, Value dqt) const {
    Emitter e{b};
    VectorEmitter ve{b, lanes};
    SmallVector<Value> keyRows =
        ops.clampedRows(b, j0, e.sub(v.keyLen, e.index(1)));
    SmallVector<Value> st = ops.rowProducts(b, qt, in.key, b0, kvHead, keyRows,
                                            shape.headDim);
    SmallVector<Value> dpt = ops.rowProducts(b, dot, in.value, b0, kvHead,
                                             keyRows, shape.valueDim);
    SmallVector<Value> dst;
    for (int64_t j = 0; j < lanes; ++j)
      dst.push_back(arith::MulFOp::create(
          b, ve.exp2(arith::SubFOp::create(b, st[j], lseLog2)),
          arith::SubFOp::create(b, dpt[j], delta)));
    // The block's rows are [firstPos, firstPos + L - 1] (rows past Nq are
    // lanes never written: the interior test may count them).
    Value lastPos = e.add(firstPos, e.index(lanes - 1));
    Value lastKey = e.add(j0, e.index(lanes - 1));
    Value interior = e.andi(
        BandGeometry{e, firstPos, lastPos, v.keyLen}.tileInside(j0, lastKey,
                                                                lo, hi, side),
        e.cmp(arith::CmpIPredicate::slt, lastKey, end));
    auto indexRow = VectorType::get({lanes}, b.getIndexType());
    dst = selectOnEdges(b, interior, dst, [&](ImplicitLocOpBuilder &mb,
                                              int64_t j) {
      VectorEmitter mve{mb, lanes};
      Emitter me{mb};
      Value positions =
          arith::AddIOp::create(mb, mve.splat(indexRow, firstPos),
                                vector::StepOp::create(mb, indexRow));
      return pairInBand(mb, positions,
                        mve.splat(indexRow, me.add(j0, me.index(j))),
                        mve.splat(indexRow, lo), mve.splat(indexRow, hi), side,
                        mve.splat(indexRow, end));
    });
    return ops.accumulateRankOne(b, dqt, Value(), dst, in.key, b0, kvHead,
                                 keyRows, shape.headDim);
  }

  /// Pass 2, one block of L query rows at i0 (of a row range ending at
  /// `end`) of query head `head`: dKt and dVt updated.
  SmallVector<Value> queryBlock(ImplicitLocOpBuilder &b, Value kt, Value vt,
                                Value delta, Value b0, Value head, Value j0,
                                Value i0, Value end, Value lo, Value hi,
                                int side, ValueRange state) const {
    Emitter e{b};
    VectorEmitter ve{b, lanes};
    SmallVector<Value> queryRows =
        ops.clampedRows(b, i0, e.sub(end, e.index(1)));
    SmallVector<Value> st = ops.rowProducts(b, kt, in.query, b0, head,
                                            queryRows, shape.headDim);
    SmallVector<Value> dpt = ops.rowProducts(b, vt, in.outputGrad, b0, head,
                                             queryRows, shape.valueDim);
    Value log2e = e.f32(M_LOG2E);
    SmallVector<Value> pt, dst;
    for (int64_t r = 0; r < lanes; ++r) {
      ValueRange at{b0, head, queryRows[r]};
      Value lse2 = arith::MulFOp::create(
          b, tensor::ExtractOp::create(b, in.logSumExp, at), log2e);
      Value rowDelta = tensor::ExtractOp::create(b, delta, at);
      pt.push_back(ve.exp2(
          arith::SubFOp::create(b, st[r], ve.splat(ve.row(), lse2))));
      dst.push_back(arith::MulFOp::create(
          b, pt.back(),
          arith::SubFOp::create(b, dpt[r], ve.splat(ve.row(), rowDelta))));
    }
    Value firstPos = e.add(i0, v.positionOffset);
    Value lastRow = e.add(i0, e.index(lanes - 1));
    Value lastPos = e.add(lastRow, v.positionOffset);
    Value lastKey = e.add(j0, e.index(lanes - 1));
    Value interior = e.andi(
        e.andi(BandGeometry{e, firstPos, lastPos, v.keyLen}.tileInside(
                   j0, lastKey, lo, hi, side),
               e.cmp(arith::CmpIPredicate::slt, lastRow, end)),
        e.cmp(arith::CmpIPredicate::slt, lastKey, v.keyLen));
    auto indexRow = VectorType::get({lanes}, b.getIndexType());
    auto keep = [&](ImplicitLocOpBuilder &mb, int64_t r) {
      VectorEmitter mve{mb, lanes};
      Emitter me{mb};
      Value keys = arith::AddIOp::create(mb, mve.splat(indexRow, j0),
                                         vector::StepOp::create(mb, indexRow));
      Value row = me.add(i0, me.index(r));
      Value inBand = pairInBand(
          mb, mve.splat(indexRow, me.add(row, v.positionOffset)), keys,
          mve.splat(indexRow, lo), mve.splat(indexRow, hi), side,
          mve.splat(indexRow, v.keyLen));
      // Rows past the range (clamped reads) add nothing.
      Value rowInRange = mve.splat(
          VectorType::get({lanes}, mb.getI1Type()),
          me.cmp(arith::CmpIPredicate::slt, row, end));
      return arith::AndIOp::create(mb, inBand, rowInRange).getResult();
    };
    SmallVector<Value> both(pt);
    both.append(dst.begin(), dst.end());
    // P' and dS' of row r share its mask: built once, in the masked branch.
    SmallVector<Value> rowMasks(lanes);
    both = selectOnEdges(b, interior, both,
                         [&](ImplicitLocOpBuilder &mb, int64_t i) {
                           Value &mask = rowMasks[i % lanes];
                           if (!mask)
                             mask = keep(mb, i % lanes);
                           return mask;
                         });
    ArrayRef<Value> masked(both);
    Value dvt = ops.accumulateRankOne(b, state[1], Value(),
                                      masked.take_front(lanes), in.outputGrad,
                                      b0, head, queryRows, shape.valueDim);
    Value dkt =
        ops.accumulateRankOne(b, state[0], Value(), masked.drop_front(lanes),
                              in.query, b0, head, queryRows, shape.headDim);
    return {dkt, dvt};
  }

  /// `values` where `interior`, else each values[i] where keep(i) and 0
  /// elsewhere (an scf.if: interior blocks skip the masks).
  SmallVector<Value> selectOnEdges(
      ImplicitLocOpBuilder &b, Value interior, ArrayRef<Value> values,
      function_ref<Value(ImplicitLocOpBuilder &, int64_t)> keep) const {
    auto ifOp = scf::IfOp::create(
        b, interior,
        [&](OpBuilder &nb, Location loc) {
          scf::YieldOp::create(nb, loc, values);
        },
        [&](OpBuilder &nb, Location loc) {
          ImplicitLocOpBuilder ib(loc, nb);
          VectorEmitter ive{ib, lanes};
          Value zeros = ive.splatF32(ive.row(), 0.0);
          SmallVector<Value> masked;
          for (auto [i, x] : llvm::enumerate(values))
            masked.push_back(
                arith::SelectOp::create(ib, keep(ib, int64_t(i)), x, zeros));
          scf::YieldOp::create(ib, masked);
        });
    return SmallVector<Value>(ifOp.getResults());
  }

  /// transpose(accT) * factor as a [1, 1, realRows, width] tile of the
  /// element type; where `hasKeys` (an i1 row) is given, 0 on rows without
  /// keys (NaN and Inf elsewhere pass through).
  Value transposedOut(ImplicitLocOpBuilder &b, Value accT, int64_t width,
                      double factor, Value hasKeys, Value realRows) const {
    Emitter e{b};
    int64_t chunk = ops.columnChunk(width);
    Value tile = tensor::EmptyOp::create(
        b,
        RankedTensorType::get({1, 1, ShapedType::kDynamic, width},
                              shape.elementType),
        ValueRange{realRows});
    return ops.forEachColumnChunk(
        b, width, chunk, tile,
        [&](ImplicitLocOpBuilder &cb, Value c0, Value out) {
          VectorEmitter cve{cb, lanes};
          Emitter ce{cb};
          auto accType = VectorType::get({chunk, lanes}, cve.f32());
          Value acc = cve.read(accType, accT, {c0, ce.index(0)});
          if (factor != 1.0)
            acc = arith::MulFOp::create(cb, acc, cve.splatF32(accType, factor));
          if (hasKeys) {
            auto maskType = VectorType::get({chunk, lanes}, cb.getI1Type());
            acc = arith::SelectOp::create(cb, cve.splat(maskType, hasKeys), acc,
                                          cve.splatF32(accType, 0.0));
          }
          Value rows =
              vector::TransposeOp::create(cb, acc, ArrayRef<int64_t>{1, 0});
          if (!shape.elementType.isF32())
            rows = arith::TruncFOp::create(
                cb, VectorType::get({lanes, chunk}, shape.elementType), rows);
          Value z = ce.index(0);
          return cve.write(rows, out, {z, z, z, c0}, /*firstInBounds=*/false);
        });
  }

  const BandedTiles &tiles;
  const BandedShape &shape;
  const BandedValues &v;
  int64_t lanes;
  VectorTileOps ops;
  GradOperands in;
  double scale;
};

struct VectorAttentionGradToLinalg : public BandedOpPattern<AttentionGradOp> {
  using BandedOpPattern::BandedOpPattern;

  LogicalResult lower(AttentionGradOp op, ImplicitLocOpBuilder &b,
                      const BandedTiles &tiles,
                      PatternRewriter &rewriter) const override {
    Emitter e{b};
    const BandedShape &shape = tiles.getShape();
    const BandedValues &v = tiles.getValues();
    GradOperands in{op.getQuery(),  op.getKey(),       op.getValue(),
                    op.getOutput(), op.getLogSumExp(), op.getOutputGrad()};
    VectorAttentionGradLowering lowering(tiles, in, op.getEffectiveScale());
    int64_t lanes = shape.tileQ;
    Value batch = e.dim(op.getQuery(), 0);
    auto blocksOf = [&](Value length) {
      return e.div(e.add(length, e.index(lanes - 1)), e.index(lanes));
    };

    // Pass 1: dQ and Delta, per (batch, query head, query block), a head's
    // blocks from the last one down (the heaviest first under causal bands,
    // as the forward orders them).
    Value queryBlocks = blocksOf(v.queryLen);
    Value deltaInit = tensor::EmptyOp::create(
        b,
        SmallVector<OpFoldResult>{batch, b.getIndexAttr(shape.numQueryHeads),
                                  v.queryLen},
        b.getF32Type());
    SmallVector<Value> pass1 = forEachWorkItem(
        b, {batch, b.getIndexAttr(shape.numQueryHeads), queryBlocks},
        ValueRange{op.getQueryGrad(), deltaInit},
        [&](ImplicitLocOpBuilder &ib, ValueRange ivs) {
          Emitter ie{ib};
          Value block = ie.sub(ie.sub(queryBlocks, ie.index(1)), ivs[2]);
          Value i0 = ie.mul(block, ie.index(lanes));
          Value rows = ie.min(ie.index(lanes), ie.sub(v.queryLen, i0));
          Value kvHead = ie.div(ivs[1], ie.index(shape.groupSize));
          return ItemTiles{
              lowering.queryItem(ib, ivs[0], ivs[1], kvHead, i0, rows),
              {ivs[0], ivs[1], i0},
              rows};
        });

    // Pass 2: dK and dV, per (batch, key/value head, key block), the first
    // keys first (under causal bands the most rows reach them).
    int64_t kvHeads = shape.numQueryHeads / shape.groupSize;
    SmallVector<Value> pass2 = forEachWorkItem(
        b, {batch, b.getIndexAttr(kvHeads), blocksOf(v.keyLen)},
        ValueRange{op.getKeyGrad(), op.getValueGrad()},
        [&](ImplicitLocOpBuilder &ib, ValueRange ivs) {
          Emitter ie{ib};
          Value j0 = ie.mul(ivs[2], ie.index(lanes));
          Value keys = ie.min(ie.index(lanes), ie.sub(v.keyLen, j0));
          return ItemTiles{
              lowering.keyItem(ib, ivs[0], ivs[1], j0, keys, pass1[1]),
              {ivs[0], ivs[1], j0},
              keys};
        });
    rewriter.replaceOp(op, ValueRange{pass1[0], pass2[0], pass2[1]});
    return success();
  }
};

} // namespace

void linalg_lowering::populateVectorAttentionGradPatterns(
    RewritePatternSet &patterns, const SpaToLinalgOptions &options) {
  // L query rows (pass 1) or L keys (pass 2) per work item.
  patterns.add<VectorAttentionGradToLinalg>(patterns.getContext(),
                                            vectorFormOptions(options));
}
