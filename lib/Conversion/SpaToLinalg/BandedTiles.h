//===- BandedTiles.h - what the linalg lowerings of spa share ---*- C++ -*-===//
//
// The pieces the forward (`spa.attention`) and gradient
// (`spa.attention_grad`) linalg lowerings build alike: small emitters for
// linalg.generic, the band table as an i64 tensor, the work-item loop
// nest (batch, query head, query tile), the key tiles one query tile reaches
// through each interval and side, the f32 score tile, the per-pair band
// test of edge tiles, and which rows have keys at all. Sharing them keeps
// the two lowerings walking exactly the same pairs.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOLINALG_BANDEDTILES_H
#define SPA_LIB_CONVERSION_SPATOLINALG_BANDEDTILES_H

#include "spa/Conversion/SpaToLinalg/SpaToLinalg.h"
#include "spa/Conversion/Utils/IndexArith.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <utility>

namespace mlir::spa::linalg_lowering {

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
Value toF32(OpBuilder &b, Location loc, Value v);

/// Yields `values` from a linalg body.
void yield(OpBuilder &b, Location loc, ValueRange values);

/// Builds linalg.generic ops with compact map and body descriptions.
struct LinalgBuilder {
  ImplicitLocOpBuilder &b;

  AffineMap map(unsigned dims, ArrayRef<unsigned> results);
  Value empty(ArrayRef<OpFoldResult> sizes, Type type);
  /// An f32 tensor of `sizes` filled with `value`.
  Value filled(ArrayRef<OpFoldResult> sizes, double value);
  linalg::GenericOp
  generic(ValueRange ins, ValueRange outs, ArrayRef<AffineMap> maps,
          ArrayRef<IteratorType> iterators,
          function_ref<void(OpBuilder &, Location, ValueRange)> body);
  /// The body of an f32 multiply-accumulate: out += f32(a) * f32(b) for
  /// block arguments (a, b, out).
  static void multiplyAccumulate(OpBuilder &b, Location loc, ValueRange args);
  /// C[i, j] = sum_d A[i, d] B[j, d] in f32 (A: [rows, W], B: [cols, W]).
  Value productTransposed(Value a, Value b, OpFoldResult rows,
                          OpFoldResult cols);
};

/// What the generated code needs to know about one op; fixed during lowering.
struct BandedShape {
  Type elementType;
  int64_t headDim, valueDim, numQueryHeads, groupSize;
  int64_t tileQ, tileK;
  bool staticTiles; // SpaToLinalgOptions::staticTiles
  bool bidirectional;
  double scaleLog2; // scale * log2(e)
};

/// Values live for the whole op (defined before the loop nest).
struct BandedValues {
  Value bounds;          // tensor<Hq x M x 2 x i64> (constant) or x index
  int64_t slots;         // M
  Value queryLen, keyLen;
  Value positionOffset;  // Nk - Nq
  Value distanceLimit;   // max(Nq, Nk): no pair is this far apart
};

/// The shape facts of `op` (element type, head counts and dims, mode, scale)
/// with the pass's tile sizes.
BandedShape bandedShapeOf(BandedAttentionOpInterface op,
                          const SpaToLinalgOptions &options);

/// Emits the op-wide values: the band table as a [Hq, M, 2] tensor (the
/// run-time index bounds, or the static table as an i64 constant: IREE
/// cannot compile index-typed constant tensors), Nq, Nk and the
/// derived position offset and distance limit.
BandedValues emitBandedValues(ImplicitLocOpBuilder &b,
                              BandedAttentionOpInterface op,
                              int64_t numQueryHeads);

/// Called per key tile with the tile's first key `j0`, the end of the key
/// range it belongs to, the interval [lo, hi) (lo already raised to 1 on
/// the anti side), the side, and the loop-carried state; returns the state.
using KeyTileBody = function_ref<SmallVector<Value>(
    ImplicitLocOpBuilder &b, Value j0, Value end, Value lo, Value hi,
    int side, ValueRange state)>;

/// The inputs of a spa.attention_grad op, as its operands.
struct GradOperands {
  Value query, key, value, output, logSumExp, outputGrad;
};

/// Called per query tile of the walk from a key tile (forEachQueryTile) with
/// its first row `i0`, the end of the row range it belongs to, the interval
/// [lo, hi) (lo already raised to 1 on the anti side), the side, and the
/// loop-carried state; returns the state.
using QueryTileBody = function_ref<SmallVector<Value>(
    ImplicitLocOpBuilder &b, Value i0, Value end, Value lo, Value hi, int side,
    ValueRange state)>;

/// Called per work item (batch b0, query head, its key/value head, first
/// query row i0) with the loop-carried tensors; returns them updated.
using WorkItemBody = function_ref<SmallVector<Value>(
    ImplicitLocOpBuilder &b, Value b0, Value head, Value kvHead, Value i0,
    ValueRange state)>;

/// The band walk of one op: which key tiles a query tile reaches, and the
/// tests on them.
class BandedTiles {
public:
  BandedTiles(const BandedShape &shape, const BandedValues &values)
      : shape(shape), v(values) {}

  const BandedShape &getShape() const { return shape; }
  const BandedValues &getValues() const { return v; }

  /// for b < batch, h < Hq, i0 < Nq (step tile-q), `state` threaded through
  /// iter_args; returns the final state.
  ValueRange workItemLoops(ImplicitLocOpBuilder &b, Value batch,
                           ValueRange state, WorkItemBody body) const;

