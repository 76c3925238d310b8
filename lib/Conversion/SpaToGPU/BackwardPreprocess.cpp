//===- BackwardPreprocess.cpp - Delta = rowsum(dO * O) --------------------===//
//
// The first backward launch with deterministic = false or score-grads =
// store, and the kernel shell every backward kernel shares. Each quad of
// lanes owns one row (b, h, i) (BackwardDelta.h) and lane 0 writes Delta;
// with deterministic = false the kernel also zeroes the dQ accumulator,
// with interleaved-dq the interleaved kernel's grad_sync.
// Memory-bound; the rows of a block are consecutive, so its loads are
// contiguous. Deterministic gradients need no preprocess launch: the dQ kernel
// computes Delta itself (BackwardQuery.cpp).
//
//===----------------------------------------------------------------------===//

#include "BackwardDelta.h"
#include "BackwardKernels.h"
#include "BackwardQueryAtomic.h"
#include "Epilogue.h"
#include "InterleavedSync.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cassert>

using namespace mlir;

namespace mlir::spa::gpu_kernel {

gpu::GPUFuncOp beginBackwardKernel(OpBuilder &moduleBuilder, Location loc,
                                   StringRef name, ArrayRef<Type> argTypes,
                                   BackwardContext &k, OpBuilder &body) {
  MLIRContext *ctx = moduleBuilder.getContext();
  auto func = gpu::GPUFuncOp::create(moduleBuilder, loc, name,
                                     FunctionType::get(ctx, argTypes, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  func.setKnownBlockSizeAttr(
      DenseI32ArrayAttr::get(ctx, {int32_t(k.grad.blockThreads()), 1, 1}));
  body.setInsertionPointToStart(&func.getBody().front());
  ImplicitLocOpBuilder b(loc, body);
  GpuArith e{b};
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  k.lane = e.rem(tid, e.index(32));
  k.warp = e.div(tid, e.index(32));
  k.g = e.div(k.lane, e.index(4));
  k.c = e.rem(k.lane, e.index(4));
  body.setInsertionPoint(b.getInsertionBlock(), b.getInsertionPoint());
  return func;
}

ValueRange bindGradientInputs(BackwardContext &k, ValueRange args) {
  k.query = args[0];
  k.key = args[1];
  k.value = args[2];
  k.lse = args[3];
  k.outGrad = args[4];
  k.delta = args[5];
  return args.drop_front(6);
}

gpu::GPUFuncOp buildPreprocessKernel(OpBuilder &moduleBuilder, Location loc,
                                     StringRef name, ArrayRef<Type> argTypes,
                                     const BackwardConfig &grad) {
  BackwardContext k(grad);
  const KernelConfig &cfg = grad.base;
  OpBuilder body(moduleBuilder.getContext());
  gpu::GPUFuncOp func =
      beginBackwardKernel(moduleBuilder, loc, name, argTypes, k, body);
  ImplicitLocOpBuilder b(loc, body);
  GpuArith e{b};
  auto args = func.getArguments();
  k.out = args[0];
  k.outGrad = args[1];
  k.delta = args[2];
  // The bounds table: the last argument.
  k.bounds = args.back();
  k.queryLen = e.index(cfg.queryLen);
  k.keyLen = e.index(cfg.keyLen);

  // Block -> (batch, head, row tile); thread -> (row, quad lane c).
  int64_t rows = grad.preprocessRows();
  int64_t tilesPerHead = (cfg.queryLen + rows - 1) / rows;
  Value item = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value bh = e.div(item, e.index(tilesPerHead));
  k.batchIdx = e.div(bh, e.index(cfg.numQueryHeads));
  k.head = e.rem(bh, e.index(cfg.numQueryHeads));
  Value tid = blockThread(b, k);
  Value row = e.add(e.mul(e.rem(item, e.index(tilesPerHead)), e.index(rows)),
                    e.div(tid, e.index(4)));
  Value valid = e.cmp(P::slt, row, e.index(cfg.queryLen));
  // Rows without keys (SPEC 1; about half the rows of an exclusive policy's
  // far heads) load nothing either: their Delta is 0. It only meets masked
  // pairs, whose dS is P (dP - Delta) with P = 0, so it is never read
  // as a value (dO * O would give 0 too: the forward wrote O = 0 there).
  Value position = e.add(row, e.index(cfg.keyLen - cfg.queryLen));
  Value reaches = e.andi(valid, rowHasKeys(b, k, position));

  // Rows past Nq or without keys load nothing and add zeros; every lane
  // takes part in the quad's shuffles.
  auto partial = scf::IfOp::create(
      b, reaches,
      [&](OpBuilder &nb, Location l) {
        ImplicitLocOpBuilder ib(l, nb);
        RowDotOperands operands =
            loadRowDotOperands(ib, k, k.out, k.head, row, k.c);
        scf::YieldOp::create(ib, sumRowDot(ib, operands));
      },
      [&](OpBuilder &nb, Location l) {
        ImplicitLocOpBuilder ib(l, nb);
        scf::YieldOp::create(ib, GpuArith{ib}.f32(0.0));
      });
  Value total = quadSum(b, partial.getResult(0));
  // The scratch the reductions add to (deterministic = false; the
  // preprocess of score-grads = store computes Delta only).
  assert((grad.atomicQuery || grad.storeScoreGrads) &&
         "the deterministic dQ kernel computes Delta itself");
  if (grad.atomicQuery)
    zeroQueryAccumulator(b, k, args[3], grad.preprocessBlocks());
  // interleaved-dq: the claim counter and the key tiles' flags start at 0
  // (InterleavedSync.h).
  if (grad.interleavedQuery)
    zeroGradSync(b, k, args[3], grad.preprocessBlocks());
  storeRowDelta(b, k, k.head, row, valid, total);
  gpu::ReturnOp::create(b);
  return func;
}

} // namespace mlir::spa::gpu_kernel
