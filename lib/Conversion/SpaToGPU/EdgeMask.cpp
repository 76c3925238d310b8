//===- EdgeMask.cpp - which columns of a row an edge tile admits ----------===//

#include "EdgeMask.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

/// [begin, end) (absolute indices, index values) relative to `base`,
/// clamped to [0, width] and narrowed to i32; empty unless `rowExists`.
static RowColumns relative(ImplicitLocOpBuilder &b, Value begin, Value end,
                           Value base, Value rowExists, int64_t width) {
  GpuArith e{b};
  auto clamp = [&](Value v) {
    Value r = e.min(e.max(e.sub(v, base), e.index(0)), e.index(width));
    return arith::IndexCastOp::create(b, b.getI32Type(), r).getResult();
  };
  RowColumns row{clamp(begin), clamp(end)};
  if (rowExists)
    row.end = arith::SelectOp::create(
        b, rowExists, row.end,
        arith::ConstantIntOp::create(b, b.getI32Type(), 0));
  return row;
}

RowColumns keyColumns(ImplicitLocOpBuilder &b, Value position, Value rowExists,
                      Value keyBase, Value lo, Value hi, int side, Value keyLen,
                      int64_t width) {
  GpuArith e{b};
  // side > 0: d = p - j in [lo, hi)  <=>  j in [p - hi + 1, p - lo + 1);
  // side < 0: d = j - p in [lo, hi)  <=>  j in [p + lo, p + hi).
  Value one = e.index(1);
  Value begin =
      side > 0 ? e.add(e.sub(position, hi), one) : e.add(position, lo);
  Value end = side > 0 ? e.add(e.sub(position, lo), one) : e.add(position, hi);
  return relative(b, begin, e.min(end, keyLen), keyBase, rowExists, width);
}

RowColumns queryColumns(ImplicitLocOpBuilder &b, Value key, Value rowExists,
                        Value queryBase, Value lo, Value hi, int side,
                        Value positionOffset, Value queryLen, int64_t width) {
  GpuArith e{b};
  // side > 0: d = p - j in [lo, hi)  <=>  p in [j + lo, j + hi);
  // side < 0: d = j - p in [lo, hi)  <=>  p in [j - hi + 1, j - lo + 1);
  // query = p - positionOffset.
  Value one = e.index(1);
  Value begin = side > 0 ? e.add(key, lo) : e.add(e.sub(key, hi), one);
  Value end = side > 0 ? e.add(key, hi) : e.add(e.sub(key, lo), one);
  begin = e.sub(begin, positionOffset);
  end = e.min(e.sub(end, positionOffset), queryLen);
  return relative(b, begin, end, queryBase, rowExists, width);
}

Value admitsColumn(ImplicitLocOpBuilder &b, const RowColumns &row,
                   int64_t column) {
  Value c = arith::ConstantIntOp::create(b, b.getI32Type(), column);
  return arith::AndIOp::create(
      b, arith::CmpIOp::create(b, arith::CmpIPredicate::sle, row.begin, c),
      arith::CmpIOp::create(b, arith::CmpIPredicate::slt, c, row.end));
}

} // namespace mlir::spa::gpu_kernel
