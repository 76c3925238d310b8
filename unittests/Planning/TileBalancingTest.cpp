//===- TileBalancingTest.cpp - Tests of tile_balanced ---------------------===//
//
// Unit tests of the tile_balanced search (TileBalancing.cpp): its largest
// band cost is optimal against an exhaustive search over every partition on
// small shapes, its search space (the cost-change positions) is complete, it
// never does worse than the other exclusive policies, and it spreads the
// heads evenly at the shapes docs/band-planning.md quotes.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace spa::plan::detail {
// Defined in TileBalancing.cpp, declared in the private
// lib/Planning/PlanningInternal.h and deliberately kept out of the public
// headers: the positions where a band's tile cost can change
// (tile_balanced's search space). Tested for completeness below.
std::vector<int64_t> costChangePositions(int64_t queryLen, int64_t keyLen,
                                         BandMode mode, TileShape tile);
} // namespace spa::plan::detail

using namespace planning_test;

namespace {

//===----------------------------------------------------------------------===//
// tile_balanced
//===----------------------------------------------------------------------===//

double maxHeadCost(const BandTable &t, int64_t nq, int64_t nk, TileShape ts) {
  double m = 0.0;
  LayerReport r = analyzeBandTable(t, nq, nk, ts, 1);
  for (const HeadReport &h : r.heads)
    m = std::max(m, h.cost);
  return m;
}

/// Minimum over *all* partitions of [0, N) into H non-empty contiguous bands
/// of the largest band cost, by dynamic programming over every boundary
/// position (the library searches only its cost-change positions).
class ExhaustiveMinMax {
public:
  ExhaustiveMinMax(int64_t n, int64_t nq, BandMode mode, TileShape ts)
      : n(n), cost(static_cast<size_t>((n + 1) * (n + 1)), 0.0) {
    int64_t nqt = (nq + ts.q - 1) / ts.q;
    for (int64_t a = 0; a <= n; ++a)
      for (int64_t b = a + 1; b <= n; ++b) {
        double c = 0.0;
        for (int64_t t = 0; t < nqt; ++t)
          c += workItemCost({{a, b}}, t, nq, n, mode, ts);
        cost[a * (n + 1) + b] = c;
      }
  }
  double operator()(int64_t h) const {
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> best(static_cast<size_t>(n + 1), inf), next(best);
    best[0] = 0.0;
    for (int64_t k = 0; k < h; ++k) {
      std::fill(next.begin(), next.end(), inf);
      for (int64_t b = 1; b <= n; ++b)
        for (int64_t a = 0; a < b; ++a)
          if (best[a] < inf)
            next[b] =
                std::min(next[b], std::max(best[a], cost[a * (n + 1) + b]));
      std::swap(best, next);
    }
    return best[n];
  }

private:
  int64_t n;
  std::vector<double> cost;
};

TEST(BandPlanTileBalanced, OptimalMaxCostOnSmallShapes) {
  struct Shape {
    int64_t n;
    TileShape ts;
  } shapes[] = {{9, {4, 4}},    {17, {3, 5}},  {32, {8, 8}},
                {45, {16, 4}},  {64, {32, 16}}, {64, {16, 16}},
                {100, {8, 8}},  {100, {16, 16}}, {100, {32, 16}},
                {75, {5, 7}}};
  for (BandMode mode : kModes)
    for (const Shape &shape : shapes)
      for (int64_t nq : {shape.n, shape.n / 2 + 1, shape.n / 3}) {
        int64_t n = shape.n;
        TileShape ts = shape.ts;
        ExhaustiveMinMax exhaustive(n, nq, mode, ts);
        for (int64_t h : {2, 3, 5, 8, 16}) {
          if (h > n) // N < H is exclusive_equal's table
            continue;
          PolicyOptions o;
          o.tile = ts;
          o.queryLen = nq;
          BandTable t = plan(PolicyKind::TileBalanced, n, h, mode, o);
          std::string ctx = where(PolicyKind::TileBalanced, n, h, mode) +
                            " Nq=" + std::to_string(nq) + " tile " +
                            std::to_string(ts.q) + "x" + std::to_string(ts.k);
          expectExclusiveCover(t, n, h, ctx);
          EXPECT_NEAR(maxHeadCost(t, nq, n, ts), exhaustive(h), 1e-9) << ctx;
        }
      }
}

/// The search space of tile_balanced is complete: whenever moving a band's
/// start or end by one distance changes its cost (evaluated cell by cell
/// through workItemCost, itself checked against the oracle above), the new
/// position is one of the library's cost-change positions. Random small
/// shapes with odd tiles, Nq on both sides of Nk and both modes need every
/// kind of position the library derives.
TEST(BandPlanTileBalanced, CostChangePositionsAreComplete) {
  std::mt19937_64 rng(31337);
  for (int iter = 0; iter < 400; ++iter) {
    int64_t n = 2 + static_cast<int64_t>(rng() % 23);
    int64_t nq = 1 + static_cast<int64_t>(rng() % 30);
    TileShape ts{1 + static_cast<int64_t>(rng() % 9),
                 1 + static_cast<int64_t>(rng() % 9)};
    BandMode mode = kModes[rng() % 2];
    int64_t nqt = (nq + ts.q - 1) / ts.q;
    std::vector<double> cost(static_cast<size_t>((n + 1) * (n + 1)), 0.0);
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = a + 1; b <= n; ++b)
        for (int64_t t = 0; t < nqt; ++t)
          cost[a * (n + 1) + b] += workItemCost({{a, b}}, t, nq, n, mode, ts);
    auto c = [&](int64_t a, int64_t b) { return cost[a * (n + 1) + b]; };
    std::vector<int64_t> pos =
        spa::plan::detail::costChangePositions(nq, n, mode, ts);
    ASSERT_TRUE(std::is_sorted(pos.begin(), pos.end()));
    ASSERT_EQ(pos.front(), 0);
    ASSERT_EQ(pos.back(), n);
    for (int64_t x = 1; x < n; ++x) {
      bool changes = false;
      for (int64_t a = 0; a + 1 < x; ++a) // end moves from x - 1 to x
        changes |= c(a, x) != c(a, x - 1);
      for (int64_t b = x + 1; b <= n; ++b) // start moves from x - 1 to x
        changes |= c(x, b) != c(x - 1, b);
      if (changes) {
        EXPECT_TRUE(std::binary_search(pos.begin(), pos.end(), x))
            << "position " << x << " missing for N=" << n << " Nq=" << nq
            << " tile " << ts.q << "x" << ts.k << " "
            << bandModeName(mode);
      }
    }
  }
}

