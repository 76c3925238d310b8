//===- WorkListTest.cpp - Tests of the GPU work list ----------------------===//
//
// Unit tests of spa/Planning/WorkList.h. The order is checked against a
// reference built from the oracle: each item's cost comes from counting the
// tiles cell by cell, and the expected order is a plain sort by (cost
// descending, head, tile) with the batch expanded innermost. Also a
// hand-checked example with a tie, the properties one by one (heaviest
// first, batch innermost, every item once) on larger shapes, and the
// degenerate inputs.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace planning_test;

namespace {

/// The expected work list, from the oracle's tile counts: independent of
/// workItemCost and of the library's sort.
std::vector<WorkItem> referenceWorkList(const BandTable &table, int64_t batch,
                                        int64_t nq, int64_t nk, TileShape ts) {
  struct Item {
    double cost;
    int64_t head, tile;
  };
  std::vector<Item> items;
  CostWeights w;
  for (int64_t h = 0; h < table.numHeads(); ++h) {
    oracle::Grid g = oracle::grid(table.heads[h], nq, nk, table.mode);
    std::vector<TileCounts> tiles = oracle::tiles(g, ts);
    for (size_t t = 0; t < tiles.size(); ++t)
      items.push_back({w.workItem +
                           static_cast<double>(tiles[t].full) * w.fullTile +
                           static_cast<double>(tiles[t].partial) *
                               (w.fullTile + w.partialTileExtra),
                       h, static_cast<int64_t>(t)});
  }
  std::sort(items.begin(), items.end(), [](const Item &a, const Item &b) {
    return std::make_tuple(-a.cost, a.head, a.tile) <
           std::make_tuple(-b.cost, b.head, b.tile);
  });
  std::vector<WorkItem> list;
  for (const Item &item : items)
    for (int64_t b = 0; b < batch; ++b)
      list.push_back({b, item.head, item.tile});
  return list;
}

std::string describe(const std::vector<WorkItem> &list) {
  std::string out;
  for (const WorkItem &item : list)
    out += "(" + std::to_string(item.batch) + "," + std::to_string(item.head) +
           "," + std::to_string(item.queryTile) + ")";
  return out;
}

/// Heaviest first, batch innermost, every (b, h, t) exactly once.
void expectWellFormed(const std::vector<WorkItem> &list, const BandTable &t,
                      int64_t batch, int64_t nq, int64_t nk, TileShape ts,
                      const std::string &ctx) {
  const int64_t numQueryTiles = (nq + ts.q - 1) / ts.q;
  ASSERT_EQ(static_cast<int64_t>(list.size()),
            batch * t.numHeads() * numQueryTiles)
      << ctx;
  std::set<std::tuple<int64_t, int64_t, int64_t>> seen;
  for (const WorkItem &item : list) {
    ASSERT_TRUE(item.batch >= 0 && item.batch < batch) << ctx;
    ASSERT_TRUE(item.head >= 0 && item.head < t.numHeads()) << ctx;
    ASSERT_TRUE(item.queryTile >= 0 && item.queryTile < numQueryTiles) << ctx;
    EXPECT_TRUE(seen.insert({item.batch, item.head, item.queryTile}).second)
        << ctx << " repeats (" << item.batch << ", " << item.head << ", "
        << item.queryTile << ")";
  }
  for (size_t i = 0; i < list.size(); ++i) {
    // Batch innermost: item i is batch i % B of its group of B.
    const WorkItem &first = list[i - i % static_cast<size_t>(batch)];
    EXPECT_EQ(list[i].batch, static_cast<int64_t>(i) % batch) << ctx;
    EXPECT_EQ(list[i].head, first.head) << ctx << " item " << i;
    EXPECT_EQ(list[i].queryTile, first.queryTile) << ctx << " item " << i;
    if (i == 0)
      continue;
    const WorkItem &prev = list[i - 1];
    double before =
        workItemCost(t.heads[prev.head], prev.queryTile, nq, nk, t.mode, ts);
    double now = workItemCost(t.heads[list[i].head], list[i].queryTile, nq, nk,
                              t.mode, ts);
    EXPECT_GE(before, now) << ctx << " item " << i;
    if (before == now && list[i].batch == 0) { // ties keep (head, tile) order
      EXPECT_LT(std::make_pair(prev.head, prev.queryTile),
                std::make_pair(list[i].head, list[i].queryTile))
          << ctx << " item " << i;
    }
  }
}

//===----------------------------------------------------------------------===//
// Against the reference
//===----------------------------------------------------------------------===//

/// N = 8, H = 2, 4x4 tiles, exclusive_equal (the costs of
/// BandPlanReport.DefaultWeightsByHand): head 0 costs 1.85 (tile 0) and 3.2
/// (tile 1), head 1 costs 0.5 (tile 0, no key) and 1.85 (tile 1). The tie at
/// 1.85 keeps head order.
TEST(WorkList, HandChecked) {
  BandTable t = plan(PolicyKind::ExclusiveEqual, 8, 2);
  std::vector<WorkItem> want = {{0, 0, 1}, {1, 0, 1}, {0, 0, 0}, {1, 0, 0},
                                {0, 1, 1}, {1, 1, 1}, {0, 1, 0}, {1, 1, 0}};
  std::vector<WorkItem> got = buildWorkList(t, 2, 8, 8, {4, 4});
  EXPECT_EQ(got, want) << describe(got);
}

/// One case of the list matrix: the table, Nq, N, the tile, the batch and
/// the failure context.
struct ListCase {
  BandTable table;
  int64_t nq, n, batch;
  TileShape ts;
  std::string ctx;
};

/// Every policy, both modes, N not a multiple of the tile, N = 1, Nq below
/// and above Nk, N < H (empty heads), one to three batch elements; stops at
/// the first fatal failure.
template <typename Check> void forEachListCase(Check check) {
  const TileShape tiles[] = {{4, 4}, {3, 5}, {16, 8}, {1, 1}};
  for (PolicyKind kind : kAllPolicies)
    for (BandMode mode : kModes)
      for (int64_t n : {1, 2, 7, 16, 29})
        for (int64_t h : {1, 3, 8})
          for (int64_t nq : queryLengths(n))
            for (TileShape ts : tiles) {
              PolicyOptions o;
              o.queryLen = nq;
              o.tile = ts;
              ListCase c{plan(kind, n, h, mode, o), nq, n,
                         1 + (n + h) % 3,           ts, ""};
              c.ctx = where(kind, n, h, mode) + " Nq=" + std::to_string(nq) +
                      " tile " + std::to_string(ts.q) + "x" +
                      std::to_string(ts.k) + " B=" + std::to_string(c.batch);
              check(c);
              if (::testing::Test::HasFatalFailure() ||
                  ::testing::Test::HasFailure())
                return;
            }
}

TEST(WorkList, MatchesReference) {
  forEachListCase([](const ListCase &c) {
    std::vector<WorkItem> got =
        buildWorkList(c.table, c.batch, c.nq, c.n, c.ts);
    ASSERT_EQ(got, referenceWorkList(c.table, c.batch, c.nq, c.n, c.ts))
        << c.ctx << "\n"
        << describe(got);
    expectWellFormed(got, c.table, c.batch, c.nq, c.n, c.ts, c.ctx);
  });
}

/// An explicit table with gaps and empty heads: an empty head's items cost
/// the bare work item and come after every item that touches a key (here
/// every item of heads 1 and 3 does).
TEST(WorkList, EmptyHeads) {
  BandTable t;
  t.heads = {{}, {{0, 3}, {9, 14}}, {}, {{1, 2}, {5, 6}}};
  for (BandMode mode : kModes) {
    t.mode = mode;
    std::vector<WorkItem> got = buildWorkList(t, 2, 20, 20, {4, 4});
    ASSERT_EQ(got, referenceWorkList(t, 2, 20, 20, {4, 4})) << describe(got);
    expectWellFormed(got, t, 2, 20, 20, {4, 4}, "explicit");
    // Heads 0 and 2 have no key: their 2 x 5 x 2 items are the last 20, in
    // (head, tile) order.
    std::vector<WorkItem> tail(got.end() - 20, got.end());
    for (size_t i = 0; i < tail.size(); ++i) {
      EXPECT_EQ(tail[i].head, i < 10 ? 0 : 2) << describe(tail);
      EXPECT_EQ(tail[i].queryTile, static_cast<int64_t>(i % 10) / 2)
          << describe(tail);
    }
  }
}

/// The zero tail: every item from firstItemReachingNoKey on has no
/// admissible pair in its rows (cell by cell), the item before it has one,
/// and the tail holds every such item of the list (they sort last).
TEST(WorkList, ZeroTailMatchesCells) {
  int64_t tails = 0;
  forEachListCase([&](const ListCase &c) {
    std::vector<WorkItem> list =
        buildWorkList(c.table, c.batch, c.nq, c.n, c.ts);
    auto rowsHaveKey = [&](const WorkItem &item) {
      oracle::Grid g =
          oracle::grid(c.table.heads[item.head], c.nq, c.n, c.table.mode);
      for (int64_t i = item.queryTile * c.ts.q;
           i < std::min(c.nq, (item.queryTile + 1) * c.ts.q); ++i)
        for (int64_t j = 0; j < c.n; ++j)
          if (g.at(i, j))
            return true;
      return false;
    };
    int64_t start = firstItemReachingNoKey(list, c.table, c.nq, c.n, c.ts);
    ASSERT_GE(start, 0) << c.ctx;
    ASSERT_LE(start, int64_t(list.size())) << c.ctx;
    int64_t keyless = 0;
    for (size_t i = 0; i < list.size(); ++i) {
      bool reaches = rowsHaveKey(list[i]);
      keyless += !reaches;
      if (int64_t(i) >= start) {
        EXPECT_FALSE(reaches) << c.ctx << " item " << i;
      }
    }
    if (start > 0) {
      EXPECT_TRUE(rowsHaveKey(list[start - 1])) << c.ctx;
    }
    EXPECT_EQ(keyless, int64_t(list.size()) - start) << c.ctx;
    tails += start < int64_t(list.size());
  });
  EXPECT_GT(tails, 100) << "the matrix must hold lists with a zero tail";
}

TEST(WorkList, ZeroTailOfExplicitTable) {
  BandTable t;
  t.heads = {{}, {{0, 3}, {9, 14}}, {}, {{1, 2}, {5, 6}}};
  std::vector<WorkItem> list = buildWorkList(t, 2, 20, 20, {4, 4});
  // The empty heads 0 and 2 (head 3's first tile reaches key 0 from row 1).
  EXPECT_EQ(firstItemReachingNoKey(list, t, 20, 20, {4, 4}),
            int64_t(list.size()) - 20);
  EXPECT_EQ(firstItemReachingNoKey({}, t, 20, 20, {4, 4}), 0);
  // exclusive_equal at N = 64, H = 4, tile 16: head h's rows below 16 h
  // have no key, so 0 + 1 + 2 + 3 query tiles of each batch element.
  BandTable ee = plan(PolicyKind::ExclusiveEqual, 64, 4);
  std::vector<WorkItem> eeList = buildWorkList(ee, 3, 64, 64, {16, 16});
  EXPECT_EQ(int64_t(eeList.size()) -
                firstItemReachingNoKey(eeList, ee, 64, 64, {16, 16}),
            3 * 6);
}

//===----------------------------------------------------------------------===//
// Properties at larger shapes
//===----------------------------------------------------------------------===//

TEST(WorkList, WellFormedAtLargerShapes) {
  struct Case {
    PolicyKind kind;
    int64_t n, h, nq, batch;
    TileShape ts;
    BandMode mode;
  } cases[] = {
      {PolicyKind::TileBalanced,
       4096,
       16,
       4096,
       2,
       {128, 128},
       BandMode::Causal},
      {PolicyKind::ExclusiveEqual,
       4000,
       12,
       1000,
       3,
       {64, 64},
       BandMode::Causal},
      {PolicyKind::LocalPlusBand,
       3000,
       8,
       3100,
       1,
       {128, 64},
       BandMode::Bidirectional},
      {PolicyKind::DenseCausal, 1000, 4, 1, 4, {64, 128}, BandMode::Causal},
  };
  for (const Case &c : cases) {
    PolicyOptions o;
    o.queryLen = c.nq;
    o.tile = c.ts;
    BandTable t = plan(c.kind, c.n, c.h, c.mode, o);
    expectWellFormed(buildWorkList(t, c.batch, c.nq, c.n, c.ts), t, c.batch,
                     c.nq, c.n, c.ts, where(c.kind, c.n, c.h, c.mode));
  }
}

//===----------------------------------------------------------------------===//
// Degenerate inputs
//===----------------------------------------------------------------------===//

TEST(WorkList, Degenerate) {
  BandTable t = plan(PolicyKind::ExclusiveEqual, 16, 2);
  EXPECT_TRUE(buildWorkList(t, 0, 16, 16, {4, 4}).empty());
  EXPECT_TRUE(buildWorkList(t, 2, 0, 16, {4, 4}).empty());
  EXPECT_TRUE(buildWorkList(t, 2, 16, 16, {0, 4}).empty());
  EXPECT_TRUE(buildWorkList(BandTable{}, 2, 16, 16, {4, 4}).empty());
  // Beyond kMaxWorkItems nothing is built (the GPU path reports it from
  // countWorkItems first); before, this allocated 2^40 items and aborted.
  EXPECT_TRUE(buildWorkList(t, int64_t(1) << 40, 16, 16, {4, 4}).empty());
  // One query row (decode): one item per (batch, head).
  std::vector<WorkItem> decode = buildWorkList(t, 2, 1, 16, {128, 128});
  EXPECT_EQ(decode,
            (std::vector<WorkItem>{{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {1, 1, 0}}))
      << describe(decode);
}

TEST(WorkList, CountAndLimit) {
  EXPECT_EQ(countWorkItems(3, 4, 300, 128), 3 * 4 * 3);
  EXPECT_EQ(countWorkItems(1, 1, 1, 128), 1);
  EXPECT_EQ(countWorkItems(0, 4, 300, 128), 0);
  EXPECT_EQ(countWorkItems(2, 4, 300, 0), 0);
  // Saturates instead of wrapping.
  EXPECT_EQ(countWorkItems(int64_t(1) << 62, 4, 64, 64),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(countWorkItems(1 << 20, 1 << 20, int64_t(1) << 31, 1),
            std::numeric_limits<int64_t>::max());
  // Exactly at the limit a list is still built.
  BandTable t = plan(PolicyKind::ExclusiveEqual, 16, 2);
  EXPECT_EQ(countWorkItems(kMaxWorkItems / 2, 2, 16, 16), kMaxWorkItems);
  EXPECT_EQ(buildWorkList(t, kMaxWorkItems / 2, 16, 16, {16, 16}).size(),
            static_cast<size_t>(kMaxWorkItems));
  EXPECT_TRUE(
      buildWorkList(t, kMaxWorkItems / 2 + 1, 16, 16, {16, 16}).empty());
}

} // namespace
