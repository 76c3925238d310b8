//===- BandPlan.cpp - Head-to-band planning and cost model ----------------===//
//
// Implementation of spa/Planning/BandPlan.h: the band tables of every policy
// in SPEC.md section 1, closed-form pair counting (SPEC.md section 2), the
// tile-level cost model used by the kernel planner, and the balancing
// policies (pair_balanced, tile_balanced). docs/band-planning.md explains the
// formulas, the algorithms and the proofs in prose.
//
// Everything here is plain C++17 with no allocation in the hot loops of the
// tile_balanced search, because the compiler passes call it at compile time
// for every attention op and Python calls it for every benchmark shape.
//
//===----------------------------------------------------------------------===//

#include "spa/Planning/BandPlan.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <utility>

namespace spa::plan {
namespace {

//===----------------------------------------------------------------------===//
// Small integer helpers
//===----------------------------------------------------------------------===//

/// floor(a / b) for b > 0 (C++ division truncates toward zero).
int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && (a < 0))
    --q;
  return q;
}

/// ceil(a / b) for b > 0.
int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

/// sum over integers y <= x of clamp(y, 0, cap). The building block of every
/// closed-form lattice count below.
int64_t prefixClampSum(int64_t x, int64_t cap) {
  if (x <= 0)
    return 0;
  if (x <= cap)
    return x * (x + 1) / 2;
  return cap * (cap + 1) / 2 + (x - cap) * cap;
}

//===----------------------------------------------------------------------===//
// Geometry: signed-distance pieces
//===----------------------------------------------------------------------===//
//
// Both modes reduce to the same primitive: a *piece* is an inclusive range
// [lo, hi] of the signed distance s = p - j. A causal interval [lo, hi) is the
// piece [lo, hi - 1]; a bidirectional interval is the two pieces [lo, hi - 1]
// and [-(hi - 1), -lo] (one piece [-(hi - 1), hi - 1] when lo == 0). Pieces of
// a normalized head are sorted, disjoint and separated by at least one
// missing signed distance, which is what makes tile classification exact with
// one piece at a time (see countTilesForRows).

struct Piece {
  int64_t lo; // inclusive
  int64_t hi; // inclusive
};

/// Exclusive upper bound on the distances that exist for an Nq x Nk problem
/// in either mode (|p - j| <= max(Nq, Nk) - 1). Clipping to it keeps every
/// intermediate product in range even for absurd user intervals.
int64_t distanceBound(int64_t queryLen, int64_t keyLen) {
  return std::max(queryLen, keyLen);
}

/// Appends the pieces of an already normalized head, sorted by signed
/// distance.
void appendPieces(const HeadBands &normalized, BandMode mode,
                  std::vector<Piece> &out) {
  out.clear();
  if (mode == BandMode::Causal) {
    for (const Interval &iv : normalized)
      out.push_back({iv.lo, iv.hi - 1});
    return;
  }
  // Negative side (j > p), most negative first.
  for (auto it = normalized.rbegin(); it != normalized.rend(); ++it)
    if (it->lo > 0)
      out.push_back({-(it->hi - 1), -it->lo});
  for (const Interval &iv : normalized) {
    if (iv.lo == 0)
      out.push_back({-(iv.hi - 1), iv.hi - 1}); // d = 0 counted once
    else
      out.push_back({iv.lo, iv.hi - 1});
  }
}

std::vector<Piece> makePieces(const HeadBands &bands, BandMode mode,
                              int64_t queryLen, int64_t keyLen) {
  std::vector<Piece> pieces;
  appendPieces(normalizeBands(bands, distanceBound(queryLen, keyLen)), mode,
               pieces);
  return pieces;
}

/// |{(p, j) : p in [pFirst, pLast], j in [0, keyLen), p - j <= t}|.
/// For a fixed p the admissible j are [max(0, p - t), keyLen), i.e.
/// clamp(keyLen - p + t, 0, keyLen) of them; summing a clamp of a linear
/// function is a difference of prefixClampSum.
int64_t countSignedAtMost(int64_t t, int64_t pFirst, int64_t pLast,
                          int64_t keyLen) {
  return prefixClampSum(keyLen + t - pFirst, keyLen) -
         prefixClampSum(keyLen + t - pLast - 1, keyLen);
}

int64_t piecePairs(const Piece &pc, int64_t pFirst, int64_t pLast,
                   int64_t keyLen) {
  return countSignedAtMost(pc.hi, pFirst, pLast, keyLen) -
         countSignedAtMost(pc.lo - 1, pFirst, pLast, keyLen);
}

