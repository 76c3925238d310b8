//===- KeyTileGeometry.h - which query rows reach a key tile ----*- C++ -*-===//
//
// The mirror image of BandGeometry.h for the backward's dK/dV pass: for a
// tile of keys [firstKey, lastKey] (existing keys only) and one head
// interval [lo, hi) on one side, the query rows that reach some key of the
// tile. Causal side: key j is reached from positions p in [j + lo, j + hi);
// anti side (lo already raised to 1 by BandGeometry::sideLowerBound): from
// p in [j - hi + 1, j - lo]; row i = p - (Nk - Nq), clipped to [0, Nq).
// The same formula, MLIR-free, is spa::plan::queryRowsReachingKeyTile
// (gtested against brute force).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_CONVERSION_UTILS_KEYTILEGEOMETRY_H
#define SPA_CONVERSION_UTILS_KEYTILEGEOMETRY_H

#include "spa/Conversion/Utils/IndexArith.h"

#include <utility>

namespace mlir::spa {

struct KeyTileGeometry {
  IndexArith &e;
  Value firstKey, lastKey; ///< the tile's existing keys
  int64_t queryLen, keyLen;
  /// Lengths known at run time (the CPU lowerings): Nq and Nk - Nq as
  /// values, used instead of queryLen and keyLen when set.
  Value dynamicQueryLen = {}, dynamicOffset = {};

  /// Query rows [begin, end) reaching the tile through [lo, hi) on `side`;
  /// an empty interval reaches nothing (a zero trip count).
  std::pair<Value, Value> queryRange(Value lo, Value hi, int side) {
    Value offset = dynamicOffset ? dynamicOffset : e.index(keyLen - queryLen);
    Value one = e.index(1);
    Value pFirst, pLast;
    if (side > 0) {
      pFirst = e.add(firstKey, lo);
      pLast = e.sub(e.add(lastKey, hi), one);
    } else {
      pFirst = e.add(e.sub(firstKey, hi), one);
      pLast = e.sub(lastKey, lo);
    }
    Value begin = e.max(e.index(0), e.sub(pFirst, offset));
    Value end = e.min(dynamicQueryLen ? dynamicQueryLen : e.index(queryLen),
                      e.add(e.sub(pLast, offset), one));
    end = e.max(begin, end);
    Value nonEmpty = e.cmp(arith::CmpIPredicate::slt, lo, hi);
    return {begin, e.select(nonEmpty, end, begin)};
  }
};

} // namespace mlir::spa

#endif // SPA_CONVERSION_UTILS_KEYTILEGEOMETRY_H
