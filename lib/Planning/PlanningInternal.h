//===- PlanningInternal.h - Shared planning helpers -------------*- C++ -*-===//
//
// Private to lib/Planning: the signed-distance geometry that pair counting,
// the cost model and the tile_balanced search all build on, and the entry
// points one source file offers another. Not installed and not part of the
// library's API (the unit tests reach costChangePositions on purpose).
//
// The per-tile kernels (queryTileRows, countTilesForRows, itemCost) are
// defined inline here rather than in a source file because the tile_balanced
// search calls them in its innermost loop, millions of times per plan, and
// needs them inlined there.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_PLANNING_PLANNINGINTERNAL_H
#define SPA_LIB_PLANNING_PLANNINGINTERNAL_H

#include "spa/Planning/CostModel.h"
#include "spa/Planning/Counting.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace spa::plan::detail {

//===----------------------------------------------------------------------===//
// Small integer helpers
//===----------------------------------------------------------------------===//

/// floor(a / b) for b > 0 (C++ division truncates toward zero).
inline int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && (a < 0))
    --q;
  return q;
}

/// ceil(a / b) for b > 0.
inline int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

//===----------------------------------------------------------------------===//
// Geometry: signed-distance pieces
//===----------------------------------------------------------------------===//
//
// Both modes reduce to the same primitive: a *piece* is an inclusive range
// [lo, hi] of the signed distance s = p - j. A causal interval [lo, hi) is the
// piece [lo, hi - 1]; a bidirectional interval is the two pieces [lo, hi - 1]
// and [-(hi - 1), -lo] (one piece [-(hi - 1), hi - 1] when lo == 0). Pieces of
// a normalized head are sorted, disjoint and separated by at least one
// missing signed distance, which is what makes tile classification exact with
// one piece at a time (see countTilesForRows).

struct Piece {
  int64_t lo; // inclusive
  int64_t hi; // inclusive
};

/// The pieces of `bands` (normalized first), sorted by signed distance.
/// Defined in Counting.cpp.
std::vector<Piece> makePieces(const HeadBands &bands, BandMode mode,
                              int64_t queryLen, int64_t keyLen);

/// Tile counts of the query rows with absolute positions [pFirst, pLast]
/// against all key tiles, for sorted disjoint pieces.
///
/// Touched: piece k reaches exactly the key columns
/// [pFirst - hi_k, pLast - lo_k] intersected with [0, keyLen) (every row's
/// range is non-empty and shifts by one per row, so the union is
/// contiguous); a key tile is touched iff it meets one of these ranges.
///
/// Full: a tile [c0, c1] is full for piece k iff c0 >= pLast - hi_k and
/// c1 <= pFirst - lo_k (the extreme rows decide). A tile cannot be full by a
/// *union* of several pieces: in each row the tile's signed distances form a
/// contiguous window, consecutive rows' windows overlap or touch, and the
/// pieces are separated by missing distances, so all windows lie in a single
/// piece. Hence full tiles of different pieces are disjoint and are not
/// touched by any other piece, and partial = touched - sum of full.
inline TileCounts countTilesForRows(const Piece *pieces, size_t numPieces,
                                    int64_t pFirst, int64_t pLast,
                                    int64_t keyLen, int64_t tileK) {
  TileCounts counts;
  const int64_t numKeyTiles = ceilDiv(keyLen, tileK);
  int64_t touched = 0;
  int64_t runLo = 0, runHi = -1; // current merged run of touched key tiles
  // Descending signed distance = ascending key columns, so the per-piece
  // tile ranges arrive sorted by their start and merge in one pass.
  for (size_t idx = numPieces; idx-- > 0;) {
    const Piece &pc = pieces[idx];
    int64_t colLo = std::max<int64_t>(0, pFirst - pc.hi);
    int64_t colHi = std::min(keyLen - 1, pLast - pc.lo);
    if (colLo > colHi)
      continue;
    int64_t tileLo = colLo / tileK, tileHi = colHi / tileK;
    if (tileLo > runHi) {
      touched += runHi - runLo + 1;
      runLo = tileLo;
      runHi = tileHi;
    } else {
      runHi = std::max(runHi, tileHi);
    }
    int64_t fullLo = std::max<int64_t>(0, ceilDiv(pLast - pc.hi, tileK));
    // Tile u ends at min((u + 1) * tileK, keyLen) - 1; the clipped last tile
    // is full as soon as keyLen - 1 <= pFirst - lo.
    int64_t fullHi = (keyLen - 1 <= pFirst - pc.lo)
                         ? numKeyTiles - 1
                         : floorDiv(pFirst - pc.lo + 1, tileK) - 1;
    if (fullHi >= fullLo)
      counts.full += fullHi - fullLo + 1;
  }
  touched += runHi - runLo + 1;
  counts.partial = touched - counts.full;
  return counts;
}

/// Pairs with distance < b of a queryLen x keyLen problem in `mode`:
/// countPairs({{0, b}}, ...) without allocating (pair_balanced's search).
/// Defined in Counting.cpp.
int64_t countPairsBelow(int64_t b, int64_t queryLen, int64_t keyLen,
                        BandMode mode);