/// Tile counts of the query rows with absolute positions [pFirst, pLast]
/// against all key tiles, for sorted disjoint pieces.
///
/// Touched: piece k reaches exactly the key columns
/// [pFirst - hi_k, pLast - lo_k] intersected with [0, keyLen) (every row's
/// range is non-empty and shifts by one per row, so the union is
/// contiguous); a key tile is touched iff it meets one of these ranges.
///
/// Full: a tile [c0, c1] is full for piece k iff c0 >= pLast - hi_k and
/// c1 <= pFirst - lo_k (the extreme rows decide). A tile cannot be full by a
/// *union* of several pieces: in each row the tile's signed distances form a
/// contiguous window, consecutive rows' windows overlap or touch, and the
/// pieces are separated by missing distances, so all windows lie in a single
/// piece. Hence full tiles of different pieces are disjoint and are not
/// touched by any other piece, and partial = touched - sum of full.
TileCounts countTilesForRows(const Piece *pieces, size_t numPieces,
                             int64_t pFirst, int64_t pLast, int64_t keyLen,
                             int64_t tileK) {
  TileCounts counts;
  const int64_t numKeyTiles = ceilDiv(keyLen, tileK);
  int64_t touched = 0;
  int64_t runLo = 0, runHi = -1; // current merged run of touched key tiles
  // Descending signed distance = ascending key columns, so the per-piece
  // tile ranges arrive sorted by their start and merge in one pass.
  for (size_t idx = numPieces; idx-- > 0;) {
    const Piece &pc = pieces[idx];
    int64_t colLo = std::max<int64_t>(0, pFirst - pc.hi);
    int64_t colHi = std::min(keyLen - 1, pLast - pc.lo);
    if (colLo > colHi)
      continue;
    int64_t tileLo = colLo / tileK, tileHi = colHi / tileK;
    if (tileLo > runHi) {
      touched += runHi - runLo + 1;
      runLo = tileLo;
      runHi = tileHi;
    } else {
      runHi = std::max(runHi, tileHi);
    }
    int64_t fullLo = std::max<int64_t>(0, ceilDiv(pLast - pc.hi, tileK));
    // Tile u ends at min((u + 1) * tileK, keyLen) - 1; the clipped last tile
    // is full as soon as keyLen - 1 <= pFirst - lo.
    int64_t fullHi = (keyLen - 1 <= pFirst - pc.lo)
                         ? numKeyTiles - 1
                         : floorDiv(pFirst - pc.lo + 1, tileK) - 1;
    if (fullHi >= fullLo)
      counts.full += fullHi - fullLo + 1;
  }
  touched += runHi - runLo + 1;
  counts.partial = touched - counts.full;
  return counts;
}

/// Row range of query tile `queryTile`, as absolute positions. False when the
/// tile does not exist.
bool queryTileRows(int64_t queryTile, int64_t queryLen, int64_t keyLen,
                   int64_t tileQ, int64_t &pFirst, int64_t &pLast) {
  if (queryTile < 0 || tileQ <= 0 || queryTile >= ceilDiv(queryLen, tileQ))
    return false;
  int64_t r0 = queryTile * tileQ;
  int64_t r1 = std::min(r0 + tileQ, queryLen);
  pFirst = r0 + keyLen - queryLen;
  pLast = r1 - 1 + keyLen - queryLen;
  return true;
}

bool validProblem(int64_t queryLen, int64_t keyLen, TileShape tile) {
  return queryLen > 0 && keyLen > 0 && tile.q > 0 && tile.k > 0;
}

double itemCost(TileCounts tc, const CostWeights &w) {
  return w.workItem + static_cast<double>(tc.full) * w.fullTile +
         static_cast<double>(tc.partial) * (w.fullTile + w.partialTileExtra);
}

//===----------------------------------------------------------------------===//
// Exclusive-band helpers shared by the balancing policies
//===----------------------------------------------------------------------===//

/// Turns boundaries 0 = b_0 <= b_1 <= ... <= b_H = N into one band per head
/// (an empty set where b_h == b_{h+1}).
std::vector<HeadBands> bandsFromBoundaries(const std::vector<int64_t> &bnd) {
  std::vector<HeadBands> heads(bnd.size() - 1);
  for (size_t h = 0; h + 1 < bnd.size(); ++h)
    if (bnd[h] < bnd[h + 1])
      heads[h].push_back({bnd[h], bnd[h + 1]});
  return heads;
}

/// Makes boundaries strictly increasing (each head gets >= 1 distance) while
/// keeping b_0 = 0 and b_H = N. Requires N >= H. A forward pass lifts, a
/// backward pass caps; afterwards h <= b_h <= N - (H - h).
void forceStrictlyIncreasing(std::vector<int64_t> &bnd) {
  const size_t numHeads = bnd.size() - 1;
  for (size_t h = 1; h < numHeads; ++h)
    bnd[h] = std::max(bnd[h], bnd[h - 1] + 1);
  for (size_t h = numHeads - 1; h >= 1; --h)
    bnd[h] = std::min(bnd[h], bnd[h + 1] - 1);
}

/// Cost of the single band [a, b) on the tile grid: the objective that
/// tile_balanced equalises. O(#query tiles), no allocation.
class BandCostModel {
public:
  BandCostModel(int64_t nq, int64_t nk, BandMode m, TileShape ts,
                CostWeights w)
      : queryLen(nq), keyLen(nk), mode(m), tile(ts), weights(w),
        numQueryTiles(ceilDiv(nq, ts.q)) {}

