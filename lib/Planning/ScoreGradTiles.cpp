//===- ScoreGradTiles.cpp - The tile pairs a stored dS would hold ---------===//
//
// Implementation of spa/Planning/ScoreGradTiles.h. A query tile's key range
// for one interval and side is the union of its rows' ranges, which is
// contiguous (consecutive rows shift the range by one); the aligned key
// tiles meeting it are floor(begin / T) .. ceil(end / T) - 1, and every one
// of them holds an admissible pair, since every key of the union is reached
// by some row of the tile.
//
//===----------------------------------------------------------------------===//

#include "spa/Planning/ScoreGradTiles.h"

#include "PlanningInternal.h"
#include "spa/Planning/GradWorkList.h"
#include "spa/Planning/WorkList.h"

#include <algorithm>

namespace spa::plan {

using detail::ceilDiv;
using detail::floorDiv;

/// The key tiles of the grid aligned to multiples of `tile` that hold a
/// key of `keys` (none when it is empty).
static int64_t alignedKeyTiles(KeyRange keys, int64_t tile) {
  return keys.size() == 0
             ? 0
             : ceilDiv(keys.end, tile) - floorDiv(keys.begin, tile);
}

KeyRange keysReachedByRows(Interval interval, int side, int64_t firstRow,
                           int64_t rows, int64_t queryLen, int64_t keyLen) {
  const int64_t lastRow = std::min(firstRow + rows, queryLen) - 1;
  firstRow = std::max<int64_t>(firstRow, 0);
  if (interval.lo >= interval.hi || rows <= 0 || firstRow > lastRow ||
      keyLen <= 0)
    return {};
  const int64_t offset = keyLen - queryLen; // p = i + offset
  const int64_t pFirst = firstRow + offset, pLast = lastRow + offset;
  KeyRange keys;
  if (side > 0) {
    keys = {pFirst - interval.hi + 1, pLast - interval.lo + 1};
  } else {
    const int64_t lo = std::max<int64_t>(interval.lo, 1);
    if (lo >= interval.hi)
      return {};
    keys = {pFirst + lo, pLast + interval.hi};
  }
  keys.begin = std::max<int64_t>(0, keys.begin);
  keys.end = std::min(keyLen, keys.end);
  if (keys.end < keys.begin)
    keys.end = keys.begin;
  return keys;
}

ScoreGradTiles planScoreGradTiles(const BandTable &table, int64_t queryLen,
                                  int64_t keyLen, int64_t tile) {
  ScoreGradTiles plan;
  if (queryLen <= 0 || keyLen <= 0 || tile <= 0 || table.numHeads() <= 0)
    return plan;
  // The (head, query tile) pairs are the dQ kernel's work items of one
  // batch element: the same bound as its work list, so that the offsets
  // table stays small.
  if (countWorkItems(1, table.numHeads(), queryLen, tile) > kMaxWorkItems)
    return plan;
  plan.tile = tile;
  plan.queryTiles = ceilDiv(queryLen, tile);
  plan.offsets.reserve(table.numHeads() * plan.queryTiles + 1);
  plan.offsets.push_back(0);
  const bool bothSides = table.mode == BandMode::Bidirectional;
  for (const HeadBands &head : table.heads)
    for (int64_t t = 0; t < plan.queryTiles; ++t) {
      int64_t slots = 0;
      for (Interval interval : head)
        for (int side : {1, -1}) {
          if (side < 0 && !bothSides)
            break;
          KeyRange keys = keysReachedByRows(interval, side, t * tile, tile,
                                            queryLen, keyLen);
          slots += alignedKeyTiles(keys, tile);
          plan.unalignedPairs += ceilDiv(keys.size(), tile);
        }
      plan.maxSlots = std::max(plan.maxSlots, slots);
      plan.offsets.push_back(plan.offsets.back() + slots);
    }
  return plan;
}

int64_t maxQueryTilesPerKeyTile(const BandTable &table, int64_t queryLen,
                                int64_t keyLen, int64_t tile) {
  if (queryLen <= 0 || keyLen <= 0 || tile <= 0)
    return 0;
  const bool bothSides = table.mode == BandMode::Bidirectional;
  int64_t most = 0;
  for (const HeadBands &head : table.heads)
    for (Interval interval : head)
      for (int side : {1, -1}) {
        if (side < 0 && !bothSides)
          break;
        for (int64_t firstKey = 0; firstKey < keyLen; firstKey += tile) {
          RowRange rows = queryRowsReachingKeyTile(interval, side, firstKey,
                                                   tile, queryLen, keyLen);
          if (rows.size() == 0)
            continue;
          most = std::max(most,
                          ceilDiv(rows.end, tile) - floorDiv(rows.begin, tile));
        }
      }
  return most;
}

ScoreGradSlotBases scoreGradSlotBases(const BandTable &table, int64_t queryLen,
                                      int64_t keyLen, int64_t tile,
                                      int64_t slots) {
  ScoreGradSlotBases layout;
  if (queryLen <= 0 || keyLen <= 0 || tile <= 0 || slots <= 0 ||
      table.numHeads() <= 0 ||
      countWorkItems(1, table.numHeads(), queryLen, tile) > kMaxWorkItems)
    return layout;
  for (const HeadBands &head : table.heads)
    if (int64_t(head.size()) > slots)
      return layout;
  const bool bothSides = table.mode == BandMode::Bidirectional;
  const int64_t sides = bothSides ? 2 : 1;
  const int64_t queryTiles = ceilDiv(queryLen, tile);
  std::vector<int64_t> &bases = layout.bases;
  bases.reserve(table.numHeads() * queryTiles * slots * sides);
  int64_t &next = layout.tiles; // the range's first slot, in dQ walk order
  for (const HeadBands &head : table.heads)
    for (int64_t t = 0; t < queryTiles; ++t)
      for (int64_t s = 0; s < slots; ++s)
        for (int side : {1, -1}) {
          if (side < 0 && !bothSides)
            break;
          if (s >= int64_t(head.size())) {
            bases.push_back(next); // an empty slot reaches nothing
            continue;
          }
          KeyRange keys = keysReachedByRows(head[s], side, t * tile, tile,
                                            queryLen, keyLen);
          const int64_t count = alignedKeyTiles(keys, tile);
          // Key tile kt of the range is slot base + kt.
          bases.push_back(count ? next - floorDiv(keys.begin, tile) : next);
          next += count;
        }
  return layout;
}

} // namespace spa::plan
