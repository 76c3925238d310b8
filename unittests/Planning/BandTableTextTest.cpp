//===- BandTableTextTest.cpp - Tests of band-table text -------------------===//
//
// Unit tests of spa/Planning/BandTableText.h: the `#spa.bands` body that the
// IR printer, the pass reports and the tools print.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

using namespace planning_test;

namespace {

//===----------------------------------------------------------------------===//
// Formatting
//===----------------------------------------------------------------------===//

TEST(BandPlanText, Format) {
  EXPECT_EQ(formatBandTable(plan(PolicyKind::ExclusiveEqual, 1024, 2)),
            "causal, [0:512], [512:1024]");
  EXPECT_EQ(formatBandTable(plan(PolicyKind::GappedHalf, 3, 3)),
            "causal, [], [], []");
  EXPECT_EQ(formatBandTable(plan(PolicyKind::LocalPlusBand, 16, 4,
                                 BandMode::Bidirectional)),
            "bidirectional, [0:5], [0:8], [0:5, 8:12], [0:5, 12:16]");
  EXPECT_EQ(formatBandTable(BandTable{}), "causal");
}

} // namespace