  double cost(int64_t a, int64_t b) const {
    Piece pieces[2];
    size_t n = 0;
    if (a < b) {
      if (mode == BandMode::Causal) {
        pieces[n++] = {a, b - 1};
      } else if (a == 0) {
        pieces[n++] = {-(b - 1), b - 1};
      } else {
        pieces[n++] = {-(b - 1), -a};
        pieces[n++] = {a, b - 1};
      }
    }
    // Causal: query tiles whose last row precedes distance a see no key of
    // the band and cost exactly one work item each; skip them in O(1).
    int64_t firstTile = 0;
    if (mode == BandMode::Causal) {
      // pLast(t) = (t + 1) * tile.q - 1 + keyLen - queryLen for all but the
      // last tile, whose pLast = keyLen - 1 >= a always.
      firstTile = std::clamp<int64_t>(
          ceilDiv(a - (keyLen - queryLen) + 1, tile.q) - 1, 0,
          numQueryTiles - 1);
    }
    double total = static_cast<double>(firstTile) * weights.workItem;
    for (int64_t t = firstTile; t < numQueryTiles; ++t) {
      int64_t pFirst, pLast;
      queryTileRows(t, queryLen, keyLen, tile.q, pFirst, pLast);
      total += itemCost(
          countTilesForRows(pieces, n, pFirst, pLast, keyLen, tile.k), weights);
    }
    return total;
  }

private:
  int64_t queryLen, keyLen;
  BandMode mode;
  TileShape tile;
  CostWeights weights;
  int64_t numQueryTiles;
};

} // namespace

namespace detail {
std::vector<int64_t> costChangePositions(int64_t queryLen, int64_t keyLen,
                                         BandMode mode, TileShape tile);

/// Positions where the cost of a band may change as one of its ends moves by
/// one distance. Every count in countTilesForRows is a floor or ceil of
/// (row position +- band end) / tile.k, or a clip at a fixed threshold, and
/// the terms separate into ones depending on the start only and ones
/// depending on the end only. So cost(a, b) is constant while neither end
/// crosses one of these positions, and an optimal partition may be assumed
/// to put its boundaries on them (docs/band-planning.md has the derivation;
/// the unit tests check the positions and the result by brute force).
/// Exposed (without a header declaration) for the unit tests only.
std::vector<int64_t> costChangePositions(int64_t queryLen, int64_t keyLen,
                                         BandMode mode, TileShape tile) {
  const int64_t n = keyLen, tk = tile.k;
  std::vector<char> residue(static_cast<size_t>(tk), 0);
  std::vector<char> point(static_cast<size_t>(n) + 1, 0);
  auto markResidue = [&](int64_t x) {
    residue[static_cast<size_t>(((x % tk) + tk) % tk)] = 1;
  };
  auto markPoint = [&](int64_t x) {
    if (x >= 0 && x <= n)
      point[static_cast<size_t>(x)] = 1;
  };
  for (int64_t t = 0, e = ceilDiv(queryLen, tile.q); t < e; ++t) {
    int64_t p0, p1;
    queryTileRows(t, queryLen, keyLen, tile.q, p0, p1);
    // (The start a = p1 + 1, where the band leaves the tile's rows, is
    // already a p1 + 1 residue.)
    markResidue(p0 + 2); // key-tile start of the far end / full-tile end
    markResidue(p1 + 1); // full-tile start / key-tile end of the near end
    if (mode == BandMode::Bidirectional) {
      markResidue(-p0);    // mirrored piece: first touched / last full
      markResidue(1 - p1); // mirrored piece: last touched / first full
      markPoint(n - p0);   // mirrored piece covers the last key / vanishes
    }
  }
  // Start 0 is special: only a band from distance 0 can make the clipped
  // last key tile of a one-row query tile full, and in bidirectional mode it
  // merges the two mirrored pieces.
  markPoint(1);
  std::vector<int64_t> positions;
  for (int64_t x = 0; x <= n; ++x)
    if (x == 0 || x == n || point[static_cast<size_t>(x)] ||
        residue[static_cast<size_t>(x % tk)])
      positions.push_back(x);
  return positions;
}

} // namespace detail

