//===- PlanningTestSupport.h - Oracle and helpers of the planning tests ---===//
//
// Shared by every test file of SpaPlanningTests. The core is an oracle
// written independently of the library: it re-derives every policy's
// interval set from the SPEC.md formulas and enumerates every (query, key)
// cell to count pairs and classify tiles. The helpers plan a table (failing
// the test on an error) and compare a table or a head against the oracle.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_UNITTESTS_PLANNING_PLANNINGTESTSUPPORT_H
#define SPA_UNITTESTS_PLANNING_PLANNINGTESTSUPPORT_H

#include "spa/Planning/BandPlan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace spa::plan {
// Readable parameter values in gtest failure messages.
void PrintTo(PolicyKind kind, std::ostream *os);
} // namespace spa::plan

namespace planning_test {

using namespace spa::plan;

//===----------------------------------------------------------------------===//
// Oracle: independent re-derivation of SPEC.md sections 1 and 2
//===----------------------------------------------------------------------===//

namespace oracle {

/// Turns a membership vector over distances [0, N) into maximal runs, which
/// is what a merged interval list must be.
HeadBands runs(const std::vector<char> &member);

/// Per-head widths and starts. The starts are accumulated from the widths
/// (not S_h = h*Wb + min(h, R)), so the closed form is checked, not copied.
struct Split {
  std::vector<int64_t> width, start;
};
Split split(int64_t n, int64_t h);

/// The table of a formula policy, head by head, as membership over [0, N).
std::vector<HeadBands> table(PolicyKind kind, int64_t n, int64_t h,
                             int64_t window = -1);

/// Is key j admissible for query row i under `bands`? Straight from SPEC.md:
/// p_i = i + (Nk - Nq), d = p_i - j, causal needs d >= 0, bidirectional uses
/// |d|. Intervals are taken as given (union semantics, no clipping needed).
bool admissible(const HeadBands &bands, int64_t i, int64_t j, int64_t nq,
                int64_t nk, BandMode mode);

/// All cells of one head.
struct Grid {
  int64_t nq, nk;
  std::vector<char> cell;
  bool at(int64_t i, int64_t j) const { return cell[i * nk + j]; }
};
Grid grid(const HeadBands &bands, int64_t nq, int64_t nk, BandMode mode);

int64_t pairs(const Grid &g);

/// Per query tile: full and partial key tiles, by looking at every cell.
std::vector<TileCounts> tiles(const Grid &g, TileShape ts);

} // namespace oracle

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Does the pair (position p, key j) lie in `iv` on `side` (+1: d = p - j;
/// -1: the anti side, d = j - p with d >= max(lo, 1))? The brute-force test
/// of the backward's reach (GradWorkList, ScoreGradTiles).
inline bool inInterval(Interval iv, int side, int64_t p, int64_t j) {
  int64_t d = side > 0 ? p - j : j - p;
  int64_t lo = side > 0 ? iv.lo : std::max<int64_t>(iv.lo, 1);
  return d >= lo && d < iv.hi;
}

inline constexpr PolicyKind kFormulaPolicies[] = {
    PolicyKind::ExclusiveEqual, PolicyKind::LocalPlusBand,
    PolicyKind::GappedHalf, PolicyKind::SlidingWindow,
    PolicyKind::DenseCausal};
inline constexpr PolicyKind kExclusivePolicies[] = {PolicyKind::ExclusiveEqual,
                                                    PolicyKind::PairBalanced,
                                                    PolicyKind::TileBalanced};
inline constexpr PolicyKind kAllPolicies[] = {
    PolicyKind::ExclusiveEqual, PolicyKind::LocalPlusBand,
    PolicyKind::GappedHalf,     PolicyKind::SlidingWindow,
    PolicyKind::DenseCausal,    PolicyKind::PairBalanced,
    PolicyKind::TileBalanced};
inline constexpr TileShape kTileShapes[] = {
    {1, 1}, {3, 5}, {4, 4}, {16, 8}, {128, 128}};
inline constexpr BandMode kModes[] = {BandMode::Causal,
                                      BandMode::Bidirectional};

/// makeBandTable, failing the test (and returning an empty table) on error.
BandTable plan(PolicyKind kind, int64_t n, int64_t h,
               BandMode mode = BandMode::Causal, PolicyOptions opts = {});

/// "policy N=.. H=.. mode", the context of a failure message.
std::string where(PolicyKind kind, int64_t n, int64_t h, BandMode mode);

/// Checks that a table's heads partition [0, N) into contiguous bands (each
/// distance exactly once), in head order, every head non-empty when N >= H
/// and exactly the first N heads non-empty when N < H.
void expectExclusiveCover(const BandTable &t, int64_t n, int64_t h,
                          const std::string &ctx);

/// Compares countPairs, countTiles, countTilesForQueryTile and workItemCost
/// of one head against the oracle for every tile shape.
void expectCountsMatch(const HeadBands &bands, int64_t nq, int64_t nk,
                       BandMode mode, const std::string &ctx);

/// Query lengths exercised against key length N: shorter, equal, longer.
std::vector<int64_t> queryLengths(int64_t n);

} // namespace planning_test

#endif // SPA_UNITTESTS_PLANNING_PLANNINGTESTSUPPORT_H
