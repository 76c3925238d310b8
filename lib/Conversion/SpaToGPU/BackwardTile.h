//===- BackwardTile.h - per-tile math of the backward kernels ---*- C++ -*-===//
//
// What the dK/dV and dQ kernels do to one (own tile, stream tile) pair
// between the matrix products, written once for both orientations (own rows
// are keys in dK/dV, queries in dQ): recompute P = exp2(S scale log2(e) -
// lse log2(e)) and form dS = P (dP - Delta), with the band mask applied only
// on edge tiles; and the final scaled store of the f32 accumulators.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_BACKWARDTILE_H
#define SPA_LIB_CONVERSION_SPATOGPU_BACKWARDTILE_H

#include "BackwardMainloop.h"

#include <functional>

namespace mlir::spa::gpu_kernel {

/// One (own tile, stream tile) pair against one interval and side.
struct TilePair {
  Value ownFirst;    ///< first row of the own tile (key or query index)
  Value streamFirst; ///< first row of the stream tile
  bool ownIsKey;     ///< dK/dV: own rows are keys, stream rows queries
  Value lo, hi;      ///< the interval (lo already raised on the anti side)
  int side;
  Value interior; ///< i1: every pair of the full tiles is admissible
};

/// Per-element value of accumulator tile `nt`, element (r, i) (row g + 8r,
/// column 8 nt + 2c + i of the warp's 16 x streamRows block); anything it
/// creates goes through `b`, at the point of use.
using ElementValue = std::function<Value(ImplicitLocOpBuilder &b, int64_t nt,
                                         int64_t r, int64_t i)>;

/// The interior test of a pair: all rows and keys of both full tiles exist
/// and every pair's distance lies in [lo, hi) on `side`.
Value pairInterior(ImplicitLocOpBuilder &b, const BackwardContext &k,
                   Value queryFirst, int64_t queryRows, Value keyFirst,
                   int64_t keyRows, Value lo, Value hi, int side);

/// P = exp2(S * scaleLog2 - lse2) per element; on edge tiles 0 where the
/// pair is not admissible (outside the interval, or past Nq or Nk).
SmallVector<Value> recomputeProbabilities(ImplicitLocOpBuilder &b,
                                          const BackwardContext &k,
                                          const TilePair &pair,
                                          ArrayRef<Value> scores,
                                          const ElementValue &lse2);

/// dS = P (dP - Delta) per element; on edge tiles 0 where the pair is not
/// admissible (so that nothing from a masked pair reaches the gradients).
SmallVector<Value> scoreGradients(ImplicitLocOpBuilder &b,
                                  const BackwardContext &k,
                                  const TilePair &pair, ArrayRef<Value> probs,
                                  ArrayRef<Value> dP,
                                  const ElementValue &delta);

/// Stores `acc` (width/8 tiles of the warp's 16 rows) times `scale` into
/// dest[batch, head, rowFirst + 16 warp + g (+ 8), :] in the element type;
/// rows >= limit are skipped. With `staging` (an own tile, free once the
/// item's products are done) the rows go out through it in 16-byte chunks
/// (StagedStores.h) where dest's layout allows; the caller orders every
/// warp's reads of the staging tile before (a barrier: a warp's own waits
/// do not cover the other warps' wgmma reads).
void storeAccumulators(ImplicitLocOpBuilder &b, const BackwardContext &k,
                       ArrayRef<Value> acc, Value dest, Value head,
                       Value rowFirst, int64_t limit, double scale,
                       Value staging = Value(), Value map = Value());

/// min(row, Nq - 1): the row whose lse and Delta stand for query row `row`
/// (the clamp keeps loads of padding rows in bounds; their pairs are
/// masked).
Value statisticsRow(ImplicitLocOpBuilder &b, const BackwardContext &k,
                    Value row);

/// lse * log2(e): the base-2 lse the recomputed probabilities subtract.
Value lseToLog2(ImplicitLocOpBuilder &b, Value lse);

/// lse[batch, head, min(row, Nq - 1)] * log2(e) (the clamp keeps loads of
/// padding rows in bounds; their pairs are masked).
Value loadScaledLse(ImplicitLocOpBuilder &b, const BackwardContext &k,
                    Value head, Value row);

/// delta[batch, head, min(row, Nq - 1)] (the clamp as above).
Value loadRowDelta(ImplicitLocOpBuilder &b, const BackwardContext &k,
                   Value head, Value row);

/// lse[batch, head, min(row, Nq - 1)] * log2(e) and
/// delta[batch, head, min(row, Nq - 1)] (the clamp keeps loads of padding
/// rows in bounds; their pairs are masked).
std::pair<Value, Value> loadRowStatistics(ImplicitLocOpBuilder &b,
                                          const BackwardContext &k, Value head,
                                          Value row);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_BACKWARDTILE_H
