//===- BackwardStreamWalk.h - the tiles a work item visits ----*- C++ -*-===//
//
// The one loop nest of a dK/dV work item: every query head of the key/value
// head's group, every interval of the head (foldIntervals), every side,
// and the query tiles of that interval and side that reach the item's key
// tile (KeyTileGeometry::queryRange). Written once so that every role of a
// kernel walks the same tiles in the same order: the warp-specialised
// kernel's producer and consumers each run it, and a trip count that
// differed between them would deadlock on their barriers. With
// score-grads = store each range starts at a multiple of 64 rows, the
// grid the dQ kernel's walk shares (ScoreGradStore.h). walkKeyTiles is the
// dQ kernels' loop nest (the recomputing and the stored one): every
// interval and side of the item's query head, and the key tiles its rows
// reach (BandGeometry::keyRange).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_BACKWARDSTREAMWALK_H
#define SPA_LIB_CONVERSION_SPATOGPU_BACKWARDSTREAMWALK_H

#include "BackwardMainloop.h"

namespace mlir::spa::gpu_kernel {

/// One query tile of the walk: rows [i0, i0 + streamRows) of query head
/// `head`, reached through the interval [lo, hi) of bounds slot `slot` on
/// `side` (lo already raised on the anti side); `rangeBegin` is the first
/// row of the interval and side's tiles.
struct QueryTileStep {
  Value head, i0, lo, hi;
  int side;
  Value slot, rangeBegin;
};

using QueryTileBody = function_ref<SmallVector<Value>(
    ImplicitLocOpBuilder &, const QueryTileStep &, ValueRange carried)>;
/// Called before the tiles [begin, end) of one head, interval and side.
using QueryRangeHook = function_ref<void(ImplicitLocOpBuilder &, Value head,
                                         Value begin, Value end)>;

/// Folds `body` over the query tiles that reach keys [j0, j0 + ownRows) of
/// the item's key/value head (k.kvHead), in walk order; sets k.head to each
/// query head in turn.
SmallVector<Value> walkQueryTiles(ImplicitLocOpBuilder &b, BackwardContext &k,
                                  Value j0, ValueRange init, QueryTileBody body,
                                  QueryRangeHook onRange = nullptr);

/// The dQ kernels' walk (the mirror image): one range of key tiles of the
/// item's query tile (k.firstPos .. k.lastPos) through the interval [lo,
/// hi) of bounds slot `slot` on `side` (lo raised on the anti side): keys
/// [begin, end), in steps of grad.streamRows().
struct KeyTileRange {
  Value slot, lo, hi;
  int side;
  Value begin, end;
};
using KeyTileBody = function_ref<SmallVector<Value>(
    ImplicitLocOpBuilder &, const KeyTileRange &, Value j0,
    ValueRange carried)>;
using KeyRangeHook =
    function_ref<void(ImplicitLocOpBuilder &, const KeyTileRange &)>;

/// Folds `body` over the key tiles that the item's query rows reach, every
/// interval of k.head and side, in walk order (`onRange` before each
/// range). With grad.storeScoreGrads each range starts at the multiple of
/// 64 at or below its first key (an empty range stays empty), the grid of
/// the dK/dV walk above.
SmallVector<Value> walkKeyTiles(ImplicitLocOpBuilder &b, BackwardContext &k,
                                ValueRange init, KeyTileBody body,
                                KeyRangeHook onRange);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_BACKWARDSTREAMWALK_H
