//===- BandTableTextTest.cpp - Tests of band-table text -------------------===//
//
// Unit tests of spa/Planning/BandTableText.h: the `#spa.bands` text of a
// table and of one head, which the IR printer, the pass reports and the
// tools all print.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

#include <cstdint>
#include <string>

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

TEST(BandPlanText, FormatHeadBands) {
  EXPECT_EQ(formatHeadBands({}), "[]");
  EXPECT_EQ(formatHeadBands({{0, 65}}), "[0:65]");
  EXPECT_EQ(formatHeadBands({{0, 65}, {512, 1024}}), "[0:65, 512:1024]");
  // Printed as given, also when invalid (validation messages quote it).
  EXPECT_EQ(formatHeadBands({{-1, 4}, {7, 3}}), "[-1:4, 7:3]");
  EXPECT_EQ(formatHeadBands({{0, int64_t(1) << 62}}),
            "[0:4611686018427387904]");
}

/// formatBandTable is the mode followed by formatHeadBands of every head, so
/// the IR printer and the pass reports spell a head the same way.
TEST(BandPlanText, TableIsModeAndHeads) {
  for (BandMode mode : kModes) {
    BandTable t = plan(PolicyKind::LocalPlusBand, 100, 7, mode);
    std::string want(bandModeName(mode));
    for (const HeadBands &head : t.heads)
      want += ", " + formatHeadBands(head);
    EXPECT_EQ(formatBandTable(t), want);
  }
}

} // namespace
