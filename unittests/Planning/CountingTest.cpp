//===- CountingTest.cpp - Tests of pair and tile counting -----------------===//
//
// Unit tests of spa/Planning/Counting.h (and of workItemCost per tile): the
// closed forms are compared against the oracle's cell-by-cell enumeration
// exhaustively for small shapes: every policy's table, all N in 1..40 and all
// H in 1..17 at Nq == Nk, a spread of H at Nq below and above Nk, both modes,
// tile shapes 1x1, 3x5, 4x4, 16x8 and 128x128; random explicit tables; and
// hand-checked edge cases.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

#include <cstdint>
#include <random>
#include <string>

using namespace planning_test;

namespace {

//===----------------------------------------------------------------------===//
// Counting against the oracle
//===----------------------------------------------------------------------===//

/// Every policy's table, every (N, H) with N in 1..40 and H in 1..17, both
/// modes, Nq < Nk, Nq == Nk and Nq > Nk, five tile shapes.
class BandPlanCountsTest : public ::testing::TestWithParam<PolicyKind> {};

TEST_P(BandPlanCountsTest, MatchBruteForce) {
  PolicyKind kind = GetParam();
  for (BandMode mode : kModes)
    for (int64_t n = 1; n <= 40; ++n)
      for (int64_t h = 1; h <= 17; ++h)
        for (int64_t nq : queryLengths(n)) {
          // Every H at Nq == N; a spread of H (N < H included) otherwise,
          // to keep the unoptimised test run short.
          if (nq != n && h != 1 && h != 2 && h != 3 && h != 5 && h != 8 &&
              h != 13 && h != 17)
            continue;
          // The balancing policies plan for the query length they run at.
          PolicyOptions o;
          o.queryLen = nq;
          o.tile = {4, 4};
          BandTable t = plan(kind, n, h, mode, o);
          std::string ctx = where(kind, n, h, mode) + " Nq=" +
                            std::to_string(nq);
          for (int64_t k = 0; k < h; ++k)
            expectCountsMatch(t.heads[k], nq, n, mode,
                              ctx + " head " + std::to_string(k));
          if (::testing::Test::HasFatalFailure())
            return;
        }
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, BandPlanCountsTest,
                         ::testing::ValuesIn(kAllPolicies),
                         [](const auto &info) {
                           return std::string(policyKindName(info.param));
                         });

/// Explicit tables with gaps, touching intervals (whose union covers tiles
/// that neither interval covers alone), intervals reaching beyond the
/// existing distances, and a bidirectional distance 0.
TEST(BandPlanOracle, ExplicitTablesMatchBruteForce) {
  std::mt19937_64 rng(20261122);
  for (int iter = 0; iter < 600; ++iter) {
    int64_t nk = 1 + static_cast<int64_t>(rng() % 37);
    int64_t nq = 1 + static_cast<int64_t>(rng() % 37);
    HeadBands bands;
    int64_t at = static_cast<int64_t>(rng() % 4);
    int pieces = static_cast<int>(rng() % 5);
    for (int k = 0; k < pieces; ++k) {
      int64_t w = 1 + static_cast<int64_t>(rng() % 9);
      bands.push_back({at, at + w});
      at += w + static_cast<int64_t>(rng() % 4); // gap 0 means touching
    }
    if (rng() % 5 == 0)
      bands.push_back({at, at + 1000000}); // far beyond every distance
    for (BandMode mode : kModes)
      expectCountsMatch(bands, nq, nk, mode,
                        "explicit iter " + std::to_string(iter));
    if (HasFatalFailure())
      return;
  }
}

TEST(BandPlanCounts, TouchingIntervalsCountLikeTheirUnion) {
  HeadBands split{{0, 4}, {4, 8}}, whole{{0, 8}};
  for (BandMode mode : kModes)
    for (TileShape ts : kTileShapes) {
      TileCounts a = countTiles(split, 16, 16, mode, ts);
      TileCounts b = countTiles(whole, 16, 16, mode, ts);
      EXPECT_EQ(a.full, b.full);
      EXPECT_EQ(a.partial, b.partial);
    }
  // 4x4 tiles, rows 8..11, band [0, 8): key tile 1 (cols 4..7) has distances
  // 1..7 only, so it is full although neither [0, 4) nor [4, 8) covers it.
  TileCounts tc =
      countTilesForQueryTile(split, 2, 16, 16, BandMode::Causal, {4, 4});
  EXPECT_EQ(tc.full, 1);
  EXPECT_EQ(tc.partial, 2);
}

TEST(BandPlanCounts, ClipsAndUnionsOddInput) {
  // Beyond every distance: same as dense.
  HeadBands huge{{0, int64_t(1) << 62}};
  EXPECT_EQ(countPairs(huge, 100, 100), 5050);
  EXPECT_EQ(countPairs(huge, 100, 100, BandMode::Bidirectional), 10000);
  // Negative lower bounds are clipped (there are no negative distances).
  EXPECT_EQ(countPairs({{-5, 1}}, 10, 10), 10);
  // Overlapping, unsorted input counts the union.
  EXPECT_EQ(countPairs({{2, 6}, {0, 4}}, 10, 10), countPairs({{0, 6}}, 10, 10));
  // Nothing beyond the last distance.
  EXPECT_EQ(countPairs({{10, 20}}, 10, 10), 0);
  // Degenerate lengths.
  EXPECT_EQ(countPairs({{0, 5}}, 0, 10), 0);
  EXPECT_EQ(countTiles({{0, 5}}, 10, 10, BandMode::Causal, {0, 4}).total(), 0);
  // Query tiles that do not exist cost nothing.
  EXPECT_EQ(workItemCost({{0, 5}}, 3, 10, 10, BandMode::Causal, {4, 4}), 0.0);
  EXPECT_EQ(workItemCost({{0, 5}}, -1, 10, 10, BandMode::Causal, {4, 4}), 0.0);
  // An existing item with no key still costs one work item.
  EXPECT_EQ(workItemCost({}, 0, 10, 10, BandMode::Causal, {4, 4}), 0.5);
}

TEST(BandPlanCounts, DecodeAndLongQueryAlignment) {
  // One query row (decode) sits at the last position and sees the cache.
  EXPECT_EQ(countPairs({{0, 1000}}, 1, 1000), 1000);
  EXPECT_EQ(countPairs({{10, 20}}, 1, 1000), 10);
  // Nq > Nk: the first Nq - Nk rows have p_i < 0 and no causal key.
  EXPECT_EQ(countPairs({{0, 100}}, 8, 4), 10);
  EXPECT_EQ(countTilesForQueryTile({{0, 100}}, 0, 8, 4, BandMode::Causal,
                                   {4, 4})
                .total(),
            0);
}

TEST(BandPlanCounts, SpecExampleN1024H8) {
  BandTable t = plan(PolicyKind::ExclusiveEqual, 1024, 8);
  EXPECT_EQ(countPairs(t.heads[0], 1024, 1024), 122944);
  EXPECT_EQ(countPairs(t.heads[7], 1024, 1024), 8256);
  LayerReport r = analyzeBandTable(t, 1024, 1024, {128, 128}, 132);
  EXPECT_EQ(r.totalPairs, 1024 * 1025 / 2);
  EXPECT_EQ(r.denseCausalPairs, 8 * 1024 * 1025 / 2);
  EXPECT_DOUBLE_EQ(r.fractionOfDense, 1.0 / 8.0);
  EXPECT_DOUBLE_EQ(r.heads[0].share, 122944.0 / (1024.0 * 1025.0 / 2.0));
}

TEST(BandPlanCounts, LargeClosedFormsAgreeWithSums) {
  // countPairs over a partition adds up to dense, for large N, both modes.
  for (BandMode mode : kModes) {
    BandTable t = plan(PolicyKind::ExclusiveEqual, 16384, 32, mode);
    int64_t sum = 0;
    for (const HeadBands &b : t.heads)
      sum += countPairs(b, 16384, 16384, mode);
    EXPECT_EQ(sum, countPairs({{0, 16384}}, 16384, 16384, mode));
  }
  EXPECT_EQ(countPairs({{0, 16384}}, 16384, 16384), 16384LL * 16385 / 2);
  EXPECT_EQ(countPairs({{0, 16384}}, 16384, 16384, BandMode::Bidirectional),
            16384LL * 16384);
}

/// countTiles sums over query tiles in closed form (the oracle tests above
/// cover small shapes); at larger random shapes it must equal the per-tile
/// counts added up tile by tile, exactly.
TEST(BandPlanCounts, TileSumsEqualPerTileSums) {
  std::mt19937_64 rng(2718);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return lo +
           static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  for (int iter = 0; iter < 3000; ++iter) {
    int64_t nk = uniform(1, iter < 1500 ? 300 : 6000);
    int64_t nq = uniform(1, iter % 3 == 0 ? nk : 2 * nk);
    TileShape ts{uniform(1, 160), uniform(1, 160)};
    BandMode mode = kModes[rng() % 2];
    HeadBands bands;
    for (int64_t k = uniform(0, 6), d = 0; k > 0; --k) {
      int64_t lo = d + uniform(0, nk / 3 + 1);
      int64_t hi = lo + uniform(1, nk / 2 + 2);
      bands.push_back({lo, hi});
      d = hi + uniform(0, 3);
    }
    TileCounts want;
    for (int64_t t = 0; t < (nq + ts.q - 1) / ts.q; ++t) {
      TileCounts tc = countTilesForQueryTile(bands, t, nq, nk, mode, ts);
      want.full += tc.full;
      want.partial += tc.partial;
    }
    TileCounts got = countTiles(bands, nq, nk, mode, ts);
    ASSERT_EQ(got.full, want.full)
        << "Nq=" << nq << " Nk=" << nk << " tile " << ts.q << "x" << ts.k << " "
        << bandModeName(mode) << " " << formatHeadBands(bands);
    ASSERT_EQ(got.partial, want.partial)
        << "Nq=" << nq << " Nk=" << nk << " tile " << ts.q << "x" << ts.k << " "
        << bandModeName(mode) << " " << formatHeadBands(bands);
  }
}

} // namespace
