//===- TileBalancing.cpp - The tile_balanced boundary search --------------===//
//
// tile_balanced partitions the distances [0, N) into one contiguous band per
// head so that the largest band cost under the tile cost model is as small
// as possible. This file holds that search: the cost of a single band, the
// positions where that cost can change, an exact dynamic program over them
// when affordable and a bisection heuristic otherwise. docs/band-planning.md
// explains the algorithms and the proofs in prose.
//
// No allocation in the hot loops: the compiler passes run this at compile
// time for every attention op and Python for every benchmark shape.
//
//===----------------------------------------------------------------------===//

#include "PlanningInternal.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>

namespace spa::plan::detail {
namespace {

/// Cost of the single band [a, b) on the tile grid: the objective that
/// tile_balanced equalises. Closed form over the query tiles (O(log tile.k),
/// whatever the lengths), no allocation.
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
    TileCounts tc = sumTilesOverQueryTiles(pieces, n, queryLen, keyLen, tile);
    return static_cast<double>(numQueryTiles) * weights.workItem +
           static_cast<double>(tc.full) * weights.fullTile +
           static_cast<double>(tc.partial) *
               (weights.fullTile + weights.partialTileExtra);
  }

private:
  int64_t queryLen, keyLen;
  BandMode mode;
  TileShape tile;
  CostWeights weights;
  int64_t numQueryTiles;
};

/// Positions where the cost of a band may change as one of its ends moves by
/// one distance. Every count in countTilesForRows is a floor or ceil of
/// (row position +- band end) / tile.k, or a clip at a fixed threshold, and
/// the terms separate into ones depending on the start only and ones
/// depending on the end only. So cost(a, b) is constant while neither end
/// crosses one of these positions, and an optimal partition may be assumed
/// to put its boundaries on them (docs/band-planning.md has the derivation;
/// the unit tests check the positions and the result by brute force).
///
/// They are a few residues mod tile.k plus, bidirectionally, one point per
/// query tile (an arithmetic progression), so the class answers "next
/// position" without listing all O(N) of them.
class ChangePositions {
public:
  ChangePositions(int64_t queryLen, int64_t keyLen, BandMode mode,
                  TileShape tile)
      : n(keyLen), tk(tile.k), tq(tile.q), queryLen(queryLen),
        numTiles(ceilDiv(queryLen, tile.q)),
        bidirectional(mode == BandMode::Bidirectional) {
    std::vector<char> isResidue(static_cast<size_t>(tk), 0);
    auto markResidue = [&](int64_t x) {
      isResidue[static_cast<size_t>(((x % tk) + tk) % tk)] = 1;
    };
    // All query tiles but the last have tile.q rows, so their residues
    // repeat with period tk / gcd(tq, tk) in the tile index: one period and
    // the last tile give every residue.
    const int64_t period = tk / std::gcd(tq, tk);
    auto markTile = [&](int64_t t) {
      int64_t p0, p1;
      queryTileRows(t, queryLen, keyLen, tq, p0, p1);
      // (The start a = p1 + 1, where the band leaves the tile's rows, is
      // already a p1 + 1 residue.)
      markResidue(p0 + 2); // key-tile start of the far end / full-tile end
      markResidue(p1 + 1); // full-tile start / key-tile end of the near end
      if (bidirectional) {
        markResidue(-p0);    // mirrored piece: first touched / last full
        markResidue(1 - p1); // mirrored piece: last touched / first full
      }
    };
    for (int64_t t = 0, e = std::min(numTiles - 1, period); t < e; ++t)
      markTile(t);
    markTile(numTiles - 1);
    for (int64_t r = 0; r < tk; ++r)
      if (isResidue[static_cast<size_t>(r)])
        residues.push_back(r);
    // Bidirectionally the mirrored piece covers the last key / vanishes at
    // N - p0 = Nq - t * tq for every query tile t (those in [0, N]).
    firstPointTile = std::max<int64_t>(0, ceilDiv(queryLen - n, tq));
  }

  /// The smallest position >= x, for 0 <= x <= N. Positions: 0, N, the
  /// residues, the points, and 1 (only a band from distance 0 can make the
  /// clipped last key tile of a one-row query tile full, and
  /// bidirectionally start 0 merges the two mirrored pieces).
  int64_t next(int64_t x) const {
    if (x <= 1)
      return std::min(x, n);
    int64_t best = n;
    const int64_t m = x % tk;
    auto it = std::lower_bound(residues.begin(), residues.end(), m);
    best =
        std::min(best, it != residues.end() ? x + (*it - m)
                                            : x + (residues.front() + tk - m));
    if (bidirectional) {
      // Largest t with Nq - t * tq >= x gives the smallest such point.
      const int64_t t = std::min(numTiles - 1, floorDiv(queryLen - x, tq));
      if (t >= firstPointTile)
        best = std::min(best, queryLen - t * tq);
    }
    return best;
  }