namespace {
using detail::costChangePositions;

/// Min-max partition by dynamic programming over candidate boundaries.
///
/// `cells` are the cost-change positions (sorted, 0 and N included): the
/// cost of [a, b) depends only on the cells holding a and b, also when both
/// lie in the same cell. So an optimal partition can be moved, without
/// changing any band's cost, onto the first `perCell` positions of each cell
/// whenever no cell holds more than `perCell` boundaries; with perCell >= H
/// the search is exact. perCell is the largest value the work budget
/// allows. Objective, lexicographically: smallest maximum band cost, then
/// largest minimum, then most even widths (smallest sum of squares).
/// Returns false when even perCell = 1 is too expensive.
bool tileBalancedByDP(int64_t numHeads, const BandCostModel &model,
                      const std::vector<int64_t> &cells, int64_t numQueryTiles,
                      std::vector<int64_t> &bnd) {
  const size_t heads = static_cast<size_t>(numHeads);
  // About one tile-count evaluation per (pair of candidates, query tile);
  // the cost table is capped at 16 MiB.
  constexpr double kMaxWork = 6e6;
  constexpr size_t kMaxCandidates = 2048;
  auto expand = [&](int64_t perCell) {
    std::vector<int64_t> cand;
    for (size_t c = 0; c + 1 < cells.size(); ++c)
      for (int64_t x = cells[c]; x < cells[c + 1] && x < cells[c] + perCell;
           ++x)
        cand.push_back(x);
    cand.push_back(cells.back());
    return cand;
  };
  auto affordable = [&](size_t k) {
    return k <= kMaxCandidates &&
           0.5 * static_cast<double>(k) * static_cast<double>(k) *
                   static_cast<double>(numQueryTiles) <=
               kMaxWork;
  };
  int64_t perCell = 1;
  if (!affordable(expand(1).size()))
    return false;
  // Largest affordable perCell in [1, H], by doubling then bisection.
  {
    int64_t lo = 1, hi = 1;
    while (hi < numHeads && affordable(expand(std::min(2 * hi, numHeads)).size()))
      lo = hi = std::min(2 * hi, numHeads);
    hi = std::min(2 * hi, numHeads);
    while (lo < hi) {
      int64_t mid = lo + (hi - lo + 1) / 2;
      if (affordable(expand(mid).size()))
        lo = mid;
      else
        hi = mid - 1;
    }
    perCell = lo;
  }
  const std::vector<int64_t> cand = expand(perCell);
  const size_t k = cand.size();
  if (k < heads + 1)
    return false;

  // Upper triangle of cost(cand[i], cand[j]), i < j, row by row.
  std::vector<double> cost(k * (k - 1) / 2, 0.0);
  auto at = [k](size_t i, size_t j) {
    return i * (2 * k - i - 1) / 2 + (j - i - 1);
  };
  for (size_t i = 0; i < k; ++i)
    for (size_t j = i + 1; j < k; ++j)
      cost[at(i, j)] = model.cost(cand[i], cand[j]);

  const double inf = std::numeric_limits<double>::infinity();
  const double eps = 1e-9;
  std::vector<double> prev(k), next(k);
  // Phase 1: the smallest achievable maximum band cost M.
  std::fill(prev.begin(), prev.end(), inf);
  prev[0] = 0.0;
  for (size_t h = 0; h < heads; ++h) {
    std::fill(next.begin(), next.end(), inf);
    for (size_t j = h + 1; j < k; ++j)
      for (size_t i = h; i < j; ++i)
        if (prev[i] < inf)
          next[j] = std::min(next[j], std::max(prev[i], cost[at(i, j)]));
    std::swap(prev, next);
  }
  const double bestMax = prev[k - 1];
  if (!(bestMax < inf))
    return false;
  // Phase 2: the largest achievable minimum m with every band <= M. Without
  // it the search happily gives surplus heads a single distance (on a coarse
  // tile grid that costs as much as a wide band), which is useless as an
  // attention pattern.
  std::fill(prev.begin(), prev.end(), -inf);
  prev[0] = inf;
  for (size_t h = 0; h < heads; ++h) {
    std::fill(next.begin(), next.end(), -inf);
    for (size_t j = h + 1; j < k; ++j)
      for (size_t i = h; i < j; ++i) {
        double c = cost[at(i, j)];
        if (prev[i] > -inf && c <= bestMax + eps)
          next[j] = std::max(next[j], std::min(prev[i], c));
      }
    std::swap(prev, next);
  }
  const double bestMin = prev[k - 1];
  // Phase 3: among partitions with every band cost in [m, M], the most even
  // widths (smallest sum of squared widths). Costs on a coarse tile grid are
  // flat over long stretches of boundary positions, so this is what keeps
  // the bands spread over the distances instead of piling narrow bands where
  // a wide one would cost the same.
  std::vector<std::vector<uint32_t>> parent(heads,
                                            std::vector<uint32_t>(k, 0));
  std::fill(prev.begin(), prev.end(), inf);
  prev[0] = 0.0;
  for (size_t h = 0; h < heads; ++h) {
    std::fill(next.begin(), next.end(), inf);
    for (size_t j = h + 1; j < k; ++j)
      for (size_t i = h; i < j; ++i) {
        double c = cost[at(i, j)];
        double w = static_cast<double>(cand[j] - cand[i]);
        if (prev[i] < inf && c <= bestMax + eps && c >= bestMin - eps &&
            prev[i] + w * w < next[j]) {
          next[j] = prev[i] + w * w;
          parent[h][j] = static_cast<uint32_t>(i);
        }
      }
    std::swap(prev, next);
  }
  if (!(prev[k - 1] < inf))
    return false;
  bnd.assign(heads + 1, 0);
  size_t j = k - 1;
  for (size_t h = heads; h-- > 0;) {
    bnd[h + 1] = cand[j];
    j = parent[h][j];
  }
  bnd[0] = cand[j];
  return true;
}

/// The DP only places boundaries on the first positions of each cell, but
/// any position in the same cell gives every band the same cost. This moves
/// boundaries within their cells towards the midpoint of their neighbours
/// (Gauss-Seidel on the sum of squared widths, which is convex), so that
/// several heads sharing one long cell split it evenly instead of taking a
/// distance or two each. Every move is checked to keep both band costs.
void spreadWithinCells(std::vector<int64_t> &bnd,
                       const std::vector<int64_t> &cells,
                       const BandCostModel &model) {
  const size_t heads = bnd.size() - 1;
  std::vector<int64_t> cellEnd(bnd.size(), 0);
  for (size_t h = 1; h < heads; ++h)
    cellEnd[h] = *std::upper_bound(cells.begin(), cells.end(), bnd[h]);
  std::vector<double> cost(heads);
  for (size_t h = 0; h < heads; ++h)
    cost[h] = model.cost(bnd[h], bnd[h + 1]);
  auto same = [](double x, double y) {
    return std::abs(x - y) <= 1e-9 * std::max(1.0, std::abs(y));
  };
  for (size_t pass = 0; pass < 8 * heads; ++pass) {
    bool changed = false;
    for (size_t h = 1; h < heads; ++h) {
      int64_t cellStart = *(std::upper_bound(cells.begin(), cells.end(),
                                             bnd[h]) -
                            1);
      int64_t lo = std::max(cellStart, bnd[h - 1] + 1);
      int64_t hi = std::min(cellEnd[h] - 1, bnd[h + 1] - 1);
      int64_t target =
          std::clamp<int64_t>((bnd[h - 1] + bnd[h + 1]) / 2, lo, hi);
      if (target == bnd[h])
        continue;
      double left = model.cost(bnd[h - 1], target);
      double right = model.cost(target, bnd[h + 1]);
      if (same(left, cost[h - 1]) && same(right, cost[h])) {
        bnd[h] = target;
        changed = true;
      }
    }
    if (!changed)
      break;
  }
}

/// Heuristic for when the exact search is too expensive.
///
/// 1. Bisection on the per-head budget C: a greedy left-to-right sweep gives
///    each band the furthest end b with cost(a, b) <= C (found by binary
///    search; the cost is monotone in b up to small dips when a partial
///    tile turns full, which only makes the sweep slightly conservative).
///    The smallest C whose sweep needs <= H bands is kept.
/// 2. While fewer than H bands exist, the most expensive splittable band is
///    split at its cost-balancing point.
/// 3. A few sweeps of pairwise rebalancing: every boundary is moved to the
///    position (among the crossing point of the two neighbours' costs and
///    one key tile around it, which spans one period of the cost staircase)
///    that minimises the larger of the two neighbouring costs. This repairs
///    what the non-monotone dips cost in step 1.
std::vector<int64_t> tileBalancedHeuristic(int64_t seqLen, int64_t numHeads,
                                           const BandCostModel &model,
                                           int64_t tileK) {
  const int64_t n = seqLen;
  // Furthest end b of a band starting at a with cost(a, b) <= budget, or -1.
  auto furthestEnd = [&](int64_t a, double budget) -> int64_t {
    if (model.cost(a, n) <= budget)
      return n;
    if (model.cost(a, a + 1) > budget)
      return -1;
    int64_t lo = a + 1, hi = n; // cost(lo) <= budget, cost(hi) > budget
    while (hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      if (model.cost(a, mid) <= budget)
        lo = mid;
      else
        hi = mid;
    }
    return lo;
  };
  auto sweep = [&](double budget, std::vector<int64_t> *out) -> bool {
    std::vector<int64_t> bnd{0};
    int64_t a = 0;
    while (a < n) {
      if (static_cast<int64_t>(bnd.size()) > numHeads)
        return false;
      a = furthestEnd(a, budget);
      if (a < 0)
        return false;
      bnd.push_back(a);
    }
    if (static_cast<int64_t>(bnd.size()) - 1 > numHeads)
      return false;
    if (out)
      *out = std::move(bnd);
    return true;
  };

  // The sweep is not exactly monotone in the budget (see above), so the best
  // partition seen is kept rather than re-sweeping at the final budget.
  auto largest = [&](const std::vector<int64_t> &b) {
    double m = 0.0;
    for (size_t k = 0; k + 1 < b.size(); ++k)
      m = std::max(m, model.cost(b[k], b[k + 1]));
    return m;
  };
  double lo = 0.0, hi = model.cost(0, n);
  std::vector<int64_t> bnd{0, n}, trial; // the single band is feasible at hi
  double bndMax = hi;
  for (int iter = 0; iter < 64 && hi - lo > 1e-7 * hi; ++iter) {
    double mid = 0.5 * (lo + hi);
    if (sweep(mid, &trial)) {
      hi = mid;
      double m = largest(trial);
      if (m <= bndMax) {
        bnd = trial;
        bndMax = m;
      }
    } else {
      lo = mid;
    }
  }

  // Balancing split point of [a, e): the b in (a, e) minimising
  // max(cost(a, b), cost(b, e)), searched around the cost crossing.
  auto bestSplit = [&](int64_t a, int64_t e) -> int64_t {
    int64_t first = a + 1, last = e - 1; // first b with left >= right
    while (first < last) {
      int64_t mid = first + (last - first) / 2;
      if (model.cost(a, mid) >= model.cost(mid, e))
        last = mid;
      else
        first = mid + 1;
    }
    int64_t best = first;
    double bestMax = std::max(model.cost(a, first), model.cost(first, e));
    int64_t from = std::max(a + 1, first - tileK);
    int64_t to = std::min(e - 1, first + tileK);
    for (int64_t b = from; b <= to; ++b) {
      double m = std::max(model.cost(a, b), model.cost(b, e));
      if (m < bestMax - 1e-12) {
        bestMax = m;
        best = b;
      }
    }
    return best;
  };

  while (static_cast<int64_t>(bnd.size()) - 1 < numHeads) {
    size_t pick = 0;
    double pickCost = -1.0;
    for (size_t h = 0; h + 1 < bnd.size(); ++h) {
      if (bnd[h + 1] - bnd[h] < 2)
        continue;
      double c = model.cost(bnd[h], bnd[h + 1]);
      if (c > pickCost) {
        pickCost = c;
        pick = h;
      }
    }
    // N >= H guarantees a band of width >= 2 while fewer than H exist.
    int64_t split = bestSplit(bnd[pick], bnd[pick + 1]);
    bnd.insert(bnd.begin() + static_cast<std::ptrdiff_t>(pick) + 1, split);
  }

  for (int pass = 0; pass < 4; ++pass) {
    bool changed = false;
    for (int64_t h = 1; h < numHeads; ++h) {
      int64_t a = bnd[h - 1], e = bnd[h + 1];
      if (e - a < 2)
        continue;
      double current = std::max(model.cost(a, bnd[h]), model.cost(bnd[h], e));
      int64_t cand = bestSplit(a, e);
      double candMax = std::max(model.cost(a, cand), model.cost(cand, e));
      if (candMax < current - 1e-12) {
        bnd[h] = cand;
        changed = true;
      }
    }
    if (!changed)
      break;
  }
  return bnd;
}

/// Boundaries 0 = b_0 < ... < b_H = N of tile_balanced: exact search over the
/// cost-change positions when affordable, else the heuristic.
std::vector<int64_t> tileBalancedBoundaries(int64_t seqLen, int64_t numHeads,
                                            int64_t queryLen, BandMode mode,
                                            TileShape tile,
                                            const CostWeights &weights) {
  BandCostModel model(queryLen, seqLen, mode, tile, weights);
  std::vector<int64_t> bnd;
  std::vector<int64_t> cells =
      costChangePositions(queryLen, seqLen, mode, tile);
  if (tileBalancedByDP(numHeads, model, cells, ceilDiv(queryLen, tile.q),
                       bnd)) {
    spreadWithinCells(bnd, cells, model);
    return bnd;
  }
  return tileBalancedHeuristic(seqLen, numHeads, model, tile.k);
}

std::string intervalText(const Interval &iv) {
  return "[" + std::to_string(iv.lo) + ", " + std::to_string(iv.hi) + ")";
}

} // namespace

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

