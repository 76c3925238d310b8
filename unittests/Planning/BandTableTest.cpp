//===- BandTableTest.cpp - Tests of band tables ---------------------------===//
//
// Unit tests of spa/Planning/BandTable.h: mode spellings, validation
// messages and the normalisation of a head's intervals.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

using namespace planning_test;

namespace {

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

TEST(BandPlanNames, ModeRoundTrip) {
  EXPECT_EQ(bandModeName(BandMode::Causal), "causal");
  EXPECT_EQ(bandModeName(BandMode::Bidirectional), "bidirectional");
  EXPECT_EQ(parseBandMode("causal"), BandMode::Causal);
  EXPECT_EQ(parseBandMode("bidirectional"), BandMode::Bidirectional);
  EXPECT_EQ(parseBandMode("Causal"), std::nullopt);
  EXPECT_EQ(parseBandMode("encoder"), std::nullopt);
}

//===----------------------------------------------------------------------===//
// Validation, normalisation
//===----------------------------------------------------------------------===//

TEST(BandPlanText, Validate) {
  BandTable t;
  EXPECT_EQ(validateBandTable(t), "band table has no heads");
  t.heads = {{{0, 4}}, {{4, 8}, {8, 9}}, {}};
  EXPECT_EQ(validateBandTable(t), "");
  t.heads = {{}, {}, {}, {{0, 2}, {5, 5}}};
  EXPECT_EQ(validateBandTable(t), "head 3: interval #1 [5, 5) is empty");
  t.heads = {{}, {}, {{-1, 4}}};
  EXPECT_EQ(validateBandTable(t),
            "head 2: interval #0 [-1, 4) has a negative bound");
  t.heads = {{{0, 8}, {4, 12}}};
  EXPECT_EQ(validateBandTable(t),
            "head 0: intervals #0 [0, 8) and #1 [4, 12) overlap or are "
            "unsorted");
  t.heads = {{{10, 12}, {0, 4}}};
  EXPECT_EQ(validateBandTable(t),
            "head 0: intervals #0 [10, 12) and #1 [0, 4) overlap or are "
            "unsorted");
  t.heads = {{{7, 3}}};
  EXPECT_EQ(validateBandTable(t), "head 0: interval #0 [7, 3) is empty");
}

TEST(BandPlanText, Normalize) {
  EXPECT_EQ(normalizeBands({{8, 12}, {0, 4}, {4, 6}, {3, 3}, {20, 30}}, 25),
            (HeadBands{{0, 6}, {8, 12}, {20, 25}}));
  EXPECT_EQ(normalizeBands({{-4, 2}, {30, 40}}, 25), (HeadBands{{0, 2}}));
  EXPECT_EQ(normalizeBands({{0, 10}, {2, 3}}, 100), (HeadBands{{0, 10}}));
  EXPECT_EQ(normalizeBands({{0, 10}}, 0), HeadBands{});
  EXPECT_EQ(normalizeBands({}, 10), HeadBands{});
}

} // namespace
