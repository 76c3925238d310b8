//===- BackwardPreprocess.cpp - Delta = rowsum(dO * O) --------------------===//
//
// The first backward launch, and the kernel shell the others share. Each
// quad of lanes owns one row (b, h, i): lane c sums the products of the
// 8-element chunks c, c + 4, ... of dO and O in f32, the quad adds its four
// partial sums by shuffles, and lane 0 writes Delta. Memory-bound; the rows
// of a block are consecutive, so its loads are contiguous. With
// deterministic = false it also zeroes the dQ accumulator.
//
//===----------------------------------------------------------------------===//

#include "BackwardKernels.h"
#include "BackwardQueryAtomic.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

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

  // Block -> (batch, head, row tile); thread -> (row, quad lane c).
  int64_t rows = grad.preprocessRows();
  int64_t tilesPerHead = (cfg.queryLen + rows - 1) / rows;
  Value item = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value bh = e.div(item, e.index(tilesPerHead));
  k.batchIdx = e.div(bh, e.index(cfg.numQueryHeads));
  k.head = e.rem(bh, e.index(cfg.numQueryHeads));
  Value tid = e.add(e.mul(k.warp, e.index(32)), k.lane);
  Value row = e.add(e.mul(e.rem(item, e.index(tilesPerHead)), e.index(rows)),
                    e.div(tid, e.index(4)));
  Value valid = e.cmp(P::slt, row, e.index(cfg.queryLen));

  Type f32 = b.getF32Type();
  auto chunkType = VectorType::get({8}, cfg.elementType);
  auto wideType = VectorType::get({8}, f32);
  int64_t chunks = cfg.valueDim / 8;
  auto partial = scf::IfOp::create(
      b, valid,
      [&](OpBuilder &nb, Location l) {
        ImplicitLocOpBuilder ib(l, nb);
        GpuArith ie{ib};
        Value sum = arith::ConstantOp::create(
            ib, DenseElementsAttr::get(wideType, 0.0f));
        for (int64_t first = 0; first < chunks; first += 4) {
          // Chunk first + c (when it exists).
          Value chunk = ie.add(ie.index(first), k.c);
          auto product = [&](ImplicitLocOpBuilder &cb) {
            GpuArith ce{cb};
            Value col = ce.mul(chunk, ce.index(8));
            SmallVector<Value> at = {k.batchIdx, k.head, row, col};
            Value o = vector::LoadOp::create(cb, chunkType, k.out, at, false,
                                             llvm::MaybeAlign(16));
            Value dO = vector::LoadOp::create(cb, chunkType, k.outGrad, at,
                                              false, llvm::MaybeAlign(16));
            return arith::MulFOp::create(
                       cb, arith::ExtFOp::create(cb, wideType, o),
                       arith::ExtFOp::create(cb, wideType, dO))
                .getResult();
          };
          if (first + 4 <= chunks) {
            sum = ie.fadd(sum, product(ib));
            continue;
          }
          auto guarded = scf::IfOp::create(
              ib, ie.cmp(P::slt, chunk, ie.index(chunks)),
              [&](OpBuilder &cb, Location cl) {
                ImplicitLocOpBuilder jb(cl, cb);
                scf::YieldOp::create(jb, product(jb));
              },
              [&](OpBuilder &cb, Location cl) {
                ImplicitLocOpBuilder jb(cl, cb);
                scf::YieldOp::create(
                    jb, ValueRange{arith::ConstantOp::create(
                            jb, DenseElementsAttr::get(wideType, 0.0f))});
              });
          sum = ie.fadd(sum, guarded.getResult(0));
        }
        Value total =
            vector::ReductionOp::create(ib, vector::CombiningKind::ADD, sum);
        scf::YieldOp::create(ib, total);
      },
      [&](OpBuilder &nb, Location l) {
        ImplicitLocOpBuilder ib(l, nb);
        scf::YieldOp::create(ib, GpuArith{ib}.f32(0.0));
      });
  // Every lane takes part in the shuffles (rows past Nq add zeros).
  Value total = partial.getResult(0);
  total = e.fadd(total, e.shuffleXor(total, 1));
  total = e.fadd(total, e.shuffleXor(total, 2));
  // deterministic = false: the scratch the reductions add to.
  if (grad.atomicQuery)
    zeroQueryAccumulator(b, k, args[3], grad.preprocessBlocks());
  Value writer = e.andi(valid, e.cmp(P::eq, k.c, e.index(0)));
  scf::IfOp::create(b, writer, [&](OpBuilder &nb, Location l) {
    memref::StoreOp::create(nb, l, total, k.delta,
                            ValueRange{k.batchIdx, k.head, row});
    scf::YieldOp::create(nb, l);
  });
  gpu::ReturnOp::create(b);
  return func;
}

} // namespace mlir::spa::gpu_kernel
