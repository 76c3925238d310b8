//===- InterleavedWorkList.cpp - dK/dV and dQ items in one launch ---------===//

#include "spa/Planning/InterleavedWorkList.h"
#include "spa/Planning/ScoreGradTiles.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

namespace spa::plan {

std::vector<int64_t>
lastKeyItemRead(const BandTable &table, int64_t numKvHeads, int64_t queryLen,
                int64_t keyLen, int64_t tile,
                const std::vector<KeyTileWorkItem> &keyItems,
                const std::vector<WorkItem> &queryItems) {
  const int64_t heads = table.numHeads();
  if (heads <= 0 || numKvHeads <= 0 || heads % numKvHeads || queryLen <= 0 ||
      keyLen <= 0 || tile <= 0)
    return {};
  const int64_t group = heads / numKvHeads;
  const int64_t keyTiles = (keyLen + tile - 1) / tile;
  auto keyOf = [&](int64_t batch, int64_t kvHead, int64_t keyTile) {
    return (batch * numKvHeads + kvHead) * keyTiles + keyTile;
  };
  std::unordered_map<int64_t, int64_t> position;
  position.reserve(keyItems.size());
  for (size_t p = 0; p < keyItems.size(); ++p) {
    const KeyTileWorkItem &item = keyItems[p];
    position[keyOf(item.batch, item.kvHead, item.keyTile)] = int64_t(p);
  }
  const bool bothSides = table.mode == BandMode::Bidirectional;
  std::vector<int64_t> last;
  last.reserve(queryItems.size());
  for (const WorkItem &item : queryItems) {
    if (item.head < 0 || item.head >= heads)
      return {};
    int64_t latest = -1;
    for (const Interval &interval : table.heads[item.head])
      for (int side : {1, -1}) {
        if (side < 0 && !bothSides)
          continue;
        KeyRange keys = keysReachedByRows(interval, side, item.queryTile * tile,
                                          tile, queryLen, keyLen);
        if (keys.size() == 0)
          continue;
        for (int64_t kt = keys.begin / tile; kt <= (keys.end - 1) / tile;
             ++kt) {
          auto found = position.find(keyOf(item.batch, item.head / group, kt));
          if (found == position.end())
            return {};
          latest = std::max(latest, found->second);
        }
      }
    last.push_back(latest);
  }
  return last;
}

std::vector<int32_t> interleaveBlocks(int64_t keyBlocks,
                                      const std::vector<int64_t> &lastRead,
                                      int64_t lag) {
  if (lag < 0 || keyBlocks < 0)
    return {};
  // Each dQ block's place: after dK/dV block `after` (-1: before all).
  std::vector<int64_t> after(lastRead.size());
  for (size_t q = 0; q < lastRead.size(); ++q) {
    if (lastRead[q] < -1 || lastRead[q] >= keyBlocks)
      return {};
    after[q] =
        lastRead[q] < 0 ? -1 : std::min(lastRead[q] + lag, keyBlocks - 1);
  }
  std::vector<int64_t> queries(lastRead.size());
  std::iota(queries.begin(), queries.end(), 0);
  std::stable_sort(queries.begin(), queries.end(),
                   [&](int64_t a, int64_t b) { return after[a] < after[b]; });
  std::vector<int32_t> order;
  order.reserve(keyBlocks + lastRead.size());
  size_t next = 0;
  auto emitQueriesAfter = [&](int64_t block) {
    while (next < queries.size() && after[queries[next]] == block)
      order.push_back(int32_t(keyBlocks + queries[next++]));
  };
  emitQueriesAfter(-1);
  for (int64_t block = 0; block < keyBlocks; ++block) {
    order.push_back(int32_t(block));
    emitQueriesAfter(block);
  }
  return order;
}

} // namespace spa::plan
