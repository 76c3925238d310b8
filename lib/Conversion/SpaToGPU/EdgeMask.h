//===- EdgeMask.h - which columns of a row an edge tile admits -*- C++ -*-===//
//
// On a band-edge tile every accumulator element needs the test "is this
// (query, key) pair's distance in [lo, hi) on the side, and do both exist".
// Written per element it is a dozen 64-bit index operations (two SASS
// instructions each); Nsight Compute put such integer work at a quarter of
// the dK/dV kernel's samples at local_plus_band (docs/benchmarks.md, "Where
// the kernels wait"). For one accumulator row the admitted columns are one
// interval, so it is formed once per row (the lane's two rows g, g + 8) as
// i32 bounds relative to the lane's first column; each element then
// compares its constant column offset (8 t + i) with them: two 32-bit
// compares. Used where a row is a query and the columns keys (the
// forward's softmax, the dQ kernel) and where a row is a key and the
// columns queries (the dK/dV kernels where BackwardConfig::keyRowMasks
// says so: the classic kernel at 255 registers keeps the per-element test
// for one-interval heads, where the held bounds cost more in spills than
// they save).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_EDGEMASK_H
#define SPA_LIB_CONVERSION_SPATOGPU_EDGEMASK_H

#include "KernelContext.h"

namespace mlir::spa::gpu_kernel {

/// Columns [begin, end) of a row, relative to the lane's first column, as
/// i32 values clamped to [0, width].
struct RowColumns {
  Value begin, end;
};

/// Columns are keys (the forward, the dQ kernel): the keys j in
/// [keyBase, keyBase + width) that the query at absolute position
/// `position` reaches through [lo, hi) on `side`, below `keyLen`; none when
/// `rowExists` (an i1, or null for always) is false.
RowColumns keyColumns(ImplicitLocOpBuilder &b, Value position, Value rowExists,
                      Value keyBase, Value lo, Value hi, int side, Value keyLen,
                      int64_t width);

/// Columns are queries (the dK/dV kernels): the queries q in [queryBase,
/// queryBase + width) whose position q + positionOffset reaches the key
/// `key` through [lo, hi) on `side`, below `queryLen`; none when
/// `rowExists` (an i1, or null for always) is false.
RowColumns queryColumns(ImplicitLocOpBuilder &b, Value key, Value rowExists,
                        Value queryBase, Value lo, Value hi, int side,
                        Value positionOffset, Value queryLen, int64_t width);

/// Whether the row admits column `column` (a constant offset from the
/// lane's first column).
Value admitsColumn(ImplicitLocOpBuilder &b, const RowColumns &row,
                   int64_t column);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_EDGEMASK_H
