//===- VectorTiles.h - what the CPU vector forms share ----------*- C++ -*-===//
//
// The building blocks of the CPU vector lowerings (VectorAttention.cpp, the
// forward; VectorAttentionGrad.cpp, the gradients): L-lane f32 vectors, one
// lane per row of a block of L query rows (or L keys), and every product a
// rank-1 update "row(k) += scalar(k, r) * lanes(k)" whose scalar is a
// broadcast load and whose vector is contiguous:
//
//   transposedRows:    buf[c][r] = x[row0 + r][c] * scale    ([width][L])
//   rowProducts:       out[r] = sum_c x[rows[r]][c] * buf[c]  (L vectors)
//   accumulateRankOne: acc[c] = alpha acc[c] + sum_r x[rows[r]][c] w[r]
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOLINALG_VECTORTILES_H
#define SPA_LIB_CONVERSION_SPATOLINALG_VECTORTILES_H

#include "BandedTiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <cmath>
#include <numeric>
#include <optional>

namespace mlir::spa::linalg_lowering {

/// The options the vector forms run with: L = vector-lanes query rows (or
/// keys) per work item, L x L blocks, tiles of dynamic size.
inline SpaToLinalgOptions vectorFormOptions(const SpaToLinalgOptions &options) {
  SpaToLinalgOptions vectorForm = options;
  vectorForm.tileQ = vectorForm.tileK = options.vectorLanes;
  vectorForm.staticTiles = false;
  return vectorForm;
}

/// Accumulator rows updated together by the rank-1 updates: 8 rows plus the
/// L weight vectors stay within 32 vector registers.
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
  /// 2^x as exp(x ln 2): the pass replaces these `math.exp` ops by
  /// upstream's polynomial approximation (vectorised; NaN and -inf handled).
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

/// The rank-1 tile products of one op's vector lowering.
class VectorTileOps {
public:
  explicit VectorTileOps(int64_t lanes) : lanes(lanes) {}

  int64_t getLanes() const { return lanes; }

  Value toF32Vector(ImplicitLocOpBuilder &b, Value x) const {
    auto type = cast<VectorType>(x.getType());
    if (type.getElementType().isF32())
      return x;
    return arith::ExtFOp::create(
        b, VectorType::get(type.getShape(), b.getF32Type()), x);
  }

  /// The rows first .. first + L - 1, clamped to `last`: a block may reach
  /// past its range (those rows are masked), and clamping keeps its loads
  /// inside the tensor without padding it.
  SmallVector<Value> clampedRows(ImplicitLocOpBuilder &b, Value first,
                                 Value last) const {
    Emitter e{b};
    SmallVector<Value> rows;
    for (int64_t j = 0; j < lanes; ++j)
      rows.push_back(e.min(e.add(first, e.index(j)), last));
    return rows;
  }

  /// x[b0, head, row, col] as an f32 scalar.
  Value scalarAt(ImplicitLocOpBuilder &b, Value x, Value b0, Value head,
                 Value row, Value col) const {
    Value element =
        tensor::ExtractOp::create(b, x, ValueRange{b0, head, row, col});
    return toF32(b, b.getLoc(), element);
  }

  /// The L rows x[b0, head, rows[r], 0 .. width) as an [L][width] f32
  /// tensor, converted a chunk of columns at a time, where x is f16 or
  /// bf16; null where x is f32. The rank-1 updates then broadcast f32
  /// scalars from it instead of converting each element of a block where
  /// it is used (f16 had taken 1.4-1.75x f32's time, bf16 up to 1.23x).
  /// The conversion is exact: results stay bitwise the same.
  Value convertedRows(ImplicitLocOpBuilder &b, Value x, Value b0, Value head,
                      ArrayRef<Value> rows, int64_t width) const {
    Type element = getElementTypeOrSelf(x.getType());
    if (element.isF32())
      return Value();
    int64_t chunk = columnChunk(width);
    return forEachColumnChunk(
        b, width, chunk,
        tensor::EmptyOp::create(b, ArrayRef<int64_t>{lanes, width},
                                b.getF32Type()),
        [&](ImplicitLocOpBuilder &cb, Value c0, Value buffer) {
          VectorEmitter cve{cb, lanes};
          Emitter ce{cb};
          for (int64_t r = 0; r < lanes; ++r) {
            Value row = cve.read(VectorType::get({chunk}, element), x,
                                 {b0, head, rows[r], c0});
            buffer = cve.write(toF32Vector(cb, row), buffer,
                               {ce.index(r), c0});
          }
          return buffer;
        });
  }

  /// Row r, column `col` of the rows: from `converted` (convertedRows)
  /// where there is one, else x[b0, head, rows[r], col] converted here.
  Value rowScalar(ImplicitLocOpBuilder &b, Value converted, Value x, Value b0,
                  Value head, ArrayRef<Value> rows, int64_t r,
                  Value col) const {
    if (!converted)
      return scalarAt(b, x, b0, head, rows[r], col);
    return tensor::ExtractOp::create(
        b, converted,
        ValueRange{arith::ConstantIndexOp::create(b, r), col});
  }

