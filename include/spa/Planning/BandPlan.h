//===- BandPlan.h - Head-to-band planning and cost model --------*- C++ -*-===//
//
// Pure planning logic for banded multi-head attention (SPAttention): the band
// tables of every policy in SPEC.md, table validation, and a tile-level cost
// model. This library has no MLIR or LLVM dependency on purpose: the compiler
// passes, the Python bindings and the benchmark scripts all plan with it, and
// it is unit-tested on its own against brute-force enumeration.
//
// Conventions (SPEC.md section 1): query row i in [0, Nq), key column j in
// [0, Nk), absolute query position p_i = i + (Nk - Nq), distance d = p_i - j
// (|p_i - j| in bidirectional mode). Head h attends the keys whose distance
// lies in one of its half-open intervals [lo, hi).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_BANDPLAN_H
#define SPA_PLANNING_BANDPLAN_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spa::plan {

enum class BandMode { Causal, Bidirectional };

enum class PolicyKind {
  ExclusiveEqual,
  LocalPlusBand,
  GappedHalf,
  SlidingWindow,
  DenseCausal,
  PairBalanced,
  TileBalanced,
  Explicit,
};

/// Spelling used in IR, reports and Python ("exclusive_equal", ...).
std::string_view policyKindName(PolicyKind kind);
std::optional<PolicyKind> parsePolicyKind(std::string_view name);
std::string_view bandModeName(BandMode mode);
std::optional<BandMode> parseBandMode(std::string_view name);

/// A half-open interval of distances [lo, hi). Never empty in a valid table.
struct Interval {
  int64_t lo = 0;
  int64_t hi = 0;
  bool operator==(const Interval &o) const { return lo == o.lo && hi == o.hi; }
};

/// Sorted, disjoint, non-empty intervals of one query head (may be empty).
using HeadBands = std::vector<Interval>;

struct BandTable {
  BandMode mode = BandMode::Causal;
  std::vector<HeadBands> heads;
  int64_t numHeads() const { return static_cast<int64_t>(heads.size()); }
};

/// Query x key tile shape used by the GPU kernel and the cost model.
struct TileShape {
  int64_t q = 128;
  int64_t k = 128;
};

struct PolicyOptions {
  /// sliding_window(w): the window w; -1 means the paper's ablation w = W_h.
  int64_t window = -1;
  /// tile_balanced: tile shape whose cost is equalised.
  TileShape tile;
  /// tile_balanced: query length used for the cost (-1: equal to seqLen).
  int64_t queryLen = -1;
};

/// The outcome of planning: a table, or a human-readable error.
struct PlanResult {
  std::optional<BandTable> table;
  std::string error;
  explicit operator bool() const { return table.has_value(); }
};

/// Builds the band table of `kind` for key length `seqLen` (N) and `numHeads`
/// query heads exactly as SPEC.md's formulas say. Errors: N <= 0, H <= 0,
/// window < -1, non-positive tiles, kind == Explicit. N < H is allowed: the
/// formulas then give some heads an empty interval set.
PlanResult makeBandTable(PolicyKind kind, int64_t seqLen, int64_t numHeads,
                         BandMode mode = BandMode::Causal,
                         const PolicyOptions &options = {});

/// Checks that every interval is non-empty, non-negative, and that each head's
/// intervals are sorted and disjoint. Returns an empty string when valid, else
/// a message naming the head and interval.
std::string validateBandTable(const BandTable &table);

/// Normalises one head's intervals: sorts, merges overlapping or touching
/// intervals, drops empty ones, clips to [0, maxDistance).
HeadBands normalizeBands(HeadBands bands, int64_t maxDistance);

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
};

/// Per-head and layer-level report: pairs, tiles, costs and the makespan of a
/// longest-processing-time-first schedule of all (head, query tile) work
/// items over `numSMs` identical processors.
LayerReport analyzeBandTable(const BandTable &table, int64_t queryLen,
                             int64_t keyLen, TileShape tile, int64_t numSMs,
                             const CostWeights &weights = {});

/// Cost of one work item (head `bands`, query tile `queryTile`).
double workItemCost(const HeadBands &bands, int64_t queryTile,
                    int64_t queryLen, int64_t keyLen, BandMode mode,
                    TileShape tile, const CostWeights &weights = {});

/// Renders `table` as the body of the IR attribute `#spa.bands<...>`, e.g.
/// "causal, [0:512], [512:1024]" (`lo:hi` is the half-open [lo, hi)).
std::string formatBandTable(const BandTable &table);

} // namespace spa::plan

#endif // SPA_PLANNING_BANDPLAN_H
