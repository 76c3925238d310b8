//===- BandGeometry.h - which keys a query tile reaches ---------*- C++ -*-===//
//
// The geometry both lowerings share: for a tile of query rows at absolute
// positions [firstPos, lastPos] and one head interval [lo, hi) on one side
// (+1: causal distance d = p - j; -1: the anti side d = j - p of the
// bidirectional mode), the key range the rows reach, and whether a key tile
// lies entirely inside the interval (an interior tile, which needs no mask).
// Signed index arithmetic throughout: positions are negative when Nq > Nk.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_CONVERSION_UTILS_BANDGEOMETRY_H
#define SPA_CONVERSION_UTILS_BANDGEOMETRY_H

#include "spa/Conversion/Utils/IndexArith.h"

#include <utility>

namespace mlir::spa {

/// The sides every band walk visits: the causal side (+1), and the anti
/// side (-1) of the bidirectional mode.
inline ArrayRef<int> bandSides(bool bidirectional) {
  static constexpr int kBothSides[] = {1, -1};
  return ArrayRef<int>(kBothSides, bidirectional ? 2 : 1);
}

struct BandGeometry {
  IndexArith &e;
  Value firstPos, lastPos; ///< absolute positions of the tile's rows
  Value keyLen;

  /// The anti side starts at distance 1: distance 0 (j = p) is already
  /// covered by the causal side.
  Value sideLowerBound(Value lo, int side) {
    return side > 0 ? lo : e.max(lo, e.index(1));
  }

  /// The keys [begin, end) the rows reach through [lo, hi) on `side`:
  /// p - hi < j <= p - lo (causal side), p + lo <= j < p + hi (anti side).
  /// An empty interval reaches nothing (a zero trip count).
  std::pair<Value, Value> keyRange(Value lo, Value hi, int side) {
    Value zero = e.index(0), one = e.index(1);
    Value begin, end;
    if (side > 0) {
      begin = e.max(zero, e.add(e.sub(firstPos, hi), one));
      end = e.min(keyLen, e.add(e.sub(lastPos, lo), one));
    } else {
      begin = e.max(zero, e.add(firstPos, lo));
      end = e.min(keyLen, e.add(lastPos, hi));
    }
    Value nonEmpty = e.cmp(arith::CmpIPredicate::slt, lo, hi);
    return {begin, e.select(nonEmpty, end, begin)};
  }

  /// Whether every (row, key) pair of keys [j0, lastKey] has its distance in
  /// [lo, hi) on `side` (the tile needs no mask for the interval).
  Value tileInside(Value j0, Value lastKey, Value lo, Value hi, int side) {
    using P = arith::CmpIPredicate;
    return side > 0 ? e.andi(e.cmp(P::sge, e.sub(firstPos, lastKey), lo),
                             e.cmp(P::slt, e.sub(lastPos, j0), hi))
                    : e.andi(e.cmp(P::sge, e.sub(j0, lastPos), lo),
                             e.cmp(P::slt, e.sub(lastKey, firstPos), hi));
  }
};

} // namespace mlir::spa

#endif // SPA_CONVERSION_UTILS_BANDGEOMETRY_H