/// countTilesForRows summed over every query tile of a queryLen x keyLen
/// problem (valid, see validProblem), in closed form: O(#pieces *
/// log(tile.k)) whatever the lengths. Defined in Counting.cpp.
TileCounts sumTilesOverQueryTiles(const Piece *pieces, size_t numPieces,
                                  int64_t queryLen, int64_t keyLen,
                                  TileShape tile);

/// Row range of query tile `queryTile`, as absolute positions. False when the
/// tile does not exist.
inline bool queryTileRows(int64_t queryTile, int64_t queryLen, int64_t keyLen,
                          int64_t tileQ, int64_t &pFirst, int64_t &pLast) {
  if (queryTile < 0 || tileQ <= 0 || queryTile >= ceilDiv(queryLen, tileQ))
    return false;
  int64_t r0 = queryTile * tileQ;
  int64_t r1 = std::min(r0 + tileQ, queryLen);
  pFirst = r0 + keyLen - queryLen;
  pLast = r1 - 1 + keyLen - queryLen;
  return true;
}

/// Positive lengths and tile sides: the problems that have work items.
inline bool validProblem(int64_t queryLen, int64_t keyLen, TileShape tile) {
  return queryLen > 0 && keyLen > 0 && tile.q > 0 && tile.k > 0;
}

//===----------------------------------------------------------------------===//
// Cost model
//===----------------------------------------------------------------------===//

/// Cost of one work item with tile counts `tc`.
inline double itemCost(TileCounts tc, const CostWeights &w) {
  return w.workItem + static_cast<double>(tc.full) * w.fullTile +
         static_cast<double>(tc.partial) * (w.fullTile + w.partialTileExtra);
}

//===----------------------------------------------------------------------===//
// tile_balanced search (TileBalancing.cpp)
//===----------------------------------------------------------------------===//

/// Boundaries 0 = b_0 < ... < b_H = N of tile_balanced for N = seqLen >= H.
std::vector<int64_t> tileBalancedBoundaries(int64_t seqLen, int64_t numHeads,
                                            int64_t queryLen, BandMode mode,
                                            TileShape tile,
                                            const CostWeights &weights);

/// Positions where the cost of a band may change as one of its ends moves by
/// one distance: tile_balanced's search space, listed in full for the unit
/// tests (the search itself never lists more than it can use).
std::vector<int64_t> costChangePositions(int64_t queryLen, int64_t keyLen,
                                         BandMode mode, TileShape tile);

//===----------------------------------------------------------------------===//
// Text (BandTableText.cpp)
//===----------------------------------------------------------------------===//

/// "[lo, hi)": an interval in validation messages, in mathematical notation.
std::string intervalText(const Interval &iv);

//===----------------------------------------------------------------------===//
// Work lists
//===----------------------------------------------------------------------===//

/// The work list over `groups` x `tiles` items (a head or key/value head,
/// and a query or key tile), heaviest first by `cost(group, tile)`, the
/// batch expanded innermost (an item's cost does not depend on its batch
/// element, so each is costed and sorted once). `Item` is built as
/// {batch, group, tile}. The sort is stable: equal costs keep (group, tile)
/// order, so the list is the same on every platform and compiler.
template <typename Item, typename CostFn>
std::vector<Item> costOrderedWorkList(int64_t groups, int64_t tiles,
                                      int64_t batch, CostFn cost) {
  struct Costed {
    double cost;
    int64_t group, tile;
  };
  std::vector<Costed> costed;
  costed.reserve(static_cast<size_t>(groups * tiles));
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t t = 0; t < tiles; ++t)
      costed.push_back({cost(g, t), g, t});
  std::stable_sort(
      costed.begin(), costed.end(),
      [](const Costed &a, const Costed &b) { return a.cost > b.cost; });
  std::vector<Item> list;
  list.reserve(costed.size() * static_cast<size_t>(batch));
  for (const Costed &item : costed)
    for (int64_t b = 0; b < batch; ++b)
      list.push_back(Item{b, item.group, item.tile});
  return list;
}

/// The start of the suffix of `list` whose items all reach nothing
/// (`reachesNothing(item)`); a cost-sorted list puts them last. The batch
/// is innermost and does not change what an item reaches, so the predicate
/// is asked once per run of items that differ only in it.
template <typename Item, typename Pred>
int64_t zeroTailStart(const std::vector<Item> &list, Pred reachesNothing) {
  int64_t start = static_cast<int64_t>(list.size());
  const Item *known = nullptr; // the last item found to reach nothing
  while (start > 0) {
    const Item &item = list[static_cast<size_t>(start - 1)];
    Item same = item;
    if (known)
      same.batch = known->batch;
    if (!(known && same == *known) && !reachesNothing(item))
      break;
    known = &item;
    --start;
  }
  return start;
}

} // namespace spa::plan::detail

#endif // SPA_LIB_PLANNING_PLANNINGINTERNAL_H
