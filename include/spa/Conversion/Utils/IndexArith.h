//===- IndexArith.h - short-hand for index and f32 arithmetic ---*- C++ -*-===//
//
// The small arithmetic vocabulary both spa lowerings build their loop bounds
// and masks with (signed index math: positions may be negative when Nq > Nk).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_CONVERSION_UTILS_INDEXARITH_H
#define SPA_CONVERSION_UTILS_INDEXARITH_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::spa {

struct IndexArith {
  explicit IndexArith(ImplicitLocOpBuilder &b) : b(b) {}
  ImplicitLocOpBuilder &b;

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value f32(double v) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value div(Value x, Value y) { return arith::DivUIOp::create(b, x, y); }
  Value rem(Value x, Value y) { return arith::RemUIOp::create(b, x, y); }
  Value min(Value x, Value y) { return arith::MinSIOp::create(b, x, y); }
  Value max(Value x, Value y) { return arith::MaxSIOp::create(b, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y);
  }
  Value andi(Value x, Value y) { return arith::AndIOp::create(b, x, y); }
  Value ori(Value x, Value y) { return arith::OrIOp::create(b, x, y); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
};

} // namespace mlir::spa

#endif // SPA_CONVERSION_UTILS_INDEXARITH_H