  /// for each interval slot of `head`, each side, each key tile the rows at
  /// positions [firstPos, lastPos] reach: `body`, `state` threaded through.
  ValueRange forEachKeyTile(ImplicitLocOpBuilder &b, Value head,
                            Value firstPos, Value lastPos, ValueRange state,
                            KeyTileBody body) const;

  /// The mirror walk, for the gradients' key-side pass: for each interval
  /// slot of `head`, each side, each query tile (step tile-q) of the rows
  /// that reach some key of [firstKey, lastKey] (existing keys):
  /// `body`, `state` threaded through.
  ValueRange forEachQueryTile(ImplicitLocOpBuilder &b, Value head,
                              Value firstKey, Value lastKey, ValueRange state,
                              QueryTileBody body) const;

  /// source[b0, head, start : start + count, 0 : width] as [count, width]
  /// (a static size when `count` is an attribute).
  Value rowSlice(ImplicitLocOpBuilder &b, Value source, Value b0, Value head,
                 Value start, OpFoldResult count, int64_t width) const;

  /// Inside a linalg body over a [rows, cols] tile (dims 0 and 1): whether
  /// the pair (row firstPos + i, key j0 + j) has its distance in [lo, hi)
  /// on `side`, and, where `keyEnd` is given, j0 + j < keyEnd (static
  /// tiles reach past the end of their key range).
  Value admissible(ImplicitLocOpBuilder &body, Value firstPos, Value j0,
                   Value lo, Value hi, int side, Value keyEnd = {}) const;

  /// Whether each of the tile's rows has an admissible key (from the band
  /// geometry, not from the softmax sum: a row whose scores are all -inf or
  /// NaN still has keys and must not come out as a no-key row), as a
  /// [rows] tensor of `elementType`: i1, or i8 (0 / 1) for code that reads
  /// it as a vector (a vector of i1 loads packed bits).
  Value rowsWithKeys(ImplicitLocOpBuilder &b, OpFoldResult rows,
                     Value firstPos, Value head, Type elementType = {}) const;

private:
  std::pair<Value, Value> interval(ImplicitLocOpBuilder &b, Value head,
                                   Value slot) const;

  /// Called per interval [lo, hi) of a head and side with the state.
  using IntervalSideBody = function_ref<SmallVector<Value>(
      ImplicitLocOpBuilder &b, Value lo, Value hi, int side, ValueRange state)>;
  /// What both walks share: each interval slot of `head` (an scf.for), each
  /// side (the anti side only when bidirectional), `state` threaded through.
  ValueRange forEachIntervalSide(ImplicitLocOpBuilder &b, Value head,
                                 ValueRange state, IntervalSideBody body) const;

  BandedShape shape;
  BandedValues v;
};

/// The per-pair band test, elementwise: whether key `key` lies at a
/// distance in [lo, hi) from position `position` on `side` (causal side
/// d = p - j, anti side d = j - p) and, where `keyEnd` is given,
/// key < keyEnd. All operands are index scalars, or all index vectors of
/// one shape.
Value pairInBand(ImplicitLocOpBuilder &b, Value position, Value key, Value lo,
                 Value hi, int side, Value keyEnd = {});

/// What every banded op's linalg pattern starts with: tensor semantics and
/// a resolved band policy (else no match; the pass diagnoses both before
/// rewriting), then the op's shape and band walk; `lower` does the rest.
template <typename OpTy>
struct BandedOpPattern : public OpRewritePattern<OpTy> {
  BandedOpPattern(MLIRContext *context, SpaToLinalgOptions options)
      : OpRewritePattern<OpTy>(context), options(options) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const final {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "expects tensor semantics");
    if (!op.getBandTable() && !op.getBandBounds())
      return rewriter.notifyMatchFailure(op, "band policy not resolved");
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    BandedShape shape = bandedShapeOf(op, options);
    BandedTiles tiles(shape, emitBandedValues(b, op, shape.numQueryHeads));
    return lower(op, b, tiles, rewriter);
  }

  virtual LogicalResult lower(OpTy op, ImplicitLocOpBuilder &b,
                              const BandedTiles &tiles,
                              PatternRewriter &rewriter) const = 0;

  SpaToLinalgOptions options;
};

/// Marks the `scf.forall` of the vector form's work items (the pass
/// approximates the math inside it; tests find the loop by it).
constexpr StringLiteral kWorkItemsAttrName = "spa.work_items";

/// Adds the spa.attention_grad pattern (AttentionGradToLinalg.cpp).
void populateAttentionGradToLinalgPatterns(RewritePatternSet &patterns,
                                           const SpaToLinalgOptions &options);

/// Adds the vector form of the spa.attention pattern (VectorAttention.cpp),
/// for options.vectorLanes > 0.
void populateVectorAttentionPatterns(RewritePatternSet &patterns,
                                     const SpaToLinalgOptions &options);

/// Adds the vector form of the spa.attention_grad pattern
/// (VectorAttentionGrad.cpp).
void populateVectorAttentionGradPatterns(RewritePatternSet &patterns,
                                         const SpaToLinalgOptions &options);

} // namespace mlir::spa::linalg_lowering

#endif // SPA_LIB_CONVERSION_SPATOLINALG_BANDEDTILES_H
