//===- ScoreGradTiles.h - The tile pairs a stored dS would hold -*- C++ -*-===//
//
// Planning for a backward that stores dS instead of recomputing it
// (docs/backward-plan.md, section 5): the dK/dV kernel would write each
// visited tile pair's dS tile and the dQ kernel read it back, so both must
// cut the band into the same tiles. On one grid aligned to multiples of the
// tile size, the pairs the dQ kernel visits (for a query tile, the key tiles
// its rows reach through an interval and side) are exactly the pairs the
// dK/dV kernel visits (for a key tile, the query tiles reaching it): both
// are the tile pairs holding an admissible pair of that interval and side.
// This header counts them per (head, query tile), lays them out as one
// compact scratch (offsets by prefix sums), and counts what today's dQ walk
// would visit with the same tile (key tiles stepped from each range's first
// key, rows clamped to Nq), so that the extra masked work of the aligned
// grid and the scratch's size are known before anything is built.
// MLIR-free, gtested against brute force.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_SCOREGRADTILES_H
#define SPA_PLANNING_SCOREGRADTILES_H

#include "spa/Planning/BandTable.h"

#include <cstdint>
#include <vector>

namespace spa::plan {

/// Keys [begin, end) (begin == end: none).
struct KeyRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end > begin ? end - begin : 0; }
};

/// The keys j in [0, keyLen) that the existing query rows (0 <= i <
/// queryLen) of [firstRow, firstRow + rows) reach through [lo, hi) on `side`
/// (+1: d = p - j; -1: the anti side, d = j - p with d >= max(lo, 1)), where p
/// = i + keyLen - queryLen. Contiguous; empty when lo >= hi.
KeyRange keysReachedByRows(Interval interval, int side, int64_t firstRow,
                           int64_t rows, int64_t queryLen, int64_t keyLen);

/// The dS tiles of one gradient op on a grid of `tile` x `tile` pairs.
struct ScoreGradTiles {
  int64_t tile = 64;
  int64_t queryTiles = 0; ///< ceil(queryLen / tile) a head
  /// offsets[h * queryTiles + t]: the first slot of head h's query tile t
  /// (its (interval, side, key tile) entries in walk order follow);
  /// offsets.back() is the number of tiles. Size heads * queryTiles + 1.
  std::vector<int64_t> offsets;
  /// The most slots one query tile has.
  int64_t maxSlots = 0;
  /// Tile pairs the unaligned dQ walk visits with `tile` x `tile` tiles
  /// (each range stepped from its first key; rows clamped to Nq, where the
  /// kernel's last partial query tile may reach one more key tile): the
  /// aligned grid's extra masked work is about tiles() / this.
  int64_t unalignedPairs = 0;

  int64_t tiles() const { return offsets.empty() ? 0 : offsets.back(); }
  /// Bytes of the scratch for `batch` elements of `elementBytes` each.
  int64_t scratchBytes(int64_t batch, int64_t elementBytes) const {
    return batch * tiles() * tile * tile * elementBytes;
  }
};

/// Counts and lays out the aligned tile pairs of every head, interval and
/// side (both sides in the bidirectional mode). Empty when an argument is
/// not positive or the heads have more than kMaxWorkItems query tiles
/// (WorkList.h's bound on the dQ kernel's work items).
ScoreGradTiles planScoreGradTiles(const BandTable &table, int64_t queryLen,
                                  int64_t keyLen, int64_t tile);

/// The stored-dS backward's padded layout (score-grads = store,
/// lib/Conversion/SpaToGPU/ScoreGradStore.h) gives every (head, interval,
/// side, key tile) the same number Q of query-tile slots: the most aligned
/// query tiles of `tile` rows that one key tile's dK/dV walk visits through
/// one interval and side (its rows, queryRowsReachingKeyTile, rounded out
/// to the grid), over every head, interval, side (both in the
/// bidirectional mode) and key tile. 0 when nothing is reached or an
/// argument is not positive.
int64_t maxQueryTilesPerKeyTile(const BandTable &table, int64_t queryLen,
                                int64_t keyLen, int64_t tile);

/// The compact layout of planScoreGradTiles as a table kernels index
/// (score-grad-layout = compact, docs/backward-plan.md section 6): entry
/// ((h * queryTiles + t) * slots + s) * sides + (side < 0) is the base of
/// query tile t of head h through bounds slot s on that side (the head's
/// intervals in order, then empty slots up to `slots`, as the GPU bounds
/// table pads them): the pair with aligned key tile kt (key kt * tile) is
/// scratch slot base + kt. Both kernels of the stored dS then find a pair's
/// slot with one lookup and one add, whichever side they walk it from.
/// Slots rise in the dQ kernel's walk order (head, query tile, interval,
/// side, key tile) and end at `tiles` (planScoreGradTiles' tiles(), counted
/// by the same walk). A base may be negative (the range's first key tile is
/// past its slot); an empty range's entry is the next range's first slot
/// and is never read. `bases` is empty when planScoreGradTiles is, or a
/// head has more than `slots` intervals.
struct ScoreGradSlotBases {
  std::vector<int64_t> bases;
  int64_t tiles = 0; ///< slots of one batch element
};
ScoreGradSlotBases scoreGradSlotBases(const BandTable &table, int64_t queryLen,
                                      int64_t keyLen, int64_t tile,
                                      int64_t slots);

} // namespace spa::plan

#endif // SPA_PLANNING_SCOREGRADTILES_H
