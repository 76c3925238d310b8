//===- BandedTiles.cpp - what the linalg lowerings of spa share -----------===//
//
// See BandedTiles.h. Signed index arithmetic throughout: positions are
// negative when Nq > Nk.
//
//===----------------------------------------------------------------------===//

#include "BandedTiles.h"
#include "spa/Conversion/Utils/BandGeometry.h"
#include "spa/Conversion/Utils/KeyTileGeometry.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::spa;
using namespace mlir::spa::linalg_lowering;

Value linalg_lowering::toF32(OpBuilder &b, Location loc, Value v) {
  return v.getType().isF32()
             ? v
             : arith::ExtFOp::create(b, loc, b.getF32Type(), v).getResult();
}

void linalg_lowering::yield(OpBuilder &b, Location loc, ValueRange values) {
  linalg::YieldOp::create(b, loc, values);
}

AffineMap LinalgBuilder::map(unsigned dims, ArrayRef<unsigned> results) {
  SmallVector<AffineExpr> exprs;
  for (unsigned r : results)
    exprs.push_back(b.getAffineDimExpr(r));
  return AffineMap::get(dims, 0, exprs, b.getContext());
}

Value LinalgBuilder::empty(ArrayRef<OpFoldResult> sizes, Type type) {
  return tensor::EmptyOp::create(b, sizes, type);
}

Value LinalgBuilder::filled(ArrayRef<OpFoldResult> sizes, double value) {
  Value init = arith::ConstantOp::create(b, b.getF32FloatAttr(value));
  return linalg::FillOp::create(b, ValueRange{init},
                                ValueRange{empty(sizes, b.getF32Type())})
      .getResult(0);
}

linalg::GenericOp LinalgBuilder::generic(
    ValueRange ins, ValueRange outs, ArrayRef<AffineMap> maps,
    ArrayRef<IteratorType> iterators,
    function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  return linalg::GenericOp::create(b, TypeRange(outs), ins, outs, maps,
                                   iterators, body);
}

void LinalgBuilder::multiplyAccumulate(OpBuilder &b, Location loc,
                                       ValueRange args) {
  auto fm = arith::FastMathFlagsAttr::get(
      b.getContext(), arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
  Value product = arith::MulFOp::create(b, loc, toF32(b, loc, args[0]),
                                        toF32(b, loc, args[1]), fm);
  yield(b, loc, arith::AddFOp::create(b, loc, args[2], product, fm).getResult());
}

Value LinalgBuilder::productTransposed(Value lhs, Value rhs,
                                       OpFoldResult rows, OpFoldResult cols) {
  return generic({lhs, rhs}, {filled({rows, cols}, 0.0)},
                 {map(3, {0, 2}), map(3, {1, 2}), map(3, {0, 1})},
                 {kPar, kPar, kRed}, multiplyAccumulate)
      .getResult(0);
}

BandedShape
linalg_lowering::bandedShapeOf(BandedAttentionOpInterface op,
                               const SpaToLinalgOptions &options) {
  auto queryType = cast<ShapedType>(op.getQuery().getType());
  auto keyType = cast<ShapedType>(op.getKey().getType());
  // The value operand is the third on both ops.
  auto valueType = cast<ShapedType>(op->getOperand(2).getType());
  BandedShape shape;
  shape.elementType = queryType.getElementType();
  shape.headDim = queryType.getDimSize(3);
  shape.valueDim = valueType.getDimSize(3);
  shape.numQueryHeads = queryType.getDimSize(1);
  shape.groupSize = shape.numQueryHeads / keyType.getDimSize(1);
  shape.tileQ = options.tileQ;
  shape.tileK = options.tileK;
  shape.staticTiles = options.staticTiles;
  shape.bidirectional = op.getMode() == BandMode::Bidirectional;
  shape.scaleLog2 = op.getEffectiveScale() * M_LOG2E;
  return shape;
}

/// The band table as a [Hq, M, 2] tensor: the op's run-time bounds (index),
/// or the static table as an i64 constant (unused slots are lo == hi == 0).
static std::pair<Value, int64_t>
materializeBounds(ImplicitLocOpBuilder &b, BandedAttentionOpInterface op,
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
      RankedTensorType::get({numQueryHeads, slots, 2}, b.getI64Type());
  Value bounds = arith::ConstantOp::create(
      b, DenseIntElementsAttr::get(type, ArrayRef<int64_t>(values)));
  return {bounds, slots};
}

BandedValues linalg_lowering::emitBandedValues(ImplicitLocOpBuilder &b,
                                               BandedAttentionOpInterface op,
                                               int64_t numQueryHeads) {
  Emitter e{b};
  BandedValues values;
  std::tie(values.bounds, values.slots) =
      materializeBounds(b, op, numQueryHeads);
  values.queryLen = e.dim(op.getQuery(), 2);
  values.keyLen = e.dim(op.getKey(), 2);
  values.positionOffset = e.sub(values.keyLen, values.queryLen);
  values.distanceLimit = e.max(values.queryLen, values.keyLen);
  return values;
}

ValueRange BandedTiles::workItemLoops(ImplicitLocOpBuilder &b, Value batch,
                                      ValueRange state,
                                      WorkItemBody body) const {
  Emitter e{b};
  auto batchLoop = scf::ForOp::create(
      b, e.index(0), batch, e.index(1), state,
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
                  hib, he.index(0), v.queryLen, he.index(shape.tileQ),
                  headArgs,
                  [&](OpBuilder &tb, Location tloc, Value i0,
                      ValueRange tileArgs) {
                    ImplicitLocOpBuilder tib(tloc, tb);
                    SmallVector<Value> next =
                        body(tib, b0, head, kvHead, i0, tileArgs);
                    scf::YieldOp::create(tib, next);
                  });
              scf::YieldOp::create(hib, tileLoop.getResults());
            });
        scf::YieldOp::create(ib, headLoop.getResults());
      });
  return batchLoop.getResults();
}

