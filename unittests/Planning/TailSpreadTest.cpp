//===- TailSpreadTest.cpp - Tests of the zero tail's launch order ---------===//
//
// Unit tests of spa/Planning/TailSpread.h: the spread is a bijection onto
// the list blocks for every small launch, keeps the lead and the order
// within each part, and spaces the tail's blocks evenly.
//
//===----------------------------------------------------------------------===//

#include "spa/Planning/TailSpread.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdlib>
#include <vector>

using namespace spa::plan;

TEST(TailSpread, BijectionKeepingLeadAndOrder) {
  for (int64_t keyed = 1; keyed <= 40; ++keyed)
    for (int64_t tail = 0; tail <= 40; ++tail)
      for (int64_t lead : {int64_t(0), int64_t(1), keyed / 2, keyed}) {
        TailSpread spread{keyed, tail, lead};
        std::vector<int> seen(keyed + tail, 0);
        int64_t lastKeyed = -1, lastTail = keyed - 1;
        for (int64_t b = 0; b < keyed + tail; ++b) {
          int64_t item = spreadTailBlock(spread, b);
          ASSERT_GE(item, 0);
          ASSERT_LT(item, keyed + tail);
          ++seen[item];
          if (b < lead) {
            EXPECT_EQ(item, b);
          }
          // Each part keeps its own order: the cost order of the items,
          // the tail's in list order.
          if (item < keyed) {
            EXPECT_EQ(item, lastKeyed + 1);
            lastKeyed = item;
          } else {
            EXPECT_EQ(item, lastTail + 1);
            lastTail = item;
          }
        }
        for (int64_t i = 0; i < keyed + tail; ++i)
          ASSERT_EQ(seen[i], 1) << keyed << " " << tail << " " << lead;
      }
}

TEST(TailSpread, EvenSpacing) {
  // The headline forward's list: 2176 items with keys, 1920 tail items,
  // a first wave of 3 x 132 blocks. After the lead, every window of the
  // launch holds its share of tail blocks within one.
  TailSpread spread{2176, 1920, 396};
  int64_t total = 2176 + 1920 - 396;
  int64_t window = 100, tailInWindow = 0;
  std::vector<int> isTail(2176 + 1920, 0);
  for (int64_t b = 0; b < 2176 + 1920; ++b)
    isTail[b] = spreadTailBlock(spread, b) >= 2176;
  for (int64_t b = 0; b < 396; ++b)
    EXPECT_FALSE(isTail[b]);
  for (int64_t b = 396; b < 396 + window; ++b)
    tailInWindow += isTail[b];
  double share = double(window) * 1920 / total;
  for (int64_t b = 396; b + window <= 2176 + 1920; ++b) {
    EXPECT_LE(std::abs(tailInWindow - share), 1.0) << b;
    if (b + window < 2176 + 1920)
      tailInWindow += isTail[b + window] - isTail[b];
  }
  // The launch ends on a tail block, never on a run of them.
  EXPECT_TRUE(isTail.back());
  EXPECT_FALSE(isTail[isTail.size() - 3] && isTail[isTail.size() - 2]);
}

TEST(TailSpread, NothingToSpread) {
  TailSpread none{8, 0, 0};
  for (int64_t b = 0; b < 8; ++b)
    EXPECT_EQ(spreadTailBlock(none, b), b);
  // All lead: the tail stays last.
  TailSpread lead{4, 3, 4};
  for (int64_t b = 0; b < 7; ++b)
    EXPECT_EQ(spreadTailBlock(lead, b), b);
}
