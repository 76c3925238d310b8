//===- Policies.h - Band policies and their tables --------------*- C++ -*-===//
//
// The band policies of SPEC.md: their names (the one list the IR, the passes
// and Python spell them from) and makeBandTable, which builds a policy's
// table from its formula or, for pair_balanced and tile_balanced, from a
// balancing search.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_POLICIES_H
#define SPA_PLANNING_POLICIES_H

#include "spa/Planning/BandTable.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spa::plan {

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
/// Every kind's spelling in declaration order ("explicit" last): the one
/// list that diagnostics offer.
std::vector<std::string_view> policyKindNames();

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
/// window < -1, non-positive tiles, kind == Explicit, and sizes beyond
/// Limits.h (N or queryLen > kMaxSeqLen, H > kMaxHeads, a tile side >
/// kMaxTileSide, tile_balanced with H > kMaxTileBalancedHeads). N < H is
/// allowed: the formulas then give some heads an empty interval set. Time
/// and memory do not grow with N (O(H log N) at most for pair_balanced).
PlanResult makeBandTable(PolicyKind kind, int64_t seqLen, int64_t numHeads,
                         BandMode mode = BandMode::Causal,
                         const PolicyOptions &options = {});

} // namespace spa::plan

#endif // SPA_PLANNING_POLICIES_H
