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

} // namespace

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

} // namespace spa::plan
