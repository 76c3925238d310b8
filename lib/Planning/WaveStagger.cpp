//===- WaveStagger.cpp - Staggered start of a launch's first wave --------===//
//
// Implementation of spa/Planning/WaveStagger.h.
//
//===----------------------------------------------------------------------===//

#include "spa/Planning/WaveStagger.h"

#include "spa/Planning/Counting.h"

namespace spa::plan {
namespace {

TileCounts itemTiles(const WorkItem &item, const BandTable &table,
                     int64_t queryLen, int64_t keyLen, TileShape tile) {
  if (item.head < 0 || item.head >= table.numHeads())
    return {};
  return countTilesForQueryTile(table.heads[static_cast<size_t>(item.head)],
                                item.queryTile, queryLen, keyLen, table.mode,
                                tile);
}

} // namespace

int64_t leadingEqualCostItems(const std::vector<WorkItem> &list,
                              const BandTable &table, int64_t queryLen,
                              int64_t keyLen, TileShape tile) {
  if (list.empty())
    return 0;
  TileCounts first = itemTiles(list.front(), table, queryLen, keyLen, tile);
  int64_t equal = 0;
  for (const WorkItem &item : list) {
    TileCounts t = itemTiles(item, table, queryLen, keyLen, tile);
    if (t.full != first.full || t.partial != first.partial)
      break;
    ++equal;
  }
  return equal;
}

WaveStagger planWaveStagger(const std::vector<WorkItem> &list,
                            const BandTable &table, int64_t queryLen,
                            int64_t keyLen, TileShape tile,
                            const WaveStaggerParams &params) {
  constexpr int64_t kMaxParam = int64_t(1) << 16; // far past any GPU
  if (list.empty() || params.numSMs <= 0 || params.numSMs > kMaxParam ||
      params.blocksPerSM < 2 || params.blocksPerSM > kMaxParam ||
      params.nsPerTile <= 0 || params.minEqualWaves < 0 ||
      params.minEqualWaves > kMaxParam)
    return {};
  int64_t tiles =
      itemTiles(list.front(), table, queryLen, keyLen, tile).total();
  if (tiles == 0)
    return {};
  int64_t wave = params.numSMs * params.blocksPerSM;
  if (params.minEqualWaves > 0 &&
      leadingEqualCostItems(list, table, queryLen, keyLen, tile) <
          params.minEqualWaves * wave)
    return {};
  // cap >= 1e6 / 2^16: the delay is at least 15 ns.
  int64_t cap = kMaxStaggerSleepNs / (params.blocksPerSM - 1);
  int64_t delay =
      tiles > cap / params.nsPerTile ? cap : tiles * params.nsPerTile;
  return {params.numSMs, params.blocksPerSM, delay};
}

} // namespace spa::plan
