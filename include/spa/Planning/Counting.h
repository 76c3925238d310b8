//===- Counting.h - Closed-form pair and tile counts ------------*- C++ -*-===//
//
// Exact counts of what one head attends (SPEC.md section 2): admissible
// (query, key) pairs and the key tiles a query tile touches, split into full
// and masked tiles. Closed forms, O(#intervals) per count; the unit tests
// check them against cell-by-cell enumeration.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_COUNTING_H
#define SPA_PLANNING_COUNTING_H

#include "spa/Planning/BandTable.h"

#include <cstdint>

namespace spa::plan {

/// Admissible (query, key) pairs of one head for one batch element:
/// |{(i, j) : dist(i, j) in bands}|. Closed form, O(#intervals).
int64_t countPairs(const HeadBands &bands, int64_t queryLen, int64_t keyLen,
                   BandMode mode = BandMode::Causal);

/// Key tiles a work item touches, split into tiles where every (i, j) is
/// admissible (no mask needed) and tiles that need masking.
struct TileCounts {
  int64_t full = 0;
  int64_t partial = 0;
  int64_t total() const { return full + partial; }
};

/// Tiles of one query tile `queryTile` (rows [queryTile*tile.q, ...)).
TileCounts countTilesForQueryTile(const HeadBands &bands, int64_t queryTile,
                                  int64_t queryLen, int64_t keyLen,
                                  BandMode mode, TileShape tile);
/// Sum over all query tiles of one head.
TileCounts countTiles(const HeadBands &bands, int64_t queryLen, int64_t keyLen,
                      BandMode mode, TileShape tile);

} // namespace spa::plan

#endif // SPA_PLANNING_COUNTING_H
