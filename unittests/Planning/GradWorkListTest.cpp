//===- GradWorkListTest.cpp - Tests of the dK/dV kernel's work list -------===//
//
// Unit tests of spa/Planning/GradWorkList.h against brute force: the query
// rows reaching a key tile by testing every (row, key) pair, the interior
// query tiles by testing every pair of every tile, the item cost from those
// counts, and the list's properties (every item once, heaviest first, batch
// innermost), over odd shapes, both modes, Nq != Nk and GQA.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

#include "spa/Planning/GradWorkList.h"

#include <set>
#include <tuple>

using namespace planning_test;

namespace {

/// Rows reaching keys [k0, min(k0 + tk, nk)), by testing every pair.
RowRange bruteRows(Interval iv, int side, int64_t k0, int64_t tk, int64_t nq,
                   int64_t nk) {
  int64_t first = -1, last = -1;
  for (int64_t i = 0; i < nq; ++i)
    for (int64_t j = k0; j < std::min(k0 + tk, nk); ++j)
      if (inInterval(iv, side, i + nk - nq, j)) {
        if (first < 0)
          first = i;
        last = i;
      }
  if (first < 0)
    return {};
  return {first, last + 1};
}

int64_t bruteInterior(RowRange rows, Interval iv, int side, int64_t k0,
                      TileShape ts, int64_t nq, int64_t nk) {
  int64_t count = 0;
  for (int64_t i0 = rows.begin; i0 < rows.end; i0 += ts.q) {
    bool inside = i0 + ts.q <= nq && k0 + ts.k <= nk;
    for (int64_t i = i0; inside && i < i0 + ts.q; ++i)
      for (int64_t j = k0; inside && j < k0 + ts.k; ++j)
        inside = inInterval(iv, side, i + nk - nq, j);
    count += inside;
  }
  return count;
}

struct Shape {
  int64_t nq, nk;
  TileShape tile;
};

const Shape kShapes[] = {{100, 100, {16, 16}}, {77, 130, {16, 32}},
                         {130, 77, {32, 16}},  {1, 1, {16, 16}},
                         {64, 64, {64, 64}},   {200, 57, {64, 16}}};

const Interval kIntervals[] = {{0, 1}, {0, 5},   {3, 20},  {16, 48},
                               {1, 2}, {40, 41}, {0, 300}, {7, 64}};

TEST(GradWorkList, RowsAndInteriorTilesMatchBruteForce) {
  for (const Shape &s : kShapes)
    for (Interval iv : kIntervals)
      for (int side : {1, -1})
        for (int64_t k0 = 0; k0 < s.nk; k0 += s.tile.k) {
          RowRange rows =
              queryRowsReachingKeyTile(iv, side, k0, s.tile.k, s.nq, s.nk);
          RowRange expected = bruteRows(iv, side, k0, s.tile.k, s.nq, s.nk);
          SCOPED_TRACE(::testing::Message()
                       << "nq=" << s.nq << " nk=" << s.nk << " [" << iv.lo
                       << "," << iv.hi << ") side=" << side << " k0=" << k0);
          ASSERT_EQ(rows.size(), expected.size());
          if (expected.size() > 0) {
            EXPECT_EQ(rows.begin, expected.begin);
            EXPECT_EQ(rows.end, expected.end);
          }
          EXPECT_EQ(interiorQueryTiles(rows, iv, side, k0, s.tile, s.nq, s.nk),
                    bruteInterior(rows, iv, side, k0, s.tile, s.nq, s.nk));
        }
}

TEST(GradWorkList, ReachIsContiguousAndComplete) {
  // Every row with an admissible pair in the key tile is inside the range
  // (no gaps): the kernel's single loop per interval and side loses nothing.
  for (const Shape &s : kShapes)
    for (Interval iv : kIntervals)
      for (int side : {1, -1})
        for (int64_t k0 = 0; k0 < s.nk; k0 += s.tile.k) {
          RowRange rows =
              queryRowsReachingKeyTile(iv, side, k0, s.tile.k, s.nq, s.nk);
          for (int64_t i = 0; i < s.nq; ++i)
            for (int64_t j = k0; j < std::min(k0 + s.tile.k, s.nk); ++j) {
              if (inInterval(iv, side, i + s.nk - s.nq, j)) {
                ASSERT_TRUE(i >= rows.begin && i < rows.end)
                    << "row " << i << " key " << j;
              }
            }
        }
}

TEST(GradWorkList, ItemCostCountsVisitedTiles) {
  TileShape ts{16, 16};
  std::vector<HeadBands> group = {{{0, 5}, {20, 40}}, {{5, 20}}, {}};
  CostWeights w;
  for (BandMode mode : {BandMode::Causal, BandMode::Bidirectional})
    for (int64_t t = 0; t < 7; ++t) {
      double expected = w.workItem;
      for (const HeadBands &head : group)
        for (Interval iv : head)
          for (int side : {1, -1}) {
            if (side < 0 && mode == BandMode::Causal)
              continue;
            RowRange rows = bruteRows(iv, side, t * 16, 16, 90, 100);
            int64_t tiles = (rows.size() + 15) / 16;
            int64_t interior =
                bruteInterior(rows, iv, side, t * 16, ts, 90, 100);
            expected +=
                double(tiles) + double(tiles - interior) * w.partialTileExtra;
          }
      EXPECT_DOUBLE_EQ(keyTileItemCost(group, t, 90, 100, mode, ts), expected)
          << "tile " << t;
    }
  EXPECT_EQ(keyTileItemCost(group, 7, 90, 100, BandMode::Causal, ts), 0.0);
}

TEST(GradWorkList, ListHoldsEveryItemHeaviestFirst) {
  BandTable table;
  table.mode = BandMode::Causal;
  table.heads = {{{0, 10}}, {{10, 200}}, {}, {{0, 1}, {50, 60}}};
  TileShape ts{32, 16};
  for (int64_t kvHeads : {1, 2, 4}) {
    auto list = buildKeyTileWorkList(table, 3, kvHeads, 150, 170, ts);
    ASSERT_EQ(int64_t(list.size()), 3 * kvHeads * 11);
    std::set<std::tuple<int64_t, int64_t, int64_t>> seen;
    double previous = 1e300;
    int64_t group = 4 / kvHeads;
    for (size_t n = 0; n < list.size(); ++n) {
      const KeyTileWorkItem &item = list[n];
      EXPECT_EQ(item.batch, int64_t(n % 3)) << "batch is innermost";
      EXPECT_TRUE(seen.insert({item.batch, item.kvHead, item.keyTile}).second);
      std::vector<HeadBands> heads(table.heads.begin() + item.kvHead * group,
                                   table.heads.begin() +
                                       (item.kvHead + 1) * group);
      double cost =
          keyTileItemCost(heads, item.keyTile, 150, 170, table.mode, ts);
      EXPECT_LE(cost, previous);
      previous = cost;
    }
  }
}

/// The zero tail of the dK/dV list: every item from
/// firstKeyTileItemReachedByNoQuery on has no key that a query row of its
/// group reaches (pair by pair), the item before it has one, and every such
/// item is in the tail.
TEST(GradWorkList, ZeroTailMatchesPairs) {
  BandTable table;
  table.heads = {{{0, 10}},    {{10, 200}}, {},       {{0, 1}, {50, 60}},
                 {{120, 130}}, {},          {{3, 4}}, {{140, 400}}};
  int64_t tails = 0;
  for (BandMode mode : kModes)
    for (int64_t kvHeads : {1, 2, 4, 8})
      for (auto [nq, nk] : {std::pair<int64_t, int64_t>{150, 170},
                            {170, 150},
                            {1, 170},
                            {150, 1},
                            {64, 64}})
        for (TileShape ts :
             {TileShape{32, 16}, TileShape{16, 64}, TileShape{1, 1}}) {
          table.mode = mode;
          std::string ctx =
              std::string(mode == BandMode::Causal ? "causal" : "bidir") +
              " kv " + std::to_string(kvHeads) + " Nq " + std::to_string(nq) +
              " Nk " + std::to_string(nk) + " tile " + std::to_string(ts.q) +
              "x" + std::to_string(ts.k);
          auto list = buildKeyTileWorkList(table, 2, kvHeads, nq, nk, ts);
          ASSERT_FALSE(list.empty()) << ctx;
          int64_t group = 8 / kvHeads;
          auto reached = [&](const KeyTileWorkItem &item) {
            for (int64_t h = item.kvHead * group; h < (item.kvHead + 1) * group;
                 ++h)
              for (int64_t j = item.keyTile * ts.k;
                   j < std::min(nk, (item.keyTile + 1) * ts.k); ++j)
                for (int64_t i = 0; i < nq; ++i)
                  if (oracle::admissible(table.heads[h], i, j, nq, nk, mode))
                    return true;
            return false;
          };
          int64_t start = firstKeyTileItemReachedByNoQuery(list, table, kvHeads,
                                                           nq, nk, ts);
          int64_t unreached = 0;
          for (size_t i = 0; i < list.size(); ++i) {
            bool r = reached(list[i]);
            unreached += !r;
            if (int64_t(i) >= start) {
              EXPECT_FALSE(r) << ctx << " item " << i;
            }
          }
          if (start > 0) {
            EXPECT_TRUE(reached(list[start - 1])) << ctx;
          }
          EXPECT_EQ(unreached, int64_t(list.size()) - start) << ctx;
          tails += start < int64_t(list.size());
          if (HasFailure())
            return;
        }
  EXPECT_GT(tails, 20);
}

TEST(GradWorkList, DegenerateInputs) {
  BandTable table;
  table.heads = {{{0, 4}}, {{4, 8}}, {{8, 12}}};
  // The zero tail of a list with arguments it cannot be for: none found.
  std::vector<KeyTileWorkItem> some = {{0, 0, 0}, {0, 1, 0}};
  EXPECT_EQ(firstKeyTileItemReachedByNoQuery(some, table, 2, 10, 10, {16, 16}),
            2)
      << "kv heads must divide the query heads";
  EXPECT_EQ(firstKeyTileItemReachedByNoQuery(some, table, 0, 10, 10, {16, 16}),
            2);
  EXPECT_EQ(firstKeyTileItemReachedByNoQuery({}, table, 3, 10, 10, {16, 16}),
            0);
  EXPECT_TRUE(buildKeyTileWorkList(table, 1, 2, 10, 10, {16, 16}).empty())
      << "kv heads must divide the query heads";
  EXPECT_TRUE(buildKeyTileWorkList(table, 0, 3, 10, 10, {16, 16}).empty());
  EXPECT_TRUE(buildKeyTileWorkList(table, 1, 3, 0, 10, {16, 16}).empty());
  EXPECT_EQ(queryRowsReachingKeyTile({3, 3}, 1, 0, 16, 10, 10).size(), 0);
  EXPECT_EQ(queryRowsReachingKeyTile({0, 1}, -1, 0, 16, 10, 10).size(), 0)
      << "the anti side starts at distance 1";
  EXPECT_EQ(
      countKeyTileWorkItems(int64_t(1) << 40, int64_t(1) << 40, 1 << 20, 16),
      std::numeric_limits<int64_t>::max());
}

} // namespace