  /// out[r] = sum_{c < width} x[b0, head, rows[r], c] buf[c] for the L rows
  /// (one vector a row; separate values, not one 2-D vector, so nothing is
  /// ever reassembled element by element).
  SmallVector<Value> rowProducts(ImplicitLocOpBuilder &b, Value buf, Value x,
                                 Value b0, Value head, ArrayRef<Value> rows,
                                 int64_t width) const {
    Emitter e{b};
    VectorEmitter ve{b, lanes};
    Value converted = convertedRows(b, x, b0, head, rows, width);
    SmallVector<Value> init(lanes, ve.splatF32(ve.row(), 0.0));
    auto loop = scf::ForOp::create(
        b, e.index(0), e.index(width), e.index(1), init,
        [&](OpBuilder &lb, Location loc, Value c, ValueRange args) {
          ImplicitLocOpBuilder ib(loc, lb);
          VectorEmitter ive{ib, lanes};
          Value bufRow = ive.read(ive.row(), buf,
                                  {c, arith::ConstantIndexOp::create(ib, 0)});
          SmallVector<Value> acc;
          for (int64_t r = 0; r < lanes; ++r) {
            Value scalar = ive.splat(
                ive.row(), rowScalar(ib, converted, x, b0, head, rows, r, c));
            acc.push_back(vector::FMAOp::create(ib, scalar, bufRow, args[r]));
          }
          scf::YieldOp::create(ib, acc);
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// acc[c] = alpha acc[c] + sum_r x[b0, head, rows[r], c] weights[r] for
  /// the `width` rows of the [width][L] buffer `acc`, kValueRowsPerBlock
  /// rows at a time (no rescale without `alpha`).
  Value accumulateRankOne(ImplicitLocOpBuilder &b, Value acc, Value alpha,
                          ArrayRef<Value> weights, Value x, Value b0,
                          Value head, ArrayRef<Value> rows,
                          int64_t width) const {
    Emitter e{b};
    Value converted = convertedRows(b, x, b0, head, rows, width);
    // The largest power of two up to kValueRowsPerBlock dividing width.
    int64_t block = kValueRowsPerBlock;
    while (width % block)
      block /= 2;
    auto loop = scf::ForOp::create(
        b, e.index(0), e.index(width), e.index(block), ValueRange{acc},
        [&](OpBuilder &lb, Location loc, Value c0, ValueRange args) {
          ImplicitLocOpBuilder ib(loc, lb);
          Emitter ie{ib};
          VectorEmitter ive{ib, lanes};
          Value zero = ie.index(0);
          SmallVector<Value> accRows, rowIndex;
          for (int64_t r = 0; r < block; ++r) {
            rowIndex.push_back(ie.add(c0, ie.index(r)));
            Value current = ive.read(ive.row(), args[0], {rowIndex[r], zero});
            accRows.push_back(
                alpha ? arith::MulFOp::create(ib, current, alpha).getResult()
                      : current);
          }
          for (int64_t j = 0; j < lanes; ++j)
            for (int64_t r = 0; r < block; ++r) {
              Value scalar =
                  ive.splat(ive.row(), rowScalar(ib, converted, x, b0, head,
                                                 rows, j, rowIndex[r]));
              accRows[r] =
                  vector::FMAOp::create(ib, scalar, weights[j], accRows[r]);
            }
          Value updated = args[0];
          for (int64_t r = 0; r < block; ++r)
            updated = ive.write(accRows[r], updated, {rowIndex[r], zero});
          scf::YieldOp::create(ib, updated);
        });
    return loop.getResult(0);
  }

  /// buf[c][r] = x[b0, head, row0 + r, c] (times `scale`) as a [width][L]
  /// f32 tensor; rows past the end read as zeros. Built in column chunks of
  /// [L, C] (C = gcd(width, L)) under a loop: a whole [L, width] transpose
  /// is unrolled into width x L element moves, so its compile time grew
  /// faster than linearly in the width.
  Value transposedRows(ImplicitLocOpBuilder &b, Value x, Value b0, Value head,
                       Value row0, int64_t width,
                       std::optional<double> scale) const {
    int64_t chunk = columnChunk(width);
    return buildBuffer(
        b, width, [&](ImplicitLocOpBuilder &cb, Value c0, Value buffer) {
          VectorEmitter cve{cb, lanes};
          Emitter ce{cb};
          Value rowsRead = cve.read(
              VectorType::get({lanes, chunk},
                              getElementTypeOrSelf(x.getType())),
              x, {b0, head, row0, c0}, /*firstInBounds=*/false);
          rowsRead = toF32Vector(cb, rowsRead);
          if (scale)
            rowsRead = arith::MulFOp::create(
                cb, rowsRead,
                cve.splatF32(cast<VectorType>(rowsRead.getType()), *scale));
          Value transposed = vector::TransposeOp::create(
              cb, rowsRead, ArrayRef<int64_t>{1, 0});
          return cve.write(transposed, buffer, {c0, ce.index(0)});
        });
  }

  /// A [width][L] f32 tensor of zeros.
  Value zeroBuffer(ImplicitLocOpBuilder &b, int64_t width) const {
    int64_t chunk = columnChunk(width);
    return buildBuffer(
        b, width, [&](ImplicitLocOpBuilder &cb, Value c0, Value buffer) {
          VectorEmitter cve{cb, lanes};
          return cve.write(
              cve.splatF32(VectorType::get({chunk, lanes}, cve.f32()), 0.0),
              buffer, {c0, Emitter{cb}.index(0)});
        });
  }

  /// A new [width][L] f32 tensor written by `body(c0, buffer)` chunk by
  /// chunk (forEachColumnChunk with C = columnChunk(width)).
  Value buildBuffer(
      ImplicitLocOpBuilder &b, int64_t width,
      function_ref<Value(ImplicitLocOpBuilder &, Value, Value)> body) const {
    return forEachColumnChunk(
        b, width, columnChunk(width),
        tensor::EmptyOp::create(b, ArrayRef<int64_t>{width, lanes},
                                b.getF32Type()),
        body);
  }

  /// Columns per chunk of the per-item transposes: gcd(width, L), so the
  /// chunks tile the width exactly.
  int64_t columnChunk(int64_t width) const { return std::gcd(width, lanes); }

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

private:
  int64_t lanes;
};

/// Whether each of the L rows at positions firstPos, firstPos + 1, ... of
/// `head` has an admissible key (BandedTiles::rowsWithKeys), as an i1 vector.
inline Value rowsWithKeysMask(ImplicitLocOpBuilder &b, const BandedTiles &tiles,
                              int64_t lanes, Value firstPos, Value head) {
  VectorEmitter ve{b, lanes};
  // Read as bytes: a vector of i1 loads packed bits, not i1 elements.
  auto byteRow = VectorType::get({lanes}, b.getI8Type());
  Value bytes = tiles.rowsWithKeys(b, b.getIndexAttr(lanes), firstPos, head,
                                   b.getI8Type());
  return arith::CmpIOp::create(
      b, arith::CmpIPredicate::ne,
      ve.read(byteRow, bytes, {arith::ConstantIndexOp::create(b, 0)}),
      arith::ConstantOp::create(b, b.getZeroAttr(byteRow)));
}

/// What one work item of forEachWorkItem returns: its tiles, in the order
/// of the forall's outputs, each inserted at (batch, head, first row[, 0])
/// with `rows` rows (rank 3, or rank 4 with the tile's full width).
struct ItemTiles {
  SmallVector<Value> tiles;
  SmallVector<OpFoldResult> offsets; ///< (batch, head, first row)
  Value rows;
};

/// One scf.forall of work items over `upper` with `outputs` as shared
/// outputs, marked spa.work_items (the pipeline runs it on threads and
/// approximates its exp ops); returns the forall's results.
inline SmallVector<Value> forEachWorkItem(
    ImplicitLocOpBuilder &b, ArrayRef<OpFoldResult> upper, ValueRange outputs,
    function_ref<ItemTiles(ImplicitLocOpBuilder &, ValueRange)> item) {
  auto forall = scf::ForallOp::create(
      b, upper, outputs, std::nullopt,
      [&](OpBuilder &fb, Location loc, ValueRange args) {
        ImplicitLocOpBuilder ib(loc, fb);
        ItemTiles made = item(ib, args.take_front(upper.size()));
        auto inParallel = scf::InParallelOp::create(ib);
        ib.setInsertionPointToStart(inParallel.getBody());
        for (auto [index, tile] : llvm::enumerate(made.tiles)) {
          auto type = cast<RankedTensorType>(tile.getType());
          SmallVector<OpFoldResult> offsets(made.offsets);
          SmallVector<OpFoldResult> sizes = {ib.getIndexAttr(1),
                                             ib.getIndexAttr(1), made.rows};
          if (type.getRank() == 4) {
            offsets.push_back(ib.getIndexAttr(0));
            sizes.push_back(ib.getIndexAttr(type.getDimSize(3)));
          }
          tensor::ParallelInsertSliceOp::create(
              ib, tile, args[upper.size() + index], offsets, sizes,
              SmallVector<OpFoldResult>(type.getRank(), ib.getIndexAttr(1)));
        }
      });
  forall->setAttr(kWorkItemsAttrName, b.getUnitAttr());
  return SmallVector<Value>(forall.getResults());
}

} // namespace mlir::spa::linalg_lowering

#endif // SPA_LIB_CONVERSION_SPATOLINALG_VECTORTILES_H
