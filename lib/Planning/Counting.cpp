//===- Counting.cpp - Closed-form pair and tile counts --------------------===//
//
// Implementation of spa/Planning/Counting.h (SPEC.md section 2): turning a
// head's intervals into signed-distance pieces (PlanningInternal.h explains
// them and holds the per-tile kernel) and counting pairs and tiles with
// them. docs/band-planning.md derives the closed forms.
//
//===----------------------------------------------------------------------===//

#include "spa/Planning/Counting.h"

#include "PlanningInternal.h"

#include <algorithm>
#include <array>
#include <utility>

namespace spa::plan {
namespace detail {
namespace {

/// sum over integers y <= x of clamp(y, 0, cap). The building block of every
/// closed-form lattice count below.
int64_t prefixClampSum(int64_t x, int64_t cap) {
  if (x <= 0)
    return 0;
  if (x <= cap)
    return x * (x + 1) / 2;
  return cap * (cap + 1) / 2 + (x - cap) * cap;
}

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

//===----------------------------------------------------------------------===//
// Tile counts summed over query tiles, in closed form
//===----------------------------------------------------------------------===//
//
// Every quantity countTilesForRows computes for a full-height query tile t
// (rows p0 = t * tq + s .. p0 + tq - 1, s = Nk - Nq) is, between a few
// thresholds on t, either a constant or floor((tq * t + c) / tk) + add. Sums
// of such floors over a range of t are floor sums, O(log tk) each, so the
// total over all query tiles costs O(#pieces * log tk) however long the
// sequences are (the tile_balanced search evaluates it millions of times).

/// sum_{i=0}^{n-1} floor((a * i + b) / m) for n >= 0, m >= 1, a >= 0 and any
/// b. Euclid-like reduction (as in AtCoder's floor_sum); exact whenever the
/// result fits in int64, as every count here does (unsigned wraparound in
/// the intermediate terms cancels).
int64_t floorSum(int64_t n, int64_t m, int64_t a, int64_t b) {
  if (n <= 0)
    return 0;
  const int64_t shift = floorDiv(b, m); // b = shift * m + b', 0 <= b' < m
  uint64_t ans = static_cast<uint64_t>(shift) * static_cast<uint64_t>(n);
  uint64_t un = static_cast<uint64_t>(n), um = static_cast<uint64_t>(m);
  uint64_t ua = static_cast<uint64_t>(a);
  uint64_t ub = static_cast<uint64_t>(b - shift * m);
  while (true) {
    if (ua >= um) {
      ans += un * (un - 1) / 2 * (ua / um);
      ua %= um;
    }
    if (ub >= um) {
      ans += un * (ub / um);
      ub %= um;
    }
    const uint64_t yMax = ua * un + ub;
    if (yMax < um)
      break;
    un = yMax / um;
    ub = yMax % um;
    std::swap(um, ua);
  }
  return static_cast<int64_t>(ans);
}

/// floor((tq * t + c) / tk) + add, or the constant `add` when !linear.
struct Term {
  bool linear = false;
  int64_t c = 0, add = 0;
};
Term constant(int64_t value) { return {false, 0, value}; }
Term linearFloor(int64_t c, int64_t add = 0) { return {true, c, add}; }

/// Sums of Terms over the query tiles t in [t0, t1] of one problem.
class TermSums {
public:
  TermSums(int64_t tq, int64_t tk) : tq(tq), tk(tk) {}

  /// First t with tq * t + c >= x (x, c any).
  int64_t firstAtLeast(int64_t x, int64_t c) const {
    return ceilDiv(x - c, tq);
  }
  /// Last t with tq * t + c <= x.
  int64_t lastAtMost(int64_t x, int64_t c) const { return floorDiv(x - c, tq); }

  int64_t sum(Term x, int64_t t0, int64_t t1) const {
    if (t0 > t1)
      return 0;
    const int64_t count = t1 - t0 + 1;
    int64_t total = x.add * count;
    if (x.linear)
      total += floorSum(count, tk, tq, tq * t0 + x.c);
    return total;
  }