namespace {
struct PolicySpelling {
  PolicyKind kind;
  std::string_view name;
};
constexpr PolicySpelling kPolicySpellings[] = {
    {PolicyKind::ExclusiveEqual, "exclusive_equal"},
    {PolicyKind::LocalPlusBand, "local_plus_band"},
    {PolicyKind::GappedHalf, "gapped_half"},
    {PolicyKind::SlidingWindow, "sliding_window"},
    {PolicyKind::DenseCausal, "dense_causal"},
    {PolicyKind::PairBalanced, "pair_balanced"},
    {PolicyKind::TileBalanced, "tile_balanced"},
    {PolicyKind::Explicit, "explicit"},
};
} // namespace

std::string_view policyKindName(PolicyKind kind) {
  for (const PolicySpelling &s : kPolicySpellings)
    if (s.kind == kind)
      return s.name;
  return "unknown";
}

std::optional<PolicyKind> parsePolicyKind(std::string_view name) {
  for (const PolicySpelling &s : kPolicySpellings)
    if (s.name == name)
      return s.kind;
  return std::nullopt;
}

std::string_view bandModeName(BandMode mode) {
  return mode == BandMode::Causal ? "causal" : "bidirectional";
}

std::optional<BandMode> parseBandMode(std::string_view name) {
  if (name == "causal")
    return BandMode::Causal;
  if (name == "bidirectional")
    return BandMode::Bidirectional;
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Tables
//===----------------------------------------------------------------------===//

PlanResult makeBandTable(PolicyKind kind, int64_t seqLen, int64_t numHeads,
                         BandMode mode, const PolicyOptions &options) {
  auto fail = [](std::string message) {
    PlanResult result;
    result.error = std::move(message);
    return result;
  };
  // Options are checked for every policy so that a bad option is reported
  // where it is written, not only when a policy happens to read it.
  if (seqLen <= 0)
    return fail("seqLen must be positive, got " + std::to_string(seqLen));
  if (numHeads <= 0)
    return fail("numHeads must be positive, got " + std::to_string(numHeads));
  if (options.window < -1)
    return fail("window must be -1 (per-head W_h) or non-negative, got " +
                std::to_string(options.window));
  if (options.tile.q <= 0)
    return fail("tile.q must be positive, got " +
                std::to_string(options.tile.q));
  if (options.tile.k <= 0)
    return fail("tile.k must be positive, got " +
                std::to_string(options.tile.k));
  if (options.queryLen < -1 || options.queryLen == 0)
    return fail("queryLen must be -1 (equal to seqLen) or positive, got " +
                std::to_string(options.queryLen));
  if (kind == PolicyKind::Explicit)
    return fail("policy 'explicit' has no formula: explicit band tables are "
                "supplied by the user, not built by makeBandTable");

  const int64_t n = seqLen, numH = numHeads;
  const int64_t wb = n / numH, rem = n % numH;
  auto width = [&](int64_t h) { return wb + (h < rem ? 1 : 0); };
  auto start = [&](int64_t h) { return h * wb + std::min(h, rem); };
  const int64_t queryLen = options.queryLen == -1 ? n : options.queryLen;

  BandTable table;
  table.mode = mode;
  table.heads.resize(static_cast<size_t>(numH));
  auto exclusiveEqual = [&]() {
    for (int64_t h = 0; h < numH; ++h)
      if (width(h) > 0)
        table.heads[h] = {{start(h), start(h) + width(h)}};
  };

  switch (kind) {
  case PolicyKind::ExclusiveEqual:
    exclusiveEqual();
    break;
  case PolicyKind::LocalPlusBand:
    for (int64_t h = 0; h < numH; ++h)
      table.heads[h] = normalizeBands(
          {{0, width(h) + 1}, {start(h), start(h) + width(h)}}, n);
    break;
  case PolicyKind::GappedHalf:
    for (int64_t h = 0; h < numH; ++h)
      if (width(h) / 2 > 0)
        table.heads[h] = {{start(h), start(h) + width(h) / 2}};
    break;
  case PolicyKind::SlidingWindow:
    for (int64_t h = 0; h < numH; ++h) {
      int64_t w = options.window == -1 ? width(h) : options.window;
      table.heads[h] = {{0, std::min(w, n - 1) + 1}}; // clip to [0, N)
    }
    break;
  case PolicyKind::DenseCausal:
    for (int64_t h = 0; h < numH; ++h)
      table.heads[h] = {{0, n}};
    break;
  case PolicyKind::PairBalanced: {
    if (n < numH) { // not enough distances: same table as exclusive_equal
      exclusiveEqual();
      break;
    }
    // cum(b) = pairs with distance < b, in this mode, for queryLen x N.
    auto cum = [&](int64_t b) {
      return b <= 0 ? 0 : countPairs({{0, b}}, queryLen, n, mode);
    };
    const long double total = static_cast<long double>(cum(n));
    std::vector<int64_t> bnd(static_cast<size_t>(numH) + 1, 0);
    bnd[numH] = n;
    for (int64_t h = 1; h < numH; ++h) {
      // Scaled by H to stay in integers: target h * total / H.
      const long double target = static_cast<long double>(h) * total;
      auto scaled = [&](int64_t b) {
        return static_cast<long double>(cum(b)) * static_cast<long double>(numH);
      };
      int64_t lo = 0, hi = n; // first b with H * cum(b) >= target
      while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (scaled(mid) >= target)
          hi = mid;
        else
          lo = mid + 1;
      }
      int64_t b = lo;
      // Round to nearest: the previous boundary may be closer.
      if (b > 0 && target - scaled(b - 1) < scaled(b) - target)
        b = b - 1;
      bnd[h] = b;
    }
    forceStrictlyIncreasing(bnd);
    table.heads = bandsFromBoundaries(bnd);
    break;
  }
  case PolicyKind::TileBalanced: {
    if (n < numH) {
      exclusiveEqual();
      break;
    }
    std::vector<int64_t> bnd = tileBalancedBoundaries(
        n, numH, queryLen, mode, options.tile, CostWeights{});
    table.heads = bandsFromBoundaries(bnd);
    break;
  }
  case PolicyKind::Explicit:
    break; // rejected above
  }
  PlanResult result;
  result.table = std::move(table);
  return result;
}

