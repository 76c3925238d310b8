//===- PlanningTestSupport.cpp - Oracle and helpers of the planning tests -===//
//
// Definitions for PlanningTestSupport.h; the header documents each one.
//
//===----------------------------------------------------------------------===//

#include "PlanningTestSupport.h"

#include <algorithm>

namespace spa::plan {
void PrintTo(PolicyKind kind, std::ostream *os) { *os << policyKindName(kind); }
} // namespace spa::plan

namespace planning_test {

namespace oracle {

HeadBands runs(const std::vector<char> &member) {
  HeadBands out;
  int64_t n = static_cast<int64_t>(member.size());
  for (int64_t d = 0; d < n;) {
    if (!member[d]) {
      ++d;
      continue;
    }
    int64_t e = d;
    while (e < n && member[e])
      ++e;
    out.push_back({d, e});
    d = e;
  }
  return out;
}

Split split(int64_t n, int64_t h) {
  Split s;
  int64_t wb = n / h, r = n % h, at = 0;
  for (int64_t k = 0; k < h; ++k) {
    s.width.push_back(wb + (k < r ? 1 : 0));
    s.start.push_back(at);
    at += s.width.back();
  }
  return s;
}

std::vector<HeadBands> table(PolicyKind kind, int64_t n, int64_t h,
                             int64_t window) {
  Split s = split(n, h);
  std::vector<HeadBands> heads;
  for (int64_t k = 0; k < h; ++k) {
    std::vector<char> in(static_cast<size_t>(n), 0);
    auto mark = [&](int64_t lo, int64_t hi) {
      for (int64_t d = lo; d < hi; ++d)
        if (d >= 0 && d < n)
          in[d] = 1;
    };
    int64_t w = s.width[k], st = s.start[k];
    switch (kind) {
    case PolicyKind::ExclusiveEqual:
      mark(st, st + w);
      break;
    case PolicyKind::LocalPlusBand:
      mark(0, w + 1);
      mark(st, st + w);
      break;
    case PolicyKind::GappedHalf:
      mark(st, st + w / 2);
      break;
    case PolicyKind::SlidingWindow:
      mark(0, (window == -1 ? w : window) + 1);
      break;
    case PolicyKind::DenseCausal:
      mark(0, n);
      break;
    default:
      ADD_FAILURE() << "oracle has no formula for this policy";
    }
    heads.push_back(runs(in));
  }
  return heads;
}

bool admissible(const HeadBands &bands, int64_t i, int64_t j, int64_t nq,
                int64_t nk, BandMode mode) {
  int64_t d = i + (nk - nq) - j;
  if (mode == BandMode::Causal && d < 0)
    return false;
  if (d < 0)
    d = -d;
  for (const Interval &iv : bands)
    if (iv.lo <= d && d < iv.hi)
      return true;
  return false;
}

Grid grid(const HeadBands &bands, int64_t nq, int64_t nk, BandMode mode) {
  Grid g{nq, nk, std::vector<char>(static_cast<size_t>(nq * nk), 0)};
  for (int64_t i = 0; i < nq; ++i)
    for (int64_t j = 0; j < nk; ++j)
      g.cell[i * nk + j] = admissible(bands, i, j, nq, nk, mode);
  return g;
}

int64_t pairs(const Grid &g) {
  int64_t c = 0;
  for (char x : g.cell)
    c += x;
  return c;
}

std::vector<TileCounts> tiles(const Grid &g, TileShape ts) {
  int64_t nqt = (g.nq + ts.q - 1) / ts.q, nkt = (g.nk + ts.k - 1) / ts.k;
  std::vector<TileCounts> out(static_cast<size_t>(nqt));
  for (int64_t t = 0; t < nqt; ++t)
    for (int64_t u = 0; u < nkt; ++u) {
      int64_t cells = 0, hit = 0;
      for (int64_t i = t * ts.q; i < std::min((t + 1) * ts.q, g.nq); ++i)
        for (int64_t j = u * ts.k; j < std::min((u + 1) * ts.k, g.nk); ++j) {
          ++cells;
          hit += g.at(i, j);
        }
      if (hit == cells)
        ++out[t].full;
      else if (hit > 0)
        ++out[t].partial;
    }
  return out;
}

} // namespace oracle

BandTable plan(PolicyKind kind, int64_t n, int64_t h, BandMode mode,
               PolicyOptions opts) {
  PlanResult r = makeBandTable(kind, n, h, mode, opts);
  EXPECT_TRUE(r) << policyKindName(kind) << " N=" << n << " H=" << h << ": "
                 << r.error;
  return r ? *r.table : BandTable{};
}

std::string where(PolicyKind kind, int64_t n, int64_t h, BandMode mode) {
  return std::string(policyKindName(kind)) + " N=" + std::to_string(n) +
         " H=" + std::to_string(h) + " " + std::string(bandModeName(mode));
}

void expectExclusiveCover(const BandTable &t, int64_t n, int64_t h,
                          const std::string &ctx) {
  ASSERT_EQ(t.numHeads(), h) << ctx;
  EXPECT_EQ(validateBandTable(t), "") << ctx;
  std::vector<int> seen(static_cast<size_t>(n), 0);
  int64_t next = 0, nonEmpty = 0;
  for (int64_t k = 0; k < h; ++k) {
    const HeadBands &b = t.heads[k];
    ASSERT_LE(b.size(), 1u) << ctx << " head " << k;
    if (b.empty())
      continue;
    ++nonEmpty;
    EXPECT_EQ(b[0].lo, next) << ctx << " head " << k << " not contiguous";
    next = b[0].hi;
    for (int64_t d = b[0].lo; d < b[0].hi; ++d) {
      ASSERT_TRUE(d >= 0 && d < n) << ctx;
      ++seen[d];
    }
  }
  EXPECT_EQ(next, n) << ctx;
  for (int64_t d = 0; d < n; ++d) {
    EXPECT_EQ(seen[d], 1) << ctx << " distance " << d;
  }
  // All heads non-empty when N >= H; exactly the first N otherwise.
  EXPECT_EQ(nonEmpty, std::min(n, h)) << ctx;
  for (int64_t k = 0; k < h; ++k) {
    EXPECT_EQ(t.heads[k].empty(), k >= n) << ctx << " head " << k;
  }
}

void expectCountsMatch(const HeadBands &bands, int64_t nq, int64_t nk,
                       BandMode mode, const std::string &ctx) {
  oracle::Grid g = oracle::grid(bands, nq, nk, mode);
  ASSERT_EQ(countPairs(bands, nq, nk, mode), oracle::pairs(g)) << ctx;
  for (TileShape ts : kTileShapes) {
    std::vector<TileCounts> want = oracle::tiles(g, ts);
    TileCounts sum;
    for (size_t t = 0; t < want.size(); ++t) {
      TileCounts got = countTilesForQueryTile(bands, static_cast<int64_t>(t),
                                              nq, nk, mode, ts);
      ASSERT_EQ(got.full, want[t].full)
          << ctx << " tile " << ts.q << "x" << ts.k << " qtile " << t;
      ASSERT_EQ(got.partial, want[t].partial)
          << ctx << " tile " << ts.q << "x" << ts.k << " qtile " << t;
      sum.full += want[t].full;
      sum.partial += want[t].partial;
      CostWeights w;
      double cost = w.workItem + static_cast<double>(want[t].full) * w.fullTile +
                    static_cast<double>(want[t].partial) *
                        (w.fullTile + w.partialTileExtra);
      ASSERT_DOUBLE_EQ(workItemCost(bands, static_cast<int64_t>(t), nq, nk,
                                    mode, ts),
                       cost)
          << ctx;
    }
    TileCounts all = countTiles(bands, nq, nk, mode, ts);
    ASSERT_EQ(all.full, sum.full) << ctx << " tile " << ts.q << "x" << ts.k;
    ASSERT_EQ(all.partial, sum.partial)
        << ctx << " tile " << ts.q << "x" << ts.k;
  }
}

std::vector<int64_t> queryLengths(int64_t n) {
  std::vector<int64_t> out{n};
  if (n > 1)
    out.push_back(std::max<int64_t>(1, n / 3));
  out.push_back(n + 3);
  return out;
}

} // namespace planning_test