ValueRange BandedTiles::forEachIntervalSide(ImplicitLocOpBuilder &b, Value head,
                                            ValueRange state,
                                            IntervalSideBody body) const {
  Emitter e{b};
  auto slotLoop = scf::ForOp::create(
      b, e.index(0), e.index(v.slots), e.index(1), state,
      [&](OpBuilder &sb, Location sloc, Value slot, ValueRange slotState) {
        ImplicitLocOpBuilder ib(sloc, sb);
        auto [lo, hi] = interval(ib, head, slot);
        SmallVector<Value> current(slotState);
        for (int side : bandSides(shape.bidirectional)) {
          current = body(ib, lo, hi, side, current);
        }
        scf::YieldOp::create(ib, current);
      });
  return slotLoop.getResults();
}

ValueRange BandedTiles::forEachKeyTile(ImplicitLocOpBuilder &b, Value head,
                                       Value firstPos, Value lastPos,
                                       ValueRange state,
                                       KeyTileBody body) const {
  return forEachIntervalSide(
      b, head, state,
      [&](ImplicitLocOpBuilder &ib, Value lo, Value hi, int side,
          ValueRange current) -> SmallVector<Value> {
        Emitter se{ib};
        BandGeometry geometry{se, firstPos, lastPos, v.keyLen};
        Value sideLo = geometry.sideLowerBound(lo, side);
        auto [begin, end] = geometry.keyRange(sideLo, hi, side);
        auto keyLoop = scf::ForOp::create(
            ib, begin, end, se.index(shape.tileK), current,
            [&](OpBuilder &kb, Location kloc, Value j0, ValueRange keyState) {
              ImplicitLocOpBuilder kib(kloc, kb);
              SmallVector<Value> updated =
                  body(kib, j0, end, sideLo, hi, side, keyState);
              scf::YieldOp::create(kib, updated);
            });
        return SmallVector<Value>(keyLoop.getResults());
      });
}

ValueRange BandedTiles::forEachQueryTile(ImplicitLocOpBuilder &b, Value head,
                                         Value firstKey, Value lastKey,
                                         ValueRange state,
                                         QueryTileBody body) const {
  return forEachIntervalSide(
      b, head, state,
      [&](ImplicitLocOpBuilder &ib, Value lo, Value hi, int side,
          ValueRange current) -> SmallVector<Value> {
        Emitter se{ib};
        Value sideLo =
            BandGeometry{se, Value(), Value(), Value()}.sideLowerBound(lo,
                                                                       side);
        KeyTileGeometry geometry{se, firstKey,   lastKey,         0,
                                 0,  v.queryLen, v.positionOffset};
        auto [begin, end] = geometry.queryRange(sideLo, hi, side);
        auto queryLoop = scf::ForOp::create(
            ib, begin, end, se.index(shape.tileQ), current,
            [&](OpBuilder &qb, Location qloc, Value i0, ValueRange queryState) {
              ImplicitLocOpBuilder qib(qloc, qb);
              scf::YieldOp::create(
                  qib, body(qib, i0, end, sideLo, hi, side, queryState));
            });
        return SmallVector<Value>(queryLoop.getResults());
      });
}