std::string validateBandTable(const BandTable &table) {
  if (table.heads.empty())
    return "band table has no heads";
  for (size_t h = 0; h < table.heads.size(); ++h) {
    const HeadBands &bands = table.heads[h];
    const std::string head = "head " + std::to_string(h) + ": ";
    for (size_t k = 0; k < bands.size(); ++k) {
      const std::string which =
          "interval #" + std::to_string(k) + " " + intervalText(bands[k]);
      if (bands[k].lo < 0 || bands[k].hi < 0)
        return head + which + " has a negative bound";
      if (bands[k].lo >= bands[k].hi)
        return head + which + " is empty";
      if (k > 0 && bands[k - 1].hi > bands[k].lo)
        return head + "intervals #" + std::to_string(k - 1) + " " +
               intervalText(bands[k - 1]) + " and #" + std::to_string(k) +
               " " + intervalText(bands[k]) + " overlap or are unsorted";
    }
  }
  return "";
}

HeadBands normalizeBands(HeadBands bands, int64_t maxDistance) {
  HeadBands clipped;
  clipped.reserve(bands.size());
  for (Interval iv : bands) {
    iv.lo = std::max<int64_t>(iv.lo, 0);
    iv.hi = std::min(iv.hi, maxDistance);
    if (iv.lo < iv.hi)
      clipped.push_back(iv);
  }
  std::sort(clipped.begin(), clipped.end(),
            [](const Interval &x, const Interval &y) {
              return x.lo < y.lo || (x.lo == y.lo && x.hi < y.hi);
            });
  HeadBands merged;
  for (const Interval &iv : clipped) {
    if (!merged.empty() && iv.lo <= merged.back().hi) // overlap or touch
      merged.back().hi = std::max(merged.back().hi, iv.hi);
    else
      merged.push_back(iv);
  }
  return merged;
}