  /// sum of max(0, x(t) - y(t) + e).
  int64_t sumPositive(Term x, Term y, int64_t e, int64_t t0, int64_t t1) const {
    if (t0 > t1)
      return 0;
    const int64_t count = t1 - t0 + 1;
    if (!x.linear && !y.linear)
      return std::max<int64_t>(0, x.add - y.add + e) * count;
    if (x.linear && !y.linear) {
      // Non-decreasing: positive from floor((tq t + c) / tk) >= m on.
      const int64_t m = -(x.add - y.add + e);
      const int64_t from = std::max(t0, firstAtLeast(m * tk, x.c));
      return sum(linearFloor(x.c, x.add - y.add + e), from, t1);
    }
    if (!x.linear && y.linear) {
      // Non-increasing: positive while floor((tq t + c) / tk) <= m.
      const int64_t m = x.add - y.add + e;
      const int64_t to = std::min(t1, lastAtMost((m + 1) * tk - 1, y.c));
      if (t0 > to)
        return 0;
      return m * (to - t0 + 1) - sum(linearFloor(y.c), t0, to);
    }
    // Both linear: with w = tq t + y.c and x.c - y.c = q tk + r (0 <= r <
    // tk), x(t) - y(t) + e = base + [w mod tk >= tk - r].
    const int64_t q = floorDiv(x.c - y.c, tk), r = x.c - y.c - q * tk;
    const int64_t base = q + x.add - y.add + e;
    if (base < 0) // base + [...] <= 0
      return 0;
    int64_t indicator = 0; // sum of [w mod tk >= tk - r]
    if (r > 0)
      indicator = sum(linearFloor(y.c - (tk - r)), t0, t1) -
                  sum(linearFloor(y.c), t0, t1) + count;
    return base * count + indicator;
  }

private:
  int64_t tq, tk;
};

/// Calls f(a, b) on the pieces of [t0, t1] split at `cuts` (each the first
/// t of a new branch; any order, outside ones ignored).
template <size_t N, typename F>
void forEachSegment(int64_t t0, int64_t t1, std::array<int64_t, N> cuts,
                    F &&f) {
  std::sort(cuts.begin(), cuts.end());
  for (int64_t cut : cuts)
    if (cut > t0 && cut <= t1) {
      f(t0, cut - 1);
      t0 = cut;
    }
  if (t0 <= t1)
    f(t0, t1);
}

/// Full-height query tiles t in [0, numFull): the closed form. Per piece,
/// with p0 = tq t + s and p1 = p0 + tq - 1 (see countTilesForRows):
///   touched range [tileLo, tileHi], tileLo = max(0, p0 - hi) / tk,
///   tileHi = min(Nk - 1, p1 - lo) / tk, present iff p1 - lo >= 0 and
///   p0 - hi <= Nk - 1;
///   full = max(0, fullHi - fullLo + 1), fullLo = max(0, ceil((p1 - hi) /
///   tk)), fullHi = Nk - 1 <= p0 - lo ? #key tiles - 1 :
///   floor((p0 - lo + 1) / tk) - 1 (0 where the piece is absent);
/// and consecutive present pieces share max(0, tileHi_A - tileLo_B + 1)
/// tiles (A the larger distances). Each branch holds on a range of t.
TileCounts sumFullHeightTiles(const Piece *pieces, size_t numPieces,
                              int64_t numFull, int64_t queryLen, int64_t keyLen,
                              TileShape tile) {
  const int64_t tq = tile.q, tk = tile.k, s = keyLen - queryLen;
  const int64_t numKeyTiles = ceilDiv(keyLen, tk);
  const TermSums sums(tq, tk);
  // A piece's row-dependent quantities are tq * t + (one of these).
  struct Offsets {
    int64_t u, v, w, z;             // p0 - hi, p1 - lo, p1 - hi, p0 - lo
    int64_t present0, present1;     // tiles where it touches a key
    int64_t loUnclipped, hiClipped; // first t of tileLo's / tileHi's 2nd form
  };
  auto offsets = [&](const Piece &pc) {
    Offsets o;
    o.u = s - pc.hi;
    o.v = s + tq - 1 - pc.lo;
    o.w = s + tq - 1 - pc.hi;
    o.z = s - pc.lo;
    o.present0 = std::max<int64_t>(0, sums.firstAtLeast(0, o.v));
    o.present1 = std::min(numFull - 1, sums.lastAtMost(keyLen - 1, o.u));
    o.loUnclipped = sums.firstAtLeast(0, o.u);
    o.hiClipped = sums.firstAtLeast(keyLen, o.v);
    return o;
  };
  auto tileLo = [&](const Offsets &o, int64_t t) {
    return t < o.loUnclipped ? constant(0) : linearFloor(o.u);
  };
  auto tileHi = [&](const Offsets &o, int64_t t) {
    return t >= o.hiClipped ? constant(numKeyTiles - 1) : linearFloor(o.v);
  };

  TileCounts counts;
  int64_t touched = 0;
  for (size_t i = 0; i < numPieces; ++i) {
    const Offsets o = offsets(pieces[i]);
    forEachSegment<2>(o.present0, o.present1, {o.loUnclipped, o.hiClipped},
                      [&](int64_t a, int64_t b) {
                        touched += sums.sumPositive(tileHi(o, a), tileLo(o, a),
                                                    1, a, b);
                      });
    const int64_t fullLoPositive = sums.firstAtLeast(1, o.w);
    const int64_t fullHiClipped = sums.firstAtLeast(keyLen - 1, o.z);
    forEachSegment<2>(0, numFull - 1, {fullLoPositive, fullHiClipped},
                      [&](int64_t a, int64_t b) {
                        Term lo = a < fullLoPositive
                                      ? constant(0)
                                      : linearFloor(o.w + tk - 1); // ceil
                        Term hi = a >= fullHiClipped ? constant(numKeyTiles - 1)
                                                     : linearFloor(o.z + 1, -1);
                        counts.full += sums.sumPositive(hi, lo, 1, a, b);
                      });
  }
  // Tiles shared by consecutive pieces: B = pieces[i], A = pieces[i + 1].
  for (size_t i = 0; i + 1 < numPieces; ++i) {
    const Offsets b = offsets(pieces[i]), a = offsets(pieces[i + 1]);
    forEachSegment<2>(
        std::max(a.present0, b.present0), std::min(a.present1, b.present1),
        {b.loUnclipped, a.hiClipped}, [&](int64_t t0, int64_t t1) {
          touched -= sums.sumPositive(tileHi(a, t0), tileLo(b, t0), 1, t0, t1);
        });
  }
  counts.partial = touched - counts.full;
  return counts;
}

} // namespace

TileCounts sumTilesOverQueryTiles(const Piece *pieces, size_t numPieces,
                                  int64_t queryLen, int64_t keyLen,
                                  TileShape tile) {
  // All query tiles but the last have tile.q rows; the last one is clipped.
  const int64_t numQueryTiles = ceilDiv(queryLen, tile.q);
  TileCounts sum = sumFullHeightTiles(pieces, numPieces, numQueryTiles - 1,
                                      queryLen, keyLen, tile);
  int64_t pFirst, pLast;
  queryTileRows(numQueryTiles - 1, queryLen, keyLen, tile.q, pFirst, pLast);
  TileCounts last =
      countTilesForRows(pieces, numPieces, pFirst, pLast, keyLen, tile.k);
  sum.full += last.full;
  sum.partial += last.partial;
  return sum;
}

int64_t countPairsBelow(int64_t b, int64_t queryLen, int64_t keyLen,
                        BandMode mode) {
  b = std::min(b, distanceBound(queryLen, keyLen));
  if (b <= 0 || queryLen <= 0 || keyLen <= 0)
    return 0;
  const Piece piece =
      mode == BandMode::Causal ? Piece{0, b - 1} : Piece{-(b - 1), b - 1};
  return piecePairs(piece, keyLen - queryLen, keyLen - 1, keyLen);
}

std::vector<Piece> makePieces(const HeadBands &bands, BandMode mode,
                              int64_t queryLen, int64_t keyLen) {
  std::vector<Piece> pieces;
  appendPieces(normalizeBands(bands, distanceBound(queryLen, keyLen)), mode,
               pieces);
  return pieces;
}

} // namespace detail

using detail::ceilDiv;
using detail::countTilesForRows;
using detail::makePieces;
using detail::Piece;
using detail::piecePairs;
using detail::queryTileRows;
using detail::validProblem;

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
  return detail::sumTilesOverQueryTiles(pieces.data(), pieces.size(), queryLen,
                                        keyLen, tile);
}

} // namespace spa::plan
