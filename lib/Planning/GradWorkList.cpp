//===- GradWorkList.cpp - Work list of the dK/dV backward kernel ----------===//
//
// Implementation of spa/Planning/GradWorkList.h. The interior-tile count is
// closed-form (each condition of the kernel's interior test bounds the tile
// index t from one side), so costing a list stays linear in its items.
//
//===----------------------------------------------------------------------===//

#include "spa/Planning/GradWorkList.h"

#include "PlanningInternal.h"
#include "spa/Planning/WorkList.h"

#include <algorithm>
#include <limits>

namespace spa::plan {

using detail::ceilDiv;
using detail::floorDiv;

RowRange queryRowsReachingKeyTile(Interval interval, int side, int64_t firstKey,
                                  int64_t tileK, int64_t queryLen,
                                  int64_t keyLen) {
  if (interval.lo >= interval.hi || tileK <= 0 || firstKey >= keyLen ||
      queryLen <= 0)
    return {};
  const int64_t lastKey = std::min(firstKey + tileK, keyLen) - 1;
  const int64_t offset = keyLen - queryLen; // p = i + offset
  int64_t pFirst, pLast;
  if (side > 0) {
    pFirst = firstKey + interval.lo;
    pLast = lastKey + interval.hi - 1;
  } else {
    const int64_t lo = std::max<int64_t>(interval.lo, 1);
    if (lo >= interval.hi)
      return {};
    pFirst = firstKey - interval.hi + 1;
    pLast = lastKey - lo;
  }
  RowRange rows{std::max<int64_t>(0, pFirst - offset),
                std::min(queryLen, pLast - offset + 1)};
  if (rows.end < rows.begin)
    rows.end = rows.begin;
  return rows;
}

int64_t interiorQueryTiles(RowRange rows, Interval interval, int side,
                           int64_t firstKey, TileShape tile, int64_t queryLen,
                           int64_t keyLen) {
  const int64_t n = ceilDiv(rows.size(), tile.q);
  const int64_t lastKey = firstKey + tile.k - 1;
  if (n == 0 || lastKey >= keyLen)
    return 0;
  const int64_t offset = keyLen - queryLen;
  // Tile t covers rows [b + t Tq, b + t Tq + Tq - 1], positions shifted by
  // offset; each condition becomes a bound on t.
  const int64_t b = rows.begin + offset, tq = tile.q;
  int64_t tMin = 0,
          tMax = std::min(n - 1, floorDiv(queryLen - tq - rows.begin, tq));
  if (side > 0) {
    // pFirst - lastKey >= lo and pLast - firstKey < hi.
    tMin = std::max(tMin, ceilDiv(lastKey + interval.lo - b, tq));
    tMax = std::min(tMax, floorDiv(firstKey + interval.hi - tq - b, tq));
  } else {
    const int64_t lo = std::max<int64_t>(interval.lo, 1);
    // firstKey - pLast >= lo and lastKey - pFirst < hi.
    tMax = std::min(tMax, floorDiv(firstKey - lo - tq + 1 - b, tq));
    tMin = std::max(tMin, ceilDiv(lastKey - interval.hi + 1 - b, tq));
  }
  return std::max<int64_t>(0, tMax - tMin + 1);
}

/// fn(interval, side, rows) for every interval and side (the anti side in
/// the bidirectional mode only) of every head of `groupHeads`, with the
/// query rows that reach key tile [firstKey, firstKey + tile.k) through it.
template <typename Fn>
static void forEachReach(const std::vector<HeadBands> &groupHeads,
                         int64_t firstKey, int64_t queryLen, int64_t keyLen,
                         BandMode mode, TileShape tile, Fn fn) {
  for (const HeadBands &head : groupHeads)
    for (const Interval &interval : head)
      for (int side : {1, -1}) {
        if (side < 0 && mode != BandMode::Bidirectional)
          break;
        fn(interval, side,
           queryRowsReachingKeyTile(interval, side, firstKey, tile.k, queryLen,
                                    keyLen));
      }
}

/// Each key/value head's query heads (head h belongs to h / (Hq / Hkv)),
/// made once for the per-key-tile questions. numKvHeads must divide Hq.
static std::vector<std::vector<HeadBands>> kvHeadGroups(const BandTable &table,
                                                        int64_t numKvHeads) {
  const int64_t group = table.numHeads() / numKvHeads;
  std::vector<std::vector<HeadBands>> groups;
  groups.reserve(static_cast<size_t>(numKvHeads));
  for (int64_t g = 0; g < numKvHeads; ++g)
    groups.emplace_back(table.heads.begin() + g * group,
                        table.heads.begin() + (g + 1) * group);
  return groups;
}

double keyTileItemCost(const std::vector<HeadBands> &groupHeads,
                       int64_t keyTile, int64_t queryLen, int64_t keyLen,
                       BandMode mode, TileShape tile,
                       const CostWeights &weights) {
  if (queryLen <= 0 || keyLen <= 0 || tile.q <= 0 || tile.k <= 0 ||
      keyTile < 0 || keyTile >= ceilDiv(keyLen, tile.k))
    return 0.0;
  const int64_t firstKey = keyTile * tile.k;
  double cost = weights.workItem;
  forEachReach(groupHeads, firstKey, queryLen, keyLen, mode, tile,
               [&](const Interval &interval, int side, RowRange rows) {
                 const int64_t tiles = ceilDiv(rows.size(), tile.q);
                 const int64_t interior = interiorQueryTiles(
                     rows, interval, side, firstKey, tile, queryLen, keyLen);
                 cost += static_cast<double>(tiles) * weights.fullTile +
                         static_cast<double>(tiles - interior) *
                             weights.partialTileExtra;
               });
  return cost;
}

int64_t countKeyTileWorkItems(int64_t batch, int64_t numKvHeads, int64_t keyLen,
                              int64_t tileK) {
  return countWorkItems(batch, numKvHeads, keyLen, tileK);
}

std::vector<KeyTileWorkItem>
buildKeyTileWorkList(const BandTable &table, int64_t batch, int64_t numKvHeads,
                     int64_t queryLen, int64_t keyLen, TileShape tile) {
  const int64_t numHeads = table.numHeads();
  const int64_t count =
      countKeyTileWorkItems(batch, numKvHeads, keyLen, tile.k);
  if (count == 0 || count > kMaxWorkItems || numHeads % numKvHeads != 0 ||
      queryLen <= 0 || tile.q <= 0)
    return {};
  const std::vector<std::vector<HeadBands>> groups =
      kvHeadGroups(table, numKvHeads);
  return detail::costOrderedWorkList<KeyTileWorkItem>(
      numKvHeads, ceilDiv(keyLen, tile.k), batch,
      [&](int64_t kvHead, int64_t keyTile) {
        return keyTileItemCost(groups[kvHead], keyTile, queryLen, keyLen,
                               table.mode, tile);
      });
}

int64_t firstKeyTileItemReachedByNoQuery(
    const std::vector<KeyTileWorkItem> &list, const BandTable &table,
    int64_t numKvHeads, int64_t queryLen, int64_t keyLen, TileShape tile) {
  if (numKvHeads <= 0 || table.numHeads() % numKvHeads != 0 || tile.k <= 0)
    return static_cast<int64_t>(list.size());
  const std::vector<std::vector<HeadBands>> groups =
      kvHeadGroups(table, numKvHeads);
  return detail::zeroTailStart(list, [&](const KeyTileWorkItem &item) {
    if (item.kvHead < 0 || item.kvHead >= numKvHeads)
      return false;
    bool reached = false;
    forEachReach(groups[static_cast<size_t>(item.kvHead)],
                 item.keyTile * tile.k, queryLen, keyLen, table.mode, tile,
                 [&](const Interval &, int, RowRange rows) {
                   reached = reached || rows.size() > 0;
                 });
    return !reached;
  });
}

} // namespace spa::plan