//===----------------------------------------------------------------------===//
// Counting
//===----------------------------------------------------------------------===//

int64_t countPairs(const HeadBands &bands, int64_t queryLen, int64_t keyLen,
                   BandMode mode) {
  if (queryLen <= 0 || keyLen <= 0)
    return 0;
  const int64_t pFirst = keyLen - queryLen, pLast = keyLen - 1;
  int64_t total = 0;
  for (const Piece &pc : makePieces(bands, mode, queryLen, keyLen))
    total += piecePairs(pc, pFirst, pLast, keyLen);
  return total;
}

TileCounts countTilesForQueryTile(const HeadBands &bands, int64_t queryTile,
                                  int64_t queryLen, int64_t keyLen,
                                  BandMode mode, TileShape tile) {
  int64_t pFirst, pLast;
  if (!validProblem(queryLen, keyLen, tile) ||
      !queryTileRows(queryTile, queryLen, keyLen, tile.q, pFirst, pLast))
    return {};
  std::vector<Piece> pieces = makePieces(bands, mode, queryLen, keyLen);
  return countTilesForRows(pieces.data(), pieces.size(), pFirst, pLast, keyLen,
                           tile.k);
}

TileCounts countTiles(const HeadBands &bands, int64_t queryLen, int64_t keyLen,
                      BandMode mode, TileShape tile) {
  TileCounts sum;
  if (!validProblem(queryLen, keyLen, tile))
    return sum;
  std::vector<Piece> pieces = makePieces(bands, mode, queryLen, keyLen);
  for (int64_t t = 0, e = ceilDiv(queryLen, tile.q); t < e; ++t) {
    int64_t pFirst, pLast;
    queryTileRows(t, queryLen, keyLen, tile.q, pFirst, pLast);
    TileCounts tc = countTilesForRows(pieces.data(), pieces.size(), pFirst,
                                      pLast, keyLen, tile.k);
    sum.full += tc.full;
    sum.partial += tc.partial;
  }
  return sum;
}