Value BandedTiles::rowSlice(ImplicitLocOpBuilder &b, Value source, Value b0,
                            Value head, Value start, OpFoldResult count,
                            int64_t width) const {
  SmallVector<OpFoldResult> unitStrides(4, b.getIndexAttr(1));
  auto rows = dyn_cast<Attribute>(count);
  auto type = RankedTensorType::get(
      {rows ? cast<IntegerAttr>(rows).getInt() : ShapedType::kDynamic, width},
      cast<ShapedType>(source.getType()).getElementType());
  return tensor::ExtractSliceOp::create(
      b, type, source,
      ArrayRef<OpFoldResult>{b0, head, start, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1), count,
                             b.getIndexAttr(width)},
      unitStrides);
}

Value linalg_lowering::pairInBand(ImplicitLocOpBuilder &b, Value position,
                                  Value key, Value lo, Value hi, int side,
                                  Value keyEnd) {
  using P = arith::CmpIPredicate;
  Emitter e{b};
  Value distance = side > 0 ? e.sub(position, key) : e.sub(key, position);
  Value inBand =
      e.andi(e.cmp(P::sge, distance, lo), e.cmp(P::slt, distance, hi));
  return keyEnd ? e.andi(inBand, e.cmp(P::slt, key, keyEnd)) : inBand;
}

Value BandedTiles::admissible(ImplicitLocOpBuilder &body, Value firstPos,
                              Value j0, Value lo, Value hi, int side,
                              Value keyEnd) const {
  Emitter be{body};
  Value i = linalg::IndexOp::create(body, 0);
  Value j = linalg::IndexOp::create(body, 1);
  return pairInBand(body, be.add(firstPos, i), be.add(j0, j), lo, hi, side,
                    keyEnd);
}

/// Interval `slot` of `head`, clamped to the distances that exist: bounds
/// near INT64_MAX must not overflow the key-range arithmetic.
std::pair<Value, Value> BandedTiles::interval(ImplicitLocOpBuilder &b,
                                              Value head, Value slot) const {
  Emitter e{b};
  auto bound = [&](int64_t which) -> Value {
    Value x = tensor::ExtractOp::create(b, v.bounds,
                                        ValueRange{head, slot, e.index(which)});
    if (!x.getType().isIndex())
      x = arith::IndexCastOp::create(b, b.getIndexType(), x);
    return e.min(x, v.distanceLimit);
  };
  Value lo = bound(0);
  return {lo, bound(1)};
}

Value BandedTiles::rowsWithKeys(ImplicitLocOpBuilder &b, OpFoldResult rows,
                                Value firstPos, Value head,
                                Type elementType) const {
  LinalgBuilder lb{b};
  if (!elementType)
    elementType = b.getI1Type();
  return lb
      .generic(
          {}, {lb.empty({rows}, elementType)}, {lb.map(1, {0})}, {kPar},
          [&](OpBuilder &nb, Location loc, ValueRange) {
            ImplicitLocOpBuilder body(loc, nb);
            Emitter e{body};
            Value p = e.add(firstPos, linalg::IndexOp::create(body, 0));
            Value none =
                arith::ConstantIntOp::create(body, body.getI1Type(), 0);
            auto slots = scf::ForOp::create(
                body, e.index(0), e.index(v.slots), e.index(1),
                ValueRange{none},
                [&](OpBuilder &sb, Location sloc, Value slot,
                    ValueRange found) {
                  ImplicitLocOpBuilder ib(sloc, sb);
                  Emitter se{ib};
                  auto [lo, hi] = interval(ib, head, slot);
                  Value any = found[0];
                  for (int side : bandSides(shape.bidirectional)) {
                    BandGeometry geometry{se, p, p, v.keyLen};
                    auto [begin, end] = geometry.keyRange(
                        geometry.sideLowerBound(lo, side), hi, side);
                    any = se.ori(any,
                                 se.cmp(arith::CmpIPredicate::slt, begin, end));
                  }
                  scf::YieldOp::create(ib, any);
                });
            Value found = slots.getResult(0);
            if (found.getType() != elementType)
              found = arith::ExtUIOp::create(body, elementType, found);
            yield(nb, loc, found);
          })
      .getResult(0);
}
