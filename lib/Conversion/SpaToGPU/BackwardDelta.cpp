//===- BackwardDelta.cpp - Delta = rowsum(dO * O), a quad per row ---------===//
//
// Implementation of BackwardDelta.h. Chunk sums run on vector<8xf32> and
// reduce once per lane, as the preprocess kernel always did; absent chunks
// of a partial group add zeros by a select (their loads stay in bounds).
//
//===----------------------------------------------------------------------===//

#include "BackwardDelta.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

RowDotOperands loadRowDotOperands(ImplicitLocOpBuilder &b,
                                  const BackwardContext &k, Value out,
                                  Value head, Value row, Value quadLane) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  auto chunkType = VectorType::get({8}, cfg.elementType);
  int64_t chunks = cfg.valueDim / 8;
  RowDotOperands operands;
  for (int64_t first = 0; first < chunks; first += 4) {
    Value chunk = e.add(e.index(first), quadLane);
    Value present;
    if (first + 4 > chunks) {
      present = e.cmp(P::slt, chunk, e.index(chunks));
      chunk = e.min(chunk, e.index(chunks - 1));
    }
    Value col = e.mul(chunk, e.index(8));
    SmallVector<Value> at = {k.batchIdx, head, row, col};
    operands.out.push_back(vector::LoadOp::create(b, chunkType, out, at, false,
                                                  llvm::MaybeAlign(16)));
    operands.outGrad.push_back(vector::LoadOp::create(
        b, chunkType, k.outGrad, at, false, llvm::MaybeAlign(16)));
    operands.present.push_back(present);
  }
  return operands;
}

Value sumRowDot(ImplicitLocOpBuilder &b, const RowDotOperands &operands) {
  GpuArith e{b};
  auto wideType = VectorType::get({8}, b.getF32Type());
  Value zeros =
      arith::ConstantOp::create(b, DenseElementsAttr::get(wideType, 0.0f));
  Value sum = zeros;
  for (size_t i = 0; i < operands.out.size(); ++i) {
    Value product = arith::MulFOp::create(
        b, arith::ExtFOp::create(b, wideType, operands.out[i]),
        arith::ExtFOp::create(b, wideType, operands.outGrad[i]));
    if (Value present = operands.present[i])
      product = arith::SelectOp::create(b, present, product, zeros);
    sum = e.fadd(sum, product);
  }
  return vector::ReductionOp::create(b, vector::CombiningKind::ADD, sum);
}

Value quadSum(ImplicitLocOpBuilder &b, Value partial) {
  GpuArith e{b};
  Value total = e.fadd(partial, e.shuffleXor(partial, 1));
  return e.fadd(total, e.shuffleXor(total, 2));
}

void storeRowDelta(ImplicitLocOpBuilder &b, const BackwardContext &k,
                   Value head, Value row, Value rowExists, Value delta) {
  GpuArith e{b};
  Value laneZero = e.cmp(P::eq, k.c, e.index(0));
  if (!rowExists)
    rowExists = e.cmp(P::slt, row, e.index(k.cfg.queryLen));
  Value writer = e.andi(rowExists, laneZero);
  scf::IfOp::create(b, writer, [&](OpBuilder &nb, Location l) {
    memref::StoreOp::create(nb, l, delta, k.delta,
                            ValueRange{k.batchIdx, head, row});
    scf::YieldOp::create(nb, l);
  });
}

} // namespace mlir::spa::gpu_kernel