double workItemCost(const HeadBands &bands, int64_t queryTile,
                    int64_t queryLen, int64_t keyLen, BandMode mode,
                    TileShape tile, const CostWeights &weights) {
  int64_t pFirst, pLast;
  if (!validProblem(queryLen, keyLen, tile) ||
      !queryTileRows(queryTile, queryLen, keyLen, tile.q, pFirst, pLast))
    return 0.0; // no such work item
  // An item with no touched tile still launches and writes its zero rows,
  // hence the fixed workItem cost.
  return itemCost(
      countTilesForQueryTile(bands, queryTile, queryLen, keyLen, mode, tile),
      weights);
}

//===----------------------------------------------------------------------===//
// Reports
//===----------------------------------------------------------------------===//

LayerReport analyzeBandTable(const BandTable &table, int64_t queryLen,
                             int64_t keyLen, TileShape tile, int64_t numSMs,
                             const CostWeights &weights) {
  LayerReport report;
  const bool valid = validProblem(queryLen, keyLen, tile);
  const int64_t numQueryTiles = valid ? ceilDiv(queryLen, tile.q) : 0;
  std::vector<double> items;
  items.reserve(static_cast<size_t>(numQueryTiles) * table.heads.size());

  for (const HeadBands &bands : table.heads) {
    HeadReport hr;
    if (valid) {
      hr.pairs = countPairs(bands, queryLen, keyLen, table.mode);
      std::vector<Piece> pieces =
          makePieces(bands, table.mode, queryLen, keyLen);
      for (int64_t t = 0; t < numQueryTiles; ++t) {
        int64_t pFirst, pLast;
        queryTileRows(t, queryLen, keyLen, tile.q, pFirst, pLast);
        TileCounts tc = countTilesForRows(pieces.data(), pieces.size(), pFirst,
                                          pLast, keyLen, tile.k);
        hr.tiles.full += tc.full;
        hr.tiles.partial += tc.partial;
        double c = itemCost(tc, weights);
        hr.cost += c;
        items.push_back(c);
      }
    }
    report.totalPairs += hr.pairs;
    report.heads.push_back(hr);
  }

  for (HeadReport &hr : report.heads)
    hr.share = report.totalPairs > 0 ? static_cast<double>(hr.pairs) /
                                           static_cast<double>(report.totalPairs)
                                     : 0.0;
  if (valid)
    report.denseCausalPairs =
        table.numHeads() *
        countPairs({{0, std::max(queryLen, keyLen) + 1}}, queryLen, keyLen,
                   BandMode::Causal);
  report.fractionOfDense =
      report.denseCausalPairs > 0
          ? static_cast<double>(report.totalPairs) /
                static_cast<double>(report.denseCausalPairs)
          : 0.0;

  double totalCost = 0.0, maxHead = 0.0;
  for (const HeadReport &hr : report.heads) {
    totalCost += hr.cost;
    maxHead = std::max(maxHead, hr.cost);
  }
  if (!report.heads.empty() && totalCost > 0.0)
    report.costSpread =
        maxHead / (totalCost / static_cast<double>(report.heads.size()));

  // Longest processing time first: heaviest item to the least-loaded SM.
  // More SMs than items behave like one SM per item.
  const int64_t sms = std::max<int64_t>(1, numSMs);
  std::sort(items.begin(), items.end(), std::greater<double>());
  const size_t procs =
      static_cast<size_t>(std::min<int64_t>(sms, std::max<int64_t>(
                                                     1, static_cast<int64_t>(
                                                            items.size()))));
  std::priority_queue<double, std::vector<double>, std::greater<double>> loads;
  for (size_t p = 0; p < procs; ++p)
    loads.push(0.0);
  for (double c : items) {
    double least = loads.top();
    loads.pop();
    loads.push(least + c);
  }
  while (!loads.empty()) {
    report.makespan = std::max(report.makespan, loads.top());
    loads.pop();
  }
  report.idealMakespan = totalCost / static_cast<double>(sms);
  report.makespanRatio =
      totalCost > 0.0 ? report.makespan / report.idealMakespan : 1.0;
  return report;
}

std::string formatBandTable(const BandTable &table) {
  std::string out(bandModeName(table.mode));
  for (const HeadBands &bands : table.heads) {
    out += ", [";
    for (size_t k = 0; k < bands.size(); ++k) {
      if (k)
        out += ", ";
      out += std::to_string(bands[k].lo) + ":" + std::to_string(bands[k].hi);
    }
    out += "]";
  }
  return out;
}

} // namespace spa::plan
