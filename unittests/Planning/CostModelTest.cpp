//===- CostModelTest.cpp - Tests of the cost model and reports ------------===//
//
// Unit tests of spa/Planning/CostModel.h: analyzeBandTable's pairs, tiles,
// costs and shares, and its LPT schedule on a hand-checked example and random
// shapes.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>

using namespace planning_test;

namespace {

//===----------------------------------------------------------------------===//
// Reports and the LPT schedule
//===----------------------------------------------------------------------===//

/// Two heads, N = 3, 1x1 tiles, cost = number of admissible keys per row:
/// head 0 = [0, 2) has rows of 1, 2, 2 keys; head 1 = [0, 3) has 1, 2, 3.
/// LPT on 2 SMs: 3 | 2, then 2 -> (3, 4), 2 -> (5, 4), 1 -> (5, 5),
/// 1 -> (6, 5): makespan 6, ideal 11 / 2.
TEST(BandPlanReport, HandCheckedLpt) {
  BandTable t;
  t.heads = {{{0, 2}}, {{0, 3}}};
  CostWeights w;
  w.fullTile = 1.0;
  w.partialTileExtra = 0.0;
  w.workItem = 0.0;
  LayerReport r = analyzeBandTable(t, 3, 3, {1, 1}, 2, w);
  ASSERT_EQ(r.heads.size(), 2u);
  EXPECT_EQ(r.heads[0].pairs, 5);
  EXPECT_EQ(r.heads[1].pairs, 6);
  EXPECT_EQ(r.heads[0].tiles.full, 5);
  EXPECT_EQ(r.heads[0].tiles.partial, 0);
  EXPECT_DOUBLE_EQ(r.heads[0].cost, 5.0);
  EXPECT_DOUBLE_EQ(r.heads[1].cost, 6.0);
  EXPECT_DOUBLE_EQ(r.heads[0].share, 5.0 / 11.0);
  EXPECT_EQ(r.totalPairs, 11);
  EXPECT_EQ(r.denseCausalPairs, 12);
  EXPECT_DOUBLE_EQ(r.fractionOfDense, 11.0 / 12.0);
  EXPECT_DOUBLE_EQ(r.costSpread, 6.0 / 5.5);
  EXPECT_DOUBLE_EQ(r.makespan, 6.0);
  EXPECT_DOUBLE_EQ(r.idealMakespan, 5.5);
  EXPECT_DOUBLE_EQ(r.makespanRatio, 6.0 / 5.5);

  LayerReport one = analyzeBandTable(t, 3, 3, {1, 1}, 0, w); // 0 SMs -> 1
  EXPECT_DOUBLE_EQ(one.makespan, 11.0);
  EXPECT_DOUBLE_EQ(one.makespanRatio, 1.0);
  LayerReport many = analyzeBandTable(t, 3, 3, {1, 1}, 100, w);
  EXPECT_DOUBLE_EQ(many.makespan, 3.0);
  EXPECT_DOUBLE_EQ(many.idealMakespan, 0.11);
}

TEST(BandPlanReport, DefaultWeightsByHand) {
  // N = 8, H = 2, tile 4x4, exclusive_equal: head 0 = [0, 4), head 1 = [4, 8).
  // Head 0, query tile 0 (rows 0..3): key tile 0 partial (diagonal) -> 0.5 +
  // 1.35; query tile 1 (rows 4..7): key tile 0 partial (distances 1..7),
  // key tile 1 partial -> 0.5 + 2.7. Head 1: query tile 0 has no key -> 0.5;
  // query tile 1: key tile 0 partial (distance 4..7 of rows 4..7) -> 0.5 +
  // 1.35.
  LayerReport r =
      analyzeBandTable(plan(PolicyKind::ExclusiveEqual, 8, 2), 8, 8, {4, 4}, 1);
  EXPECT_DOUBLE_EQ(r.heads[0].cost, 1.85 + 3.2);
  EXPECT_DOUBLE_EQ(r.heads[1].cost, 0.5 + 1.85);
  EXPECT_EQ(r.heads[0].tiles.partial, 3);
  EXPECT_EQ(r.heads[0].tiles.full, 0);
  EXPECT_EQ(r.heads[0].pairs, 1 + 2 + 3 + 4 + 4 * 4); // min(p + 1, 4)
  EXPECT_DOUBLE_EQ(r.makespan, 1.85 + 3.2 + 0.5 + 1.85);
  EXPECT_DOUBLE_EQ(r.makespanRatio, 1.0);
}

TEST(BandPlanReport, MakespanNeverBelowIdeal) {
  std::mt19937_64 rng(99);
  for (int iter = 0; iter < 200; ++iter) {
    int64_t n = 1 + static_cast<int64_t>(rng() % 700);
    int64_t h = 1 + static_cast<int64_t>(rng() % 20);
    int64_t sms = static_cast<int64_t>(rng() % 200);
    PolicyKind kind = kAllPolicies[rng() % 7];
    TileShape ts{1 + static_cast<int64_t>(rng() % 64),
                 1 + static_cast<int64_t>(rng() % 64)};
    LayerReport r = analyzeBandTable(plan(kind, n, h), n, n, ts, sms);
    EXPECT_GE(r.makespan, r.idealMakespan * (1 - 1e-12));
    EXPECT_GE(r.makespanRatio, 1.0 - 1e-12);
    // LPT is within 4/3 of optimal, and optimal is at least the ideal and
    // at least the largest item.
    double total = 0.0;
    for (const HeadReport &hr : r.heads)
      total += hr.cost;
    EXPECT_NEAR(r.idealMakespan, total / std::max<int64_t>(1, sms), 1e-9);
    EXPECT_LE(r.makespan, total + 1e-9);
  }
}

TEST(BandPlanReport, DenseIsAlwaysCausal) {
  // A bidirectional exclusive table does N^2 pairs; the dense reference is
  // H causal heads, N(N+1)/2 each, whatever the table's mode.
  LayerReport r = analyzeBandTable(
      plan(PolicyKind::ExclusiveEqual, 16, 4, BandMode::Bidirectional), 16, 16,
      {4, 4}, 8);
  EXPECT_EQ(r.totalPairs, 256);
  EXPECT_EQ(r.denseCausalPairs, 4 * 136);
  EXPECT_DOUBLE_EQ(r.fractionOfDense, 256.0 / 544.0);
  // Nq > Nk: dense counts the distances that exist, [0, Nk).
  LayerReport q = analyzeBandTable(plan(PolicyKind::DenseCausal, 8, 2), 12, 8,
                                   {4, 4}, 8);
  EXPECT_EQ(q.denseCausalPairs, 2 * 36);
  EXPECT_EQ(q.totalPairs, 2 * 36);
}

TEST(BandPlanReport, EmptyTable) {
  LayerReport r = analyzeBandTable(BandTable{}, 16, 16, {4, 4}, 8);
  EXPECT_TRUE(r.heads.empty());
  EXPECT_EQ(r.totalPairs, 0);
  EXPECT_EQ(r.makespan, 0.0);
  EXPECT_EQ(r.makespanRatio, 1.0);
}

/// A report lists every (head, query tile) item for its LPT schedule, so it
/// refuses sizes it cannot list (this aborted out of memory) and reports
/// in full up to the limit.
TEST(BandPlanReport, RefusesWhatItCannotList) {
  BandTable eight = plan(PolicyKind::ExclusiveEqual, 1024, 8);
  auto refused = [](const LayerReport &r, const std::string &mustContain) {
    EXPECT_NE(r.error.find(mustContain), std::string::npos)
        << "error was: " << r.error;
    EXPECT_TRUE(r.heads.empty());
    EXPECT_EQ(r.totalPairs, 0);
  };
  refused(
      analyzeBandTable(eight, 1000000000000, 1000000000000, {128, 128}, 132),
      "a report needs Nq and Nk of at most 2147483648 (2^31), got Nq = "
      "1000000000000, Nk = 1000000000000");
  refused(analyzeBandTable(eight, kMaxSeqLen, kMaxSeqLen, {128, 128}, 132),
          "a report schedules every (head, query tile) item, at most 4194304 "
          "(2^22); Hq x query tiles = 8 x 16777216 is more");
  // One query tile per head, but 4 x 2^31 x 2^31 pairs overflow int64.
  refused(analyzeBandTable(plan(PolicyKind::DenseCausal, kMaxSeqLen, 4),
                           kMaxSeqLen, kMaxSeqLen, {kMaxSeqLen, 128}, 132),
          "a report's pair totals, up to Hq x Nq x Nk = 4 x 2147483648 x "
          "2147483648, must fit in int64");
  BandTable many;
  many.heads.resize(static_cast<size_t>(kMaxHeads) + 1);
  refused(analyzeBandTable(many, 1, 1, {128, 128}, 132),
          "a report covers at most 1048576 (2^20) heads, got 1048577");
  // Exactly at the item limit: a full report.
  const int64_t n = int64_t(1) << 27;
  LayerReport r = analyzeBandTable(plan(PolicyKind::ExclusiveEqual, n, 4), n, n,
                                   {128, 128}, 132);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.totalPairs, n * (n + 1) / 2);
  EXPECT_GE(r.makespanRatio, 1.0 - 1e-12);
}

} // namespace
