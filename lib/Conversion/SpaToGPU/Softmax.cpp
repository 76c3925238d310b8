//===- Softmax.cpp - online softmax of one key tile -----------------------===//

#include "Softmax.h"
#include "EdgeMask.h"
#include "MmaSync.h"

#include "spa/Conversion/Utils/BandGeometry.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;

namespace mlir::spa::gpu_kernel {

SoftmaxStep softmaxStep(ImplicitLocOpBuilder &b, const KernelContext &k,
                        Value j0, const KeyRange &range,
                        ArrayRef<Value> scores, ArrayRef<Value> m,
                        ArrayRef<Value> l) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  Type f32 = b.getF32Type();
  Value lo = range.lo, hi = range.hi;
  int side = range.side;
  // Interior tiles need no mask: every pair's distance is in [lo, hi) and
  // every key exists.
  Value lastKey = e.add(j0, e.index(cfg.tileK - 1));
  Value allKeys = e.cmp(P::slt, lastKey, k.keyLen);
  BandGeometry geometry{e, k.firstPos, k.lastPos, Value()};
  Value inside = geometry.tileInside(j0, lastKey, lo, hi, side);
  Value interior = e.andi(allKeys, inside);
  Value scale = e.f32(cfg.scaleLog2);
  Value negInf = e.f32(-INFINITY);
  auto scaled = scf::IfOp::create(
      b, interior,
      [&](OpBuilder &nb, Location l) {
        ImplicitLocOpBuilder ib(l, nb);
        SmallVector<Value> results;
        for (Value s : scores)
          results.push_back(arith::MulFOp::create(
              ib, s,
              vector::BroadcastOp::create(ib, VectorType::get({2, 2}, f32),
                                          scale)));
        scf::YieldOp::create(ib, results);
      },
      [&](OpBuilder &nb, Location l) {
        ImplicitLocOpBuilder ib(l, nb);
        GpuArith ie{ib};
        SmallVector<Value> results;
        Value rowBase =
            ie.add(k.firstPos, ie.add(ie.mul(k.warp, ie.index(16)), k.g));
        Value keyBase = ie.add(j0, ie.mul(k.c, ie.index(2)));
        // The keys each of the lane's rows reaches, once per row.
        SmallVector<RowColumns> rows;
        for (int64_t r = 0; r < 2; ++r)
          rows.push_back(keyColumns(ib, ie.add(rowBase, ie.index(8 * r)),
                                    Value(), keyBase, lo, hi, side, k.keyLen,
                                    8 * int64_t(scores.size())));
        for (auto [nt, s] : llvm::enumerate(scores)) {
          SmallVector<Value> elems;
          for (int64_t r = 0; r < 2; ++r)
            for (int64_t i = 0; i < 2; ++i) {
              Value ok = admitsColumn(ib, rows[r], int64_t(nt) * 8 + i);
              Value v = ie.fmul(element(ib, s, r, i), scale);
              elems.push_back(ie.select(ok, v, negInf));
            }
          results.push_back(make2x2(ib, elems, f32));
        }
        scf::YieldOp::create(ib, results);
      });

  // Online softmax per row r in {g, g + 8}.
  SmallVector<Value> safe(2), alpha(2), newMax(2);
  for (int64_t r = 0; r < 2; ++r) {
    Value rowMax = negInf;
    for (Value s : scaled.getResults())
      for (int64_t i = 0; i < 2; ++i)
        rowMax = e.fmax(rowMax, element(b, s, r, i));
    rowMax = e.fmax(rowMax, e.shuffleXor(rowMax, 1));
    rowMax = e.fmax(rowMax, e.shuffleXor(rowMax, 2));
    newMax[r] = e.fmax(m[r], rowMax);
    Value empty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                        newMax[r], negInf);
    safe[r] = e.select(empty, e.f32(0.0), newMax[r]);
    alpha[r] = e.exp2(e.fsub(m[r], safe[r]));
  }
  SmallVector<Value> probs;
  SmallVector<Value> rowSum = {e.f32(0.0), e.f32(0.0)};
  for (Value s : scaled.getResults()) {
    SmallVector<Value> elems;
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t i = 0; i < 2; ++i) {
        Value p = e.exp2(e.fsub(element(b, s, r, i), safe[r]));
        rowSum[r] = e.fadd(rowSum[r], p);
        elems.push_back(p);
      }
    probs.push_back(make2x2(b, elems, f32));
  }
  SoftmaxStep step;
  step.probs = probs;
  step.alpha = alpha;
  for (int64_t r = 0; r < 2; ++r) {
    step.m.push_back(newMax[r]);
    step.l.push_back(e.fadd(e.fmul(l[r], alpha[r]), rowSum[r]));
  }
  return step;
}

} // namespace mlir::spa::gpu_kernel
