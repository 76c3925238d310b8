//===- ScoreGradTilesTest.cpp - Tests of the stored-dS tile plan ----------===//
//
// Unit tests of spa/Planning/ScoreGradTiles.h against brute force: for every
// interval and side, the aligned tile pairs holding an admissible (row, key)
// pair, found by testing every pair, equal both the pairs the dQ side
// enumerates (keysReachedByRows per query tile) and the pairs the dK/dV
// side enumerates (GradWorkList's queryRowsReachingKeyTile per key tile,
// rounded out to the grid): the two kernels of a stored-dS backward would
// agree on every tile. Also the per-tile slot counts, the compact offsets,
// and the unaligned walk's count, over odd shapes, both modes and Nq != Nk.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

#include "spa/Planning/GradWorkList.h"
#include "spa/Planning/ScoreGradTiles.h"

#include <map>
#include <set>
#include <utility>

using namespace planning_test;

namespace {

using PairSet = std::set<std::pair<int64_t, int64_t>>;

/// Aligned (query tile, key tile) pairs holding an admissible pair.
PairSet brutePairs(Interval iv, int side, int64_t nq, int64_t nk, int64_t t) {
  PairSet pairs;
  for (int64_t i = 0; i < nq; ++i)
    for (int64_t j = 0; j < nk; ++j)
      if (inInterval(iv, side, i + nk - nq, j))
        pairs.insert({i / t, j / t});
  return pairs;
}

PairSet queryTileSide(Interval iv, int side, int64_t nq, int64_t nk,
                      int64_t t) {
  PairSet pairs;
  for (int64_t qt = 0; qt * t < nq; ++qt) {
    KeyRange keys = keysReachedByRows(iv, side, qt * t, t, nq, nk);
    if (keys.size() == 0)
      continue;
    for (int64_t kt = keys.begin / t; kt * t < keys.end; ++kt)
      pairs.insert({qt, kt});
  }
  return pairs;
}

PairSet keyTileSide(Interval iv, int side, int64_t nq, int64_t nk, int64_t t) {
  PairSet pairs;
  for (int64_t kt = 0; kt * t < nk; ++kt) {
    RowRange rows = queryRowsReachingKeyTile(iv, side, kt * t, t, nq, nk);
    if (rows.size() == 0)
      continue;
    for (int64_t qt = rows.begin / t; qt * t < rows.end; ++qt)
      pairs.insert({qt, kt});
  }
  return pairs;
}

struct Shape {
  int64_t nq, nk, tile;
};

const Shape kShapes[] = {{100, 100, 16}, {77, 130, 16}, {130, 77, 32},
                         {1, 1, 16},     {64, 64, 64},  {200, 57, 8}};

const Interval kIntervals[] = {{0, 1}, {0, 5},   {3, 20},  {16, 48},
                               {1, 2}, {40, 41}, {0, 300}, {7, 64}};

TEST(ScoreGradTiles, BothKernelsVisitTheAdmissibleTilePairs) {
  for (const Shape &s : kShapes)
    for (Interval iv : kIntervals)
      for (int side : {1, -1}) {
        SCOPED_TRACE(::testing::Message()
                     << "nq=" << s.nq << " nk=" << s.nk << " t=" << s.tile
                     << " [" << iv.lo << "," << iv.hi << ") side=" << side);
        PairSet expected = brutePairs(iv, side, s.nq, s.nk, s.tile);
        EXPECT_EQ(queryTileSide(iv, side, s.nq, s.nk, s.tile), expected);
        EXPECT_EQ(keyTileSide(iv, side, s.nq, s.nk, s.tile), expected);
      }
}

TEST(ScoreGradTiles, KeysReachedMatchBruteForce) {
  for (const Shape &s : kShapes)
    for (Interval iv : kIntervals)
      for (int side : {1, -1})
        for (int64_t i0 = 0; i0 < s.nq; i0 += s.tile) {
          int64_t begin = s.nk, end = 0;
          for (int64_t i = i0; i < std::min(i0 + s.tile, s.nq); ++i)
            for (int64_t j = 0; j < s.nk; ++j)
              if (inInterval(iv, side, i + s.nk - s.nq, j)) {
                begin = std::min(begin, j);
                end = std::max(end, j + 1);
              }
          KeyRange keys = keysReachedByRows(iv, side, i0, s.tile, s.nq, s.nk);
          SCOPED_TRACE(::testing::Message() << "i0=" << i0 << " [" << iv.lo
                                            << "," << iv.hi << ") " << side);
          ASSERT_EQ(keys.size(), end > begin ? end - begin : 0);
          if (end > begin) {
            EXPECT_EQ(keys.begin, begin);
            EXPECT_EQ(keys.end, end);
          }
        }
}

/// A multi-row item (the dq_stored kernel's 128 rows, stored-dq-rows, and
/// the forward ring's two warpgroups) walks the aligned key tiles its whole
/// row span reaches, and each warpgroup computes those its own `t` rows
/// reach. The walk must hold every tile a warpgroup needs (else a pair
/// would be dropped); it is also tight (every tile it holds is some
/// warpgroup's: no K tile is loaded for nothing) and contiguous. (The
/// forward ring steps its tiles from the range's first key instead of a
/// multiple of t; the covering holds the same way, by the keys' ranges.)
TEST(ScoreGradTiles, ItemSpanCoversItsWarpgroupsTiles) {
  for (const Shape &s : kShapes)
    for (Interval iv : kIntervals)
      for (int side : {1, -1})
        for (int64_t groups : {2, 3})
          for (int64_t i0 = 0; i0 < s.nq; i0 += groups * s.tile) {
            SCOPED_TRACE(::testing::Message()
                         << "nq=" << s.nq << " nk=" << s.nk << " t=" << s.tile
                         << " [" << iv.lo << "," << iv.hi << ") side=" << side
                         << " i0=" << i0 << " groups=" << groups);
            auto alignedTiles = [&](KeyRange keys) {
              std::set<int64_t> tiles;
              if (keys.size() > 0)
                for (int64_t kt = keys.begin / s.tile; kt * s.tile < keys.end;
                     ++kt)
                  tiles.insert(kt);
              return tiles;
            };
            std::set<int64_t> walked = alignedTiles(keysReachedByRows(
                iv, side, i0, groups * s.tile, s.nq, s.nk));
            std::set<int64_t> needed;
            for (int64_t g = 0; g < groups; ++g)
              for (int64_t kt : alignedTiles(keysReachedByRows(
                       iv, side, i0 + g * s.tile, s.tile, s.nq, s.nk)))
                needed.insert(kt);
            EXPECT_EQ(walked, needed);
            // The walk is one contiguous range of tiles.
            if (!walked.empty()) {
              EXPECT_EQ(*walked.rbegin() - *walked.begin() + 1,
                        int64_t(walked.size()));
            }
          }
}

TEST(ScoreGradTiles, OffsetsCountEveryHeadIntervalAndSide) {
  for (BandMode mode : {BandMode::Causal, BandMode::Bidirectional})
    for (const Shape &s : kShapes) {
      BandTable table;
      table.mode = mode;
      table.heads = {{{0, 5}, {16, 48}}, {{3, 20}}, {{0, 300}}, {{40, 41}}};
      ScoreGradTiles plan = planScoreGradTiles(table, s.nq, s.nk, s.tile);
      const int64_t qTiles = (s.nq + s.tile - 1) / s.tile;
      ASSERT_EQ(plan.queryTiles, qTiles);
      ASSERT_EQ(plan.offsets.size(), size_t(table.numHeads() * qTiles + 1));
      int64_t total = 0, maxSlots = 0, unaligned = 0;
      for (int64_t h = 0; h < table.numHeads(); ++h)
        for (int64_t qt = 0; qt < qTiles; ++qt) {
          EXPECT_EQ(plan.offsets[h * qTiles + qt], total);
          int64_t slots = 0;
          for (Interval iv : table.heads[h])
            for (int side : {1, -1}) {
              if (side < 0 && mode == BandMode::Causal)
                continue;
              PairSet pairs = brutePairs(iv, side, s.nq, s.nk, s.tile);
              for (auto [q, k] : pairs)
                slots += q == qt;
              KeyRange keys =
                  keysReachedByRows(iv, side, qt * s.tile, s.tile, s.nq, s.nk);
              unaligned += (keys.size() + s.tile - 1) / s.tile;
            }
          total += slots;
          maxSlots = std::max(maxSlots, slots);
        }
      EXPECT_EQ(plan.tiles(), total);
      EXPECT_EQ(plan.maxSlots, maxSlots);
      EXPECT_EQ(plan.unalignedPairs, unaligned);
      EXPECT_EQ(plan.scratchBytes(3, 2), 3 * total * s.tile * s.tile * 2);
    }
}

/// The compact layout's slot bases, as both kernels use them: every
/// admissible aligned pair (by brute force) of head h, query tile qt and key
/// tile kt through (slot, side) is scratch slot base(h, qt, slot, side) +
/// kt; the slots are distinct and fill exactly [0, tiles()), and walking a
/// query tile's ranges in order (the dQ kernel's walk) visits its slots
/// consecutively from planScoreGradTiles' offset. Padded slots take no
/// room.
TEST(ScoreGradTiles, SlotBasesAddressEveryPairOnce) {
  for (BandMode mode : {BandMode::Causal, BandMode::Bidirectional})
    for (const Shape &s : kShapes) {
      SCOPED_TRACE(::testing::Message()
                   << "nq=" << s.nq << " nk=" << s.nk << " t=" << s.tile
                   << " mode=" << int(mode));
      BandTable table;
      table.mode = mode;
      table.heads = {{{0, 5}, {16, 48}}, {{3, 20}}, {{0, 300}}, {{40, 41}}};
      const int64_t slots = 3, sides = mode == BandMode::Causal ? 1 : 2;
      ScoreGradTiles plan = planScoreGradTiles(table, s.nq, s.nk, s.tile);
      ScoreGradSlotBases layout =
          scoreGradSlotBases(table, s.nq, s.nk, s.tile, slots);
      const std::vector<int64_t> &bases = layout.bases;
      EXPECT_EQ(layout.tiles, plan.tiles());
      const int64_t qTiles = plan.queryTiles;
      ASSERT_EQ(bases.size(),
                size_t(table.numHeads() * qTiles * slots * sides));
      std::set<int64_t> used;
      int64_t pairs = 0;
      for (int64_t h = 0; h < table.numHeads(); ++h)
        for (int64_t qt = 0; qt < qTiles; ++qt) {
          // The dQ walk: ranges in order, key tiles rising in each.
          int64_t expected = plan.offsets[h * qTiles + qt];
          for (int64_t slot = 0; slot < int64_t(table.heads[h].size());
               ++slot)
            for (int side : {1, -1}) {
              if (side < 0 && mode == BandMode::Causal)
                continue;
              Interval iv = table.heads[h][slot];
              int64_t base = bases[((h * qTiles + qt) * slots + slot) * sides +
                                   (side < 0)];
              for (auto [q, kt] : brutePairs(iv, side, s.nq, s.nk, s.tile)) {
                if (q != qt)
                  continue;
                int64_t slotIndex = base + kt;
                EXPECT_EQ(slotIndex, expected++) << "h " << h << " kt " << kt;
                EXPECT_TRUE(used.insert(slotIndex).second)
                    << "slot " << slotIndex;
                ++pairs;
              }
            }
          EXPECT_EQ(expected, plan.offsets[h * qTiles + qt + 1]);
        }
      EXPECT_EQ(pairs, plan.tiles());
      if (!used.empty()) {
        EXPECT_EQ(*used.begin(), 0);
        EXPECT_EQ(*used.rbegin(), plan.tiles() - 1);
      }
    }
  // More intervals a head than slots: no table.
  BandTable table;
  table.heads = {{{0, 2}, {4, 6}}};
  EXPECT_TRUE(scoreGradSlotBases(table, 10, 10, 4, 1).bases.empty());
  EXPECT_FALSE(scoreGradSlotBases(table, 10, 10, 4, 2).bases.empty());
}

/// The padded stored-dS layout's Q: the most query tiles holding an
/// admissible pair with one key tile through one interval and side, by
/// brute force over every pair.
TEST(ScoreGradTiles, QueryTilesPerKeyTileMatchBruteForce) {
  for (BandMode mode : {BandMode::Causal, BandMode::Bidirectional})
    for (const Shape &s : kShapes) {
      BandTable table;
      table.mode = mode;
      table.heads = {{{0, 5}, {16, 48}}, {{3, 20}}, {{0, 300}}, {{40, 41}}};
      int64_t most = 0;
      for (const HeadBands &head : table.heads)
        for (Interval iv : head)
          for (int side : {1, -1}) {
            if (side < 0 && mode == BandMode::Causal)
              continue;
            std::map<int64_t, int64_t> perKeyTile;
            for (auto [q, k] : brutePairs(iv, side, s.nq, s.nk, s.tile))
              most = std::max(most, ++perKeyTile[k]);
          }
      EXPECT_EQ(maxQueryTilesPerKeyTile(table, s.nq, s.nk, s.tile), most)
          << s.nq << " x " << s.nk << " tile " << s.tile;
    }
  BandTable table;
  table.heads = {{{0, 4}}};
  EXPECT_EQ(maxQueryTilesPerKeyTile(table, 0, 10, 16), 0);
  EXPECT_EQ(maxQueryTilesPerKeyTile(table, 10, 10, 0), 0);
  // An exclusive_equal head of 512 distances at N = 8192, 64-row tiles:
  // rows j + 512 .. j + 63 + 1023 of key tile j, nine aligned tiles.
  table.heads = {{{512, 1024}}};
  EXPECT_EQ(maxQueryTilesPerKeyTile(table, 8192, 8192, 64), 9);
}

TEST(ScoreGradTiles, DegenerateInputs) {
  BandTable table;
  table.heads = {{{0, 4}}};
  EXPECT_EQ(planScoreGradTiles(table, 0, 10, 16).tiles(), 0);
  EXPECT_EQ(planScoreGradTiles(table, 10, 10, 0).tiles(), 0);
  EXPECT_EQ(planScoreGradTiles(BandTable{}, 10, 10, 16).tiles(), 0);
  // More query tiles than the dQ work list may hold: empty, at once.
  BandTable many;
  many.heads.assign(1024, HeadBands{{0, 4}});
  ScoreGradTiles tooMany =
      planScoreGradTiles(many, int64_t(1) << 31, int64_t(1) << 31, 16);
  EXPECT_EQ(tooMany.tiles(), 0);
  EXPECT_TRUE(tooMany.offsets.empty());
  EXPECT_EQ(keysReachedByRows({5, 5}, 1, 0, 16, 10, 10).size(), 0);
  EXPECT_EQ(keysReachedByRows({0, 1}, -1, 0, 16, 10, 10).size(), 0);
  EXPECT_EQ(keysReachedByRows({0, 4}, 1, 20, 16, 10, 10).size(), 0);
  // Rows below 0 do not exist: rows [-8, 8) reach what rows [0, 8) reach.
  KeyRange clipped = keysReachedByRows({2, 6}, 1, -8, 16, 10, 10);
  KeyRange rows0to8 = keysReachedByRows({2, 6}, 1, 0, 8, 10, 10);
  EXPECT_EQ(clipped.begin, rows0to8.begin);
  EXPECT_EQ(clipped.end, rows0to8.end);
}

} // namespace
