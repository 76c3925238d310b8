//===- InterleavedWorkListTest.cpp - Tests of the interleaved order -------===//
//
// Unit tests of spa/Planning/InterleavedWorkList.h: each dQ item's last
// dK/dV item read, against brute force over every (row, key) pair of its
// tile (odd shapes, Nq != Nk, GQA, both modes, every policy, rows without
// keys); and the merged order's promises (a permutation, the dK/dV order
// kept, every dQ entry after the dK/dV entry it waits for, placed by the
// lag, ties in list order), with the invalid inputs' empty answers.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

#include "spa/Planning/GradWorkList.h"
#include "spa/Planning/InterleavedWorkList.h"
#include "spa/Planning/Policies.h"
#include "spa/Planning/WorkList.h"

#include <map>
#include <tuple>

using namespace planning_test;

namespace {

struct Shape {
  PolicyKind policy;
  int64_t batch, heads, kvHeads, nq, nk;
  BandMode mode;
};

std::vector<int64_t> bruteLastRead(const BandTable &table, const Shape &s,
                                   int64_t tile,
                                   const std::vector<KeyTileWorkItem> &keys,
                                   const std::vector<WorkItem> &queries) {
  std::map<std::tuple<int64_t, int64_t, int64_t>, int64_t> position;
  for (size_t p = 0; p < keys.size(); ++p)
    position[{keys[p].batch, keys[p].kvHead, keys[p].keyTile}] = int64_t(p);
  const int64_t group = s.heads / s.kvHeads;
  std::vector<int64_t> last;
  for (const WorkItem &item : queries) {
    int64_t latest = -1;
    for (int64_t i = item.queryTile * tile;
         i < std::min(s.nq, (item.queryTile + 1) * tile); ++i)
      for (int64_t j = 0; j < s.nk; ++j)
        if (oracle::admissible(table.heads[item.head], i, j, s.nq, s.nk,
                               s.mode))
          latest = std::max(
              latest, position.at({item.batch, item.head / group, j / tile}));
    last.push_back(latest);
  }
  return last;
}

TEST(InterleavedWorkList, LastKeyItemReadMatchesBruteForce) {
  const int64_t tile = 64;
  const std::vector<Shape> shapes = {
      {PolicyKind::ExclusiveEqual, 2, 4, 4, 300, 300, BandMode::Causal},
      {PolicyKind::ExclusiveEqual, 1, 8, 2, 257, 257, BandMode::Causal},
      {PolicyKind::PairBalanced, 1, 4, 4, 200, 333, BandMode::Causal},
      {PolicyKind::TileBalanced, 2, 4, 2, 129, 129, BandMode::Bidirectional},
      {PolicyKind::LocalPlusBand, 1, 4, 4, 400, 400, BandMode::Causal},
      {PolicyKind::ExclusiveEqual, 1, 16, 16, 1, 65, BandMode::Causal},
      {PolicyKind::ExclusiveEqual, 1, 8, 8, 100, 40, BandMode::Causal},
  };
  for (const Shape &s : shapes) {
    SCOPED_TRACE(::testing::Message()
                 << "nq " << s.nq << " nk " << s.nk << " heads " << s.heads
                 << "/" << s.kvHeads);
    PlanResult plan =
        makeBandTable(s.policy, std::max(s.nq, s.nk), s.heads, s.mode);
    ASSERT_TRUE(plan) << plan.error;
    const BandTable &table = *plan.table;
    std::vector<KeyTileWorkItem> keys = buildKeyTileWorkList(
        table, s.batch, s.kvHeads, s.nq, s.nk, TileShape{tile, tile});
    std::vector<WorkItem> queries =
        buildWorkList(table, s.batch, s.nq, s.nk, TileShape{tile, tile});
    ASSERT_FALSE(keys.empty());
    ASSERT_FALSE(queries.empty());
    std::vector<int64_t> last =
        lastKeyItemRead(table, s.kvHeads, s.nq, s.nk, tile, keys, queries);
    EXPECT_EQ(last, bruteLastRead(table, s, tile, keys, queries));
  }
}

/// exclusive_equal over n keys and `heads` heads (as many key/value
/// heads): the table and both kernels' lists of 64 x 64 tiles.
struct Lists {
  BandTable table;
  std::vector<KeyTileWorkItem> keys;
  std::vector<WorkItem> queries;
};
Lists exclusiveLists(int64_t batch, int64_t n, int64_t heads) {
  Lists lists;
  lists.table.heads = oracle::table(PolicyKind::ExclusiveEqual, n, heads);
  lists.keys =
      buildKeyTileWorkList(lists.table, batch, heads, n, n, TileShape{64, 64});
  lists.queries = buildWorkList(lists.table, batch, n, n, TileShape{64, 64});
  return lists;
}

TEST(InterleavedWorkList, LastKeyItemReadRejectsMismatchedLists) {
  Lists l = exclusiveLists(1, 256, 4);
  EXPECT_TRUE(
      lastKeyItemRead(l.table, 3, 256, 256, 64, l.keys, l.queries).empty());
  EXPECT_TRUE(
      lastKeyItemRead(l.table, 4, 256, 256, 0, l.keys, l.queries).empty());
  // Key tiles the queries reach are missing.
  std::vector<KeyTileWorkItem> few(l.keys.begin(), l.keys.begin() + 2);
  EXPECT_TRUE(
      lastKeyItemRead(l.table, 4, 256, 256, 64, few, l.queries).empty());
}

/// The promises of interleaveBlocks for one input.
void checkOrder(int64_t keyBlocks, const std::vector<int64_t> &lastRead,
                int64_t lag) {
  std::vector<int32_t> order = interleaveBlocks(keyBlocks, lastRead, lag);
  const int64_t total = keyBlocks + int64_t(lastRead.size());
  ASSERT_EQ(int64_t(order.size()), total);
  std::vector<int64_t> at(total, -1);
  for (size_t e = 0; e < order.size(); ++e) {
    ASSERT_GE(order[e], 0);
    ASSERT_LT(order[e], total);
    ASSERT_EQ(at[order[e]], -1) << "entry " << order[e] << " twice";
    at[order[e]] = int64_t(e);
  }
  for (int64_t k = 1; k < keyBlocks; ++k)
    EXPECT_LT(at[k - 1], at[k]);
  for (size_t q = 0; q < lastRead.size(); ++q) {
    int64_t self = at[keyBlocks + q];
    if (lastRead[q] < 0) {
      EXPECT_LT(self, keyBlocks == 0 ? total : at[0]) << q;
      continue;
    }
    int64_t after = std::min(lastRead[q] + lag, keyBlocks - 1);
    EXPECT_GT(self, at[lastRead[q]]) << q;
    EXPECT_GT(self, at[after]) << q;
    if (after + 1 < keyBlocks) {
      EXPECT_LT(self, at[after + 1]) << q;
    }
    if (q > 0 && lastRead[q - 1] == lastRead[q]) {
      EXPECT_LT(at[keyBlocks + q - 1], self) << q;
    }
  }
}

TEST(InterleavedWorkList, OrderKeepsItsPromises) {
  checkOrder(10, {3, -1, 0, 9, 3, 5, -1}, 0);
  checkOrder(10, {3, -1, 0, 9, 3, 5, -1}, 2);
  checkOrder(10, {3, -1, 0, 9, 3, 5, -1}, 100);
  checkOrder(1, {0, -1, 0}, 5);
  checkOrder(0, {-1, -1}, 3);
  checkOrder(7, {}, 1);
  // A realistic pair of lists: the headline policy at a small size.
  Lists l = exclusiveLists(2, 1024, 8);
  std::vector<int64_t> last =
      lastKeyItemRead(l.table, 8, 1024, 1024, 64, l.keys, l.queries);
  ASSERT_EQ(last.size(), l.queries.size());
  for (int64_t lag : {0, 16, 1000})
    checkOrder(int64_t(l.keys.size()), last, lag);
}

TEST(InterleavedWorkList, OrderRejectsBadInput) {
  EXPECT_TRUE(interleaveBlocks(4, {0, 1}, -1).empty());
  EXPECT_TRUE(interleaveBlocks(4, {4}, 0).empty());
  EXPECT_TRUE(interleaveBlocks(4, {-2}, 0).empty());
}

} // namespace