/// Random small shapes: odd tiles, Nq on both sides of Nk, both modes.
TEST(BandPlanTileBalanced, OptimalMaxCostOnRandomShapes) {
  std::mt19937_64 rng(4242);
  for (int iter = 0; iter < 150; ++iter) {
    int64_t n = 2 + static_cast<int64_t>(rng() % 31);
    int64_t nq = 1 + static_cast<int64_t>(rng() % 40);
    TileShape ts{1 + static_cast<int64_t>(rng() % 9),
                 1 + static_cast<int64_t>(rng() % 9)};
    BandMode mode = kModes[rng() % 2];
    ExhaustiveMinMax exhaustive(n, nq, mode, ts);
    for (int64_t h : {2, 3, 6}) {
      if (h > n)
        continue;
      PolicyOptions o;
      o.tile = ts;
      o.queryLen = nq;
      BandTable t = plan(PolicyKind::TileBalanced, n, h, mode, o);
      std::string ctx = where(PolicyKind::TileBalanced, n, h, mode) +
                        " Nq=" + std::to_string(nq) + " tile " +
                        std::to_string(ts.q) + "x" + std::to_string(ts.k);
      expectExclusiveCover(t, n, h, ctx);
      EXPECT_NEAR(maxHeadCost(t, nq, n, ts), exhaustive(h), 1e-9) << ctx;
    }
  }
}

TEST(BandPlanTileBalanced, NoWorseThanOtherExclusivePolicies) {
  struct Case {
    int64_t n, h;
    TileShape ts;
    BandMode mode;
  } cases[] = {{1024, 8, {128, 128}, BandMode::Causal},
               {4096, 16, {128, 128}, BandMode::Causal},
               {4096, 16, {64, 64}, BandMode::Bidirectional},
               {2000, 12, {64, 32}, BandMode::Causal},
               {777, 5, {16, 8}, BandMode::Causal}};
  for (const Case &c : cases) {
    PolicyOptions o;
    o.tile = c.ts;
    double tile =
        maxHeadCost(plan(PolicyKind::TileBalanced, c.n, c.h, c.mode, o), c.n,
                    c.n, c.ts);
    for (PolicyKind other :
         {PolicyKind::ExclusiveEqual, PolicyKind::PairBalanced})
      EXPECT_LE(tile, maxHeadCost(plan(other, c.n, c.h, c.mode, o), c.n, c.n,
                                  c.ts) +
                          1e-9)
          << where(other, c.n, c.h, c.mode);
  }
}

