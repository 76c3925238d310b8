//===- WaveStaggerTest.cpp - Tests of the first wave's stagger ------------===//
//
// Unit tests of spa/Planning/WaveStagger.h. The count of equal leading items
// is checked against the oracle's cell-by-cell tile counts over every
// policy; the rule on hand-checked lists (exclusive_equal, whose full items
// all cost the same, against dense causal, whose first items differ), its
// limits and the degenerate inputs.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

#include "spa/Planning/WaveStagger.h"

#include <cstdint>
#include <vector>

using namespace planning_test;

namespace {

/// Leading items whose oracle tile counts equal the first item's.
int64_t referenceLeadingEqual(const std::vector<WorkItem> &list,
                              const BandTable &t, int64_t nq, int64_t nk,
                              TileShape ts) {
  std::vector<std::vector<TileCounts>> perHead;
  for (const HeadBands &head : t.heads)
    perHead.push_back(oracle::tiles(oracle::grid(head, nq, nk, t.mode), ts));
  auto at = [&](const WorkItem &item) {
    return perHead[static_cast<size_t>(item.head)]
                  [static_cast<size_t>(item.queryTile)];
  };
  int64_t equal = 0;
  for (const WorkItem &item : list) {
    if (at(item).full != at(list.front()).full ||
        at(item).partial != at(list.front()).partial)
      break;
    ++equal;
  }
  return equal;
}

TEST(WaveStagger, LeadingEqualItemsMatchCells) {
  for (PolicyKind kind : kAllPolicies)
    for (BandMode mode : kModes)
      for (TileShape ts : {TileShape{4, 4}, TileShape{16, 8}})
        for (int64_t nq : {37, 64}) {
          BandTable t = plan(kind, 64, 4, mode);
          std::vector<WorkItem> list = buildWorkList(t, 3, nq, 64, ts);
          EXPECT_EQ(leadingEqualCostItems(list, t, nq, 64, ts),
                    referenceLeadingEqual(list, t, nq, 64, ts))
              << where(kind, 64, 4, mode) << " Nq=" << nq << " tile " << ts.q
              << "x" << ts.k;
        }
}

/// exclusive_equal at N = 256, H = 4, 16x16 tiles: head h's bands are 64
/// distances, so a query tile past the head's first 64 rows reaches 5 key
/// tiles (2 masked); heads 0-2 have 12, 8 and 4 such tiles a batch
/// element: 24 items at B = 1, 24 B at batch B.
TEST(WaveStagger, ExclusiveEqualFullItemsStagger) {
  BandTable t = plan(PolicyKind::ExclusiveEqual, 256, 4);
  TileShape ts{16, 16};
  std::vector<WorkItem> list = buildWorkList(t, 4, 256, 256, ts);
  ASSERT_EQ(leadingEqualCostItems(list, t, 256, 256, ts), 96);
  // Two waves of 4 SMs x 3 blocks fit in 96 items.
  WaveStagger s = planWaveStagger(list, t, 256, 256, ts, {4, 3, 700, 2});
  EXPECT_TRUE(s.enabled());
  EXPECT_EQ(s.numSMs, 4);
  EXPECT_EQ(s.blocksPerSM, 3);
  EXPECT_EQ(s.slotDelayNs, 5 * 700);
  // Eight waves of 12 are exactly the equal items; nine are not.
  EXPECT_TRUE(planWaveStagger(list, t, 256, 256, ts, {4, 3, 700, 8}).enabled());
  EXPECT_FALSE(
      planWaveStagger(list, t, 256, 256, ts, {4, 3, 700, 9}).enabled());
}

/// Dense causal: the heaviest query tiles each cost a tile more than the
/// next, so no wave of equal items leads; minEqualWaves = 0 staggers anyway
/// (an explicit request), by the first item's 16 tiles.
TEST(WaveStagger, UnequalItemsNeedAnExplicitRequest) {
  BandTable t = plan(PolicyKind::DenseCausal, 256, 4);
  TileShape ts{16, 16};
  std::vector<WorkItem> list = buildWorkList(t, 2, 256, 256, ts);
  EXPECT_EQ(leadingEqualCostItems(list, t, 256, 256, ts), 8); // 4 heads x B
  EXPECT_FALSE(
      planWaveStagger(list, t, 256, 256, ts, {4, 3, 700, 2}).enabled());
  WaveStagger s = planWaveStagger(list, t, 256, 256, ts, {4, 3, 700, 0});
  EXPECT_EQ(s.slotDelayNs, 16 * 700);
}

TEST(WaveStagger, DelayWithinNanosleepLimit) {
  BandTable t = plan(PolicyKind::DenseCausal, 256, 4);
  TileShape ts{16, 16};
  std::vector<WorkItem> list = buildWorkList(t, 2, 256, 256, ts);
  WaveStagger s = planWaveStagger(list, t, 256, 256, ts, {4, 5, 1000000, 0});
  EXPECT_EQ(s.slotDelayNs, kMaxStaggerSleepNs / 4);
  EXPECT_LE(s.slotDelayNs * (s.blocksPerSM - 1), kMaxStaggerSleepNs);
}

TEST(WaveStagger, Degenerate) {
  BandTable t = plan(PolicyKind::ExclusiveEqual, 256, 4);
  TileShape ts{16, 16};
  std::vector<WorkItem> list = buildWorkList(t, 4, 256, 256, ts);
  EXPECT_FALSE(planWaveStagger({}, t, 256, 256, ts, {4, 3, 700, 0}).enabled());
  EXPECT_EQ(leadingEqualCostItems({}, t, 256, 256, ts), 0);
  for (WaveStaggerParams p :
       {WaveStaggerParams{}, WaveStaggerParams{4, 1, 700, 0},
        WaveStaggerParams{0, 3, 700, 0}, WaveStaggerParams{4, 3, 0, 0},
        WaveStaggerParams{4, 3, 700, -1},
        WaveStaggerParams{int64_t(1) << 40, 3, 700, 0}})
    EXPECT_FALSE(planWaveStagger(list, t, 256, 256, ts, p).enabled())
        << p.numSMs << " SMs, " << p.blocksPerSM << " blocks, " << p.nsPerTile
        << " ns, " << p.minEqualWaves << " waves";
  // A list whose first item reaches no key: every head empty.
  BandTable empty = t;
  for (HeadBands &head : empty.heads)
    head.clear();
  std::vector<WorkItem> none = buildWorkList(empty, 4, 256, 256, ts);
  EXPECT_FALSE(
      planWaveStagger(none, empty, 256, 256, ts, {4, 3, 700, 0}).enabled());
}

} // namespace
