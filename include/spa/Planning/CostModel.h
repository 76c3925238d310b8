//===- CostModel.h - Tile-level cost model and layer reports ----*- C++ -*-===//
//
// The cost of a GPU work item (one head, one query tile) in units of one
// full key tile, and the per-head and layer-level report built on it: pairs,
// tiles, cost spread and the makespan of a longest-processing-time-first
// schedule over the SMs.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_COSTMODEL_H
#define SPA_PLANNING_COSTMODEL_H

#include "spa/Planning/BandTable.h"
#include "spa/Planning/Counting.h"

#include <cstdint>
#include <string>
#include <vector>

namespace spa::plan {

/// Relative cost weights of the cost model (units: one full tile = 1).
struct CostWeights {
  double fullTile = 1.0;
  /// A masked tile costs this much more than a full one (mask arithmetic).
  double partialTileExtra = 0.35;
  /// Fixed cost of one work item (prologue, epilogue, output store).
  double workItem = 0.5;
};

struct HeadReport {
  int64_t pairs = 0;
  TileCounts tiles;
  double cost = 0.0;  // cost-model estimate over all query tiles
  double share = 0.0; // pairs / total pairs
};

struct LayerReport {
  std::vector<HeadReport> heads;
  int64_t totalPairs = 0;       // per batch element, all heads
  int64_t denseCausalPairs = 0; // H * dense causal pairs
  double fractionOfDense = 0.0; // totalPairs / denseCausalPairs
  double costSpread = 0.0;      // max head cost / mean head cost
  double makespan = 0.0;        // LPT schedule over numSMs
  double idealMakespan = 0.0;   // total cost / numSMs
  double makespanRatio = 0.0;   // makespan / idealMakespan (>= 1)
  /// Why there is no report (every other field is then empty or zero), or
  /// empty: see analyzeBandTable.
  std::string error;
};

/// Per-head and layer-level report: pairs, tiles, costs and the makespan of a
/// longest-processing-time-first schedule of all (head, query tile) work
/// items over `numSMs` identical processors. The schedule lists every item,
/// so a problem with more than kMaxWorkItems of them (or more than kMaxHeads
/// heads, lengths beyond kMaxSeqLen, pair totals beyond int64) gets only
/// `error`, naming the limit.
LayerReport analyzeBandTable(const BandTable &table, int64_t queryLen,
                             int64_t keyLen, TileShape tile, int64_t numSMs,
                             const CostWeights &weights = {});

/// Cost of one work item (head `bands`, query tile `queryTile`).
double workItemCost(const HeadBands &bands, int64_t queryTile,
                    int64_t queryLen, int64_t keyLen, BandMode mode,
                    TileShape tile, const CostWeights &weights = {});

} // namespace spa::plan

#endif // SPA_PLANNING_COSTMODEL_H