/// Shapes whose exact search would be too expensive (every position is a
/// cost-change position on a tiny or odd tile grid) take the bisection
/// heuristic; it must still cover exactly and beat the other policies.
TEST(BandPlanTileBalanced, HeuristicPathOnFineGrids) {
  struct Case {
    int64_t n, h;
    TileShape ts;
    BandMode mode;
  } cases[] = {{1500, 12, {3, 5}, BandMode::Causal},
               {1200, 16, {2, 2}, BandMode::Bidirectional},
               {2500, 9, {1, 1}, BandMode::Causal}};
  for (const Case &c : cases) {
    PolicyOptions o;
    o.tile = c.ts;
    std::string ctx = where(PolicyKind::TileBalanced, c.n, c.h, c.mode);
    BandTable t = plan(PolicyKind::TileBalanced, c.n, c.h, c.mode, o);
    expectExclusiveCover(t, c.n, c.h, ctx);
    double tile = maxHeadCost(t, c.n, c.n, c.ts);
    for (PolicyKind other :
         {PolicyKind::ExclusiveEqual, PolicyKind::PairBalanced})
      EXPECT_LE(tile, maxHeadCost(plan(other, c.n, c.h, c.mode, o), c.n, c.n,
                                  c.ts))
          << ctx << " vs " << policyKindName(other);
  }
}

/// On a coarse grid (N/H = 128 = one tile) many boundary positions cost the
/// same; the planner must still spread the heads over the distances rather
/// than give some of them a distance or two.
TEST(BandPlanTileBalanced, NoDegenerateBandsOnCoarseGrids) {
  for (BandMode mode : kModes) {
    BandTable t = plan(PolicyKind::TileBalanced, 1024, 8, mode);
    expectExclusiveCover(t, 1024, 8, "1024/8");
    for (const HeadBands &b : t.heads)
      EXPECT_GE(b[0].hi - b[0].lo, 32) << formatBandTable(t);
    LayerReport r = analyzeBandTable(t, 1024, 1024, {128, 128}, 132);
    EXPECT_LT(r.costSpread, 1.15) << formatBandTable(t);
  }
}

/// The headline numbers (docs/band-planning.md quotes them).
TEST(BandPlanTileBalanced, SpreadAtN8192H16Tile128) {
  TileShape ts{128, 128};
  LayerReport eq = analyzeBandTable(plan(PolicyKind::ExclusiveEqual, 8192, 16),
                                    8192, 8192, ts, 132);
  LayerReport pb = analyzeBandTable(plan(PolicyKind::PairBalanced, 8192, 16),
                                    8192, 8192, ts, 132);
  LayerReport tb = analyzeBandTable(plan(PolicyKind::TileBalanced, 8192, 16),
                                    8192, 8192, ts, 132);
  RecordProperty("spread_exclusive_equal", std::to_string(eq.costSpread));
  RecordProperty("spread_pair_balanced", std::to_string(pb.costSpread));
  RecordProperty("spread_tile_balanced", std::to_string(tb.costSpread));
  EXPECT_LE(tb.costSpread, eq.costSpread);
  EXPECT_LE(tb.costSpread, pb.costSpread);
  EXPECT_LT(tb.costSpread, 1.10);
  EXPECT_GT(eq.costSpread, 1.7);
  EXPECT_GT(pb.costSpread, 1.2);
}

TEST(BandPlanTileBalanced, SpreadAtLargerShapes) {
  struct Case {
    int64_t n, h;
    TileShape ts;
    double bound;
  } cases[] = {{16384, 32, {128, 128}, 1.10},
               {8192, 16, {64, 64}, 1.06},
               {8192, 16, {128, 64}, 1.06}};
  for (const Case &c : cases) {
    PolicyOptions o;
    o.tile = c.ts;
    LayerReport tb = analyzeBandTable(
        plan(PolicyKind::TileBalanced, c.n, c.h, BandMode::Causal, o), c.n,
        c.n, c.ts, 132);
    LayerReport pb = analyzeBandTable(
        plan(PolicyKind::PairBalanced, c.n, c.h, BandMode::Causal, o), c.n,
        c.n, c.ts, 132);
    EXPECT_LT(tb.costSpread, c.bound) << c.n << " " << c.h;
    EXPECT_LE(tb.costSpread, pb.costSpread) << c.n << " " << c.h;
  }
}

} // namespace
