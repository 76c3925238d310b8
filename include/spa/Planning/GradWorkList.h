//===- GradWorkList.h - Work list of the dK/dV backward kernel --*- C++ -*-===//
//
// The backward pass's dK/dV kernel takes one work item per (batch, key/value
// head, key tile) and visits, for every query head of the key/value head's
// group and every interval and side of that head, the query tiles that reach
// the key tile. This header is the MLIR-free part of that schedule: the query
// rows a key tile is reached from (the mirror image of the forward's key
// range), how many of the visited query tiles are interior (no mask), the
// cost of an item and the cost-sorted (heaviest first) list. The dQ kernel
// reuses the forward's list (WorkList.h).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_GRADWORKLIST_H
#define SPA_PLANNING_GRADWORKLIST_H

#include "spa/Planning/BandTable.h"
#include "spa/Planning/CostModel.h"

#include <cstdint>
#include <vector>

namespace spa::plan {

/// One dK/dV work item: keys [keyTile * tileK, ...) of key/value head
/// `kvHead` of batch element `batch`.
struct KeyTileWorkItem {
  int64_t batch = 0;
  int64_t kvHead = 0;
  int64_t keyTile = 0;
  bool operator==(const KeyTileWorkItem &o) const {
    return batch == o.batch && kvHead == o.kvHead && keyTile == o.keyTile;
  }
};

/// Query rows [begin, end) (begin == end: none).
struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end > begin ? end - begin : 0; }
};

/// The query rows i in [0, queryLen) that reach some existing key of
/// [firstKey, firstKey + tileK) through the distances [lo, hi) on `side`
/// (+1: d = p - j, key j is reached from p in [j + lo, j + hi); -1: the
/// anti side of the bidirectional mode, d = j - p with d >= max(lo, 1)),
/// where p = i + keyLen - queryLen. The rows of one interval and side are
/// contiguous; empty when lo >= hi or the key tile starts past keyLen.
RowRange queryRowsReachingKeyTile(Interval interval, int side, int64_t firstKey,
                                  int64_t tileK, int64_t queryLen,
                                  int64_t keyLen);

/// Of the query tiles [begin + t * tileQ, +tileQ) covering `rows`, how many
/// are interior for the key tile at `firstKey`: every query row exists,
/// every key of the full tile exists, and every pair's distance lies in
/// [lo, hi) on `side` (the kernel skips the mask on those).
int64_t interiorQueryTiles(RowRange rows, Interval interval, int side,
                           int64_t firstKey, TileShape tile, int64_t queryLen,
                           int64_t keyLen);

/// Cost of one dK/dV item (same units as workItemCost): the fixed item cost
/// plus every (query tile, key tile) pair it visits, masked ones weighted
/// with partialTileExtra. `groupHeads` are the query heads of its key/value
/// head.
double keyTileItemCost(const std::vector<HeadBands> &groupHeads,
                       int64_t keyTile, int64_t queryLen, int64_t keyLen,
                       BandMode mode, TileShape tile,
                       const CostWeights &weights = {});

/// batch * numKvHeads * ceil(keyLen / tileK), INT64_MAX on overflow, 0 when
/// an argument is not positive.
int64_t countKeyTileWorkItems(int64_t batch, int64_t numKvHeads, int64_t keyLen,
                              int64_t tileK);

/// Every (batch, key/value head, key tile) item, heaviest first by
/// keyTileItemCost; ties keep (kvHead, tile) order, the batch is innermost.
/// Query head h belongs to key/value head h / (Hq / numKvHeads). Empty when
/// numKvHeads does not divide the head count, an argument is not positive,
/// or there would be more than kMaxWorkItems items.
std::vector<KeyTileWorkItem>
buildKeyTileWorkList(const BandTable &table, int64_t batch, int64_t numKvHeads,
                     int64_t queryLen, int64_t keyLen, TileShape tile);

/// The start of `list`'s tail of items whose keys no query row reaches
/// through any query head of their group (their dK and dV rows are zeros):
/// the smallest t such that every item of [t, list.size()) visits no query
/// tile. A kernel writes those zeros without loading anything. In a list
/// from buildKeyTileWorkList such items are last; list.size() when the last
/// item visits a tile.
int64_t firstKeyTileItemReachedByNoQuery(
    const std::vector<KeyTileWorkItem> &list, const BandTable &table,
    int64_t numKvHeads, int64_t queryLen, int64_t keyLen, TileShape tile);

} // namespace spa::plan

#endif // SPA_PLANNING_GRADWORKLIST_H