  /// Every position in increasing order (0 and N included), or nullopt when
  /// there are more than `limit`.
  std::optional<std::vector<int64_t>> list(size_t limit) const {
    std::vector<int64_t> positions;
    for (int64_t x = 0;; x = positions.back() + 1) {
      if (positions.size() == limit)
        return std::nullopt;
      positions.push_back(next(x));
      if (positions.back() == n)
        return positions;
    }
  }

private:
  int64_t n, tk, tq, queryLen, numTiles;
  bool bidirectional;
  std::vector<int64_t> residues; // sorted, never empty
  int64_t firstPointTile = 0;
};

} // namespace

std::vector<int64_t> costChangePositions(int64_t queryLen, int64_t keyLen,
                                         BandMode mode, TileShape tile) {
  return *ChangePositions(queryLen, keyLen, mode, tile)
              .list(std::numeric_limits<size_t>::max());
}

namespace {

/// Budget of the exact search: about one tile-count evaluation per (pair of
/// candidates, query tile), and a cost table of at most 16 MiB.
constexpr double kMaxWork = 6e6;
constexpr size_t kMaxCandidates = 2048;

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
  // Every phase runs i (the band's start) in the outer loop: the cost table
  // is stored row by row, and for each j the i still come in increasing
  // order, so ties resolve as in the textbook (j outer) order.
  // rowFrom(i)[j - i - 1] = cost(cand[i], cand[j]).
  auto rowFrom = [&](size_t i) { return cost.data() + at(i, i + 1); };
  for (size_t h = 0; h < heads; ++h) {
    std::fill(next.begin(), next.end(), inf);
    for (size_t i = h; i + 1 < k; ++i) {
      if (!(prev[i] < inf))
        continue;
      const double *row = rowFrom(i);
      for (size_t j = i + 1; j < k; ++j)
        next[j] = std::min(next[j], std::max(prev[i], row[j - i - 1]));
    }
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
    for (size_t i = h; i + 1 < k; ++i) {
      if (!(prev[i] > -inf))
        continue;
      const double *row = rowFrom(i);
      for (size_t j = i + 1; j < k; ++j)
        if (row[j - i - 1] <= bestMax + eps)
          next[j] = std::max(next[j], std::min(prev[i], row[j - i - 1]));
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
    for (size_t i = h; i + 1 < k; ++i) {
      if (!(prev[i] < inf))
        continue;
      const double *row = rowFrom(i);
      for (size_t j = i + 1; j < k; ++j) {
        double c = row[j - i - 1];
        double w = static_cast<double>(cand[j] - cand[i]);
        if (c <= bestMax + eps && c >= bestMin - eps &&
            prev[i] + w * w < next[j]) {
          next[j] = prev[i] + w * w;
          parent[h][j] = static_cast<uint32_t>(i);
        }
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
                                           const ChangePositions &positions,
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
    // Both costs are constant between change positions, so after `from`
    // only the first b of each cell can improve on what was seen.
    for (int64_t b = from; b <= to; b = positions.next(b + 1)) {
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

} // namespace

/// Boundaries 0 = b_0 < ... < b_H = N of tile_balanced: exact search over the
/// cost-change positions when affordable, else the heuristic.
std::vector<int64_t> tileBalancedBoundaries(int64_t seqLen, int64_t numHeads,
                                            int64_t queryLen, BandMode mode,
                                            TileShape tile,
                                            const CostWeights &weights) {
  BandCostModel model(queryLen, seqLen, mode, tile, weights);
  std::vector<int64_t> bnd;
  // The exact search takes at most kMaxCandidates positions: listing more
  // would only cost time (and O(N) memory at long lengths).
  ChangePositions positions(queryLen, seqLen, mode, tile);
  std::optional<std::vector<int64_t>> cells = positions.list(kMaxCandidates);
  if (cells && tileBalancedByDP(numHeads, model, *cells,
                                ceilDiv(queryLen, tile.q), bnd)) {
    spreadWithinCells(bnd, *cells, model);
    return bnd;
  }
  return tileBalancedHeuristic(seqLen, numHeads, model, positions, tile.k);
}

} // namespace spa::plan::detail
