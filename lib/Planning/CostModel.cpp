//===- CostModel.cpp - Tile-level cost model and layer reports ------------===//
//
// Implementation of spa/Planning/CostModel.h: the cost of one work item and
// the layer report with its longest-processing-time-first schedule. The
// weighting of tile counts itself (itemCost) is inline in PlanningInternal.h,
// so that the kernel planner's work order and tile_balanced's objective use
// the same numbers.
//
//===----------------------------------------------------------------------===//

#include "spa/Planning/CostModel.h"

#include "PlanningInternal.h"
#include "spa/Planning/Limits.h"
#include "spa/Planning/WorkList.h"

#include <algorithm>
#include <functional>
#include <queue>

namespace spa::plan {

using detail::ceilDiv;
using detail::countTilesForRows;
using detail::itemCost;
using detail::makePieces;
using detail::Piece;
using detail::queryTileRows;
using detail::validProblem;

double workItemCost(const HeadBands &bands, int64_t queryTile,
                    int64_t queryLen, int64_t keyLen, BandMode mode,
                    TileShape tile, const CostWeights &weights) {
  int64_t pFirst, pLast;
  if (!validProblem(queryLen, keyLen, tile) ||
      !queryTileRows(queryTile, queryLen, keyLen, tile.q, pFirst, pLast))
    return 0.0; // no such work item
  // An item with no touched tile still launches and writes its zero rows,
  // hence the fixed workItem cost.
  return itemCost(
      countTilesForQueryTile(bands, queryTile, queryLen, keyLen, mode, tile),
      weights);
}

/// Why `table` at these lengths is too large to report on, or "".
static std::string reportLimitError(const BandTable &table, int64_t queryLen,
                                    int64_t keyLen, TileShape tile) {
  const int64_t numHeads = table.numHeads();
  if (numHeads > kMaxHeads)
    return "a report covers at most " + std::to_string(kMaxHeads) +
           " (2^20) heads, got " + std::to_string(numHeads);
  if (queryLen > kMaxSeqLen || keyLen > kMaxSeqLen)
    return "a report needs Nq and Nk of at most " + std::to_string(kMaxSeqLen) +
           " (2^31), got Nq = " + std::to_string(queryLen) +
           ", Nk = " + std::to_string(keyLen);
  if (!validProblem(queryLen, keyLen, tile))
    return "";
  const int64_t items = countWorkItems(1, numHeads, queryLen, tile.q);
  if (items > kMaxWorkItems)
    return "a report schedules every (head, query tile) item, at most " +
           std::to_string(kMaxWorkItems) +
           " (2^22); Hq x query tiles = " + std::to_string(numHeads) + " x " +
           std::to_string(ceilDiv(queryLen, tile.q)) + " is more";
  // Every head has at most Nq * Nk pairs; the totals are int64.
  if (static_cast<double>(numHeads) * static_cast<double>(queryLen) *
          static_cast<double>(keyLen) >=
      0x1p63)
    return "a report's pair totals, up to Hq x Nq x Nk = " +
           std::to_string(numHeads) + " x " + std::to_string(queryLen) + " x " +
           std::to_string(keyLen) + ", must fit in int64";
  return "";
}

LayerReport analyzeBandTable(const BandTable &table, int64_t queryLen,
                             int64_t keyLen, TileShape tile, int64_t numSMs,
                             const CostWeights &weights) {
  LayerReport report;
  report.error = reportLimitError(table, queryLen, keyLen, tile);
  if (!report.error.empty())
    return report;
  const bool valid = validProblem(queryLen, keyLen, tile);
  const int64_t numQueryTiles = valid ? ceilDiv(queryLen, tile.q) : 0;
  std::vector<double> items;
  items.reserve(static_cast<size_t>(numQueryTiles) * table.heads.size());

  for (const HeadBands &bands : table.heads) {
    HeadReport hr;
    if (valid) {
      hr.pairs = countPairs(bands, queryLen, keyLen, table.mode);
      std::vector<Piece> pieces =
          makePieces(bands, table.mode, queryLen, keyLen);
      for (int64_t t = 0; t < numQueryTiles; ++t) {
        int64_t pFirst, pLast;
        queryTileRows(t, queryLen, keyLen, tile.q, pFirst, pLast);
        TileCounts tc = countTilesForRows(pieces.data(), pieces.size(), pFirst,
                                          pLast, keyLen, tile.k);
        hr.tiles.full += tc.full;
        hr.tiles.partial += tc.partial;
        double c = itemCost(tc, weights);
        hr.cost += c;
        items.push_back(c);
      }
    }
    report.totalPairs += hr.pairs;
    report.heads.push_back(hr);
  }

  for (HeadReport &hr : report.heads)
    hr.share = report.totalPairs > 0 ? static_cast<double>(hr.pairs) /
                                           static_cast<double>(report.totalPairs)
                                     : 0.0;
  if (valid)
    report.denseCausalPairs =
        table.numHeads() *
        countPairs({{0, std::max(queryLen, keyLen) + 1}}, queryLen, keyLen,
                   BandMode::Causal);
  report.fractionOfDense =
      report.denseCausalPairs > 0
          ? static_cast<double>(report.totalPairs) /
                static_cast<double>(report.denseCausalPairs)
          : 0.0;

  double totalCost = 0.0, maxHead = 0.0;
  for (const HeadReport &hr : report.heads) {
    totalCost += hr.cost;
    maxHead = std::max(maxHead, hr.cost);
  }
  if (!report.heads.empty() && totalCost > 0.0)
    report.costSpread =
        maxHead / (totalCost / static_cast<double>(report.heads.size()));

  // Longest processing time first: heaviest item to the least-loaded SM.
  // More SMs than items behave like one SM per item.
  const int64_t sms = std::max<int64_t>(1, numSMs);
  std::sort(items.begin(), items.end(), std::greater<double>());
  const size_t procs =
      static_cast<size_t>(std::min<int64_t>(sms, std::max<int64_t>(
                                                     1, static_cast<int64_t>(
                                                            items.size()))));
  std::priority_queue<double, std::vector<double>, std::greater<double>> loads;
  for (size_t p = 0; p < procs; ++p)
    loads.push(0.0);
  for (double c : items) {
    double least = loads.top();
    loads.pop();
    loads.push(least + c);
  }
  while (!loads.empty()) {
    report.makespan = std::max(report.makespan, loads.top());
    loads.pop();
  }
  report.idealMakespan = totalCost / static_cast<double>(sms);
  report.makespanRatio =
      totalCost > 0.0 ? report.makespan / report.idealMakespan : 1.0;
  return report;
}

} // namespace spa::plan
