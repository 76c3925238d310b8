//===- BackwardQuery.cpp - the dQ kernel ----------------------------------===//
//
//   per work item (batch, query head h, query tile of 16 x warps rows):
//     Q, dO tiles -> shared (own tiles); lse2 of the lane's rows, and
//     their Delta = rowsum(dO O), computed here from global O and dO and
//     written for the dK/dV kernel, which runs after this one
//     for each interval [lo, hi) of h, each side:
//       for each key tile (tile-k keys) of the range the rows reach:
//         K, V tiles -> shared (stream tiles)
//         S  = Q K^T;  P = exp2(S scale log2e - lse2)   (masked on edge tiles)
//         dP = dO V^T; dS = P (dP - Delta)
//         dQ += dS K
//     dQ * scale -> global (rows without keys: zeros)
//
// The key ranges are the forward's (BandGeometry.h), and the work list is
// the forward's cost-sorted list (WorkList.h).
//
//===----------------------------------------------------------------------===//

#include "BackwardDelta.h"
#include "BackwardKernels.h"
#include "BackwardStreamWalk.h"
#include "BackwardTile.h"
#include "MmaSync.h"
#include "ZeroTail.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

class QueryGradKernel {
public:
  explicit QueryGradKernel(const BackwardConfig &grad)
      : k(grad), mainloop(createBackwardMainloop(k)) {}

  gpu::GPUFuncOp build(OpBuilder &moduleBuilder, Location loc, StringRef name,
                       ArrayRef<Type> argTypes) {
    OpBuilder body(moduleBuilder.getContext());
    gpu::GPUFuncOp func =
        beginBackwardKernel(moduleBuilder, loc, name, argTypes, k, body);
    if (int64_t blocks = k.grad.queryKernelMinBlocksPerSM())
      func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                    moduleBuilder.getI32IntegerAttr(blocks));
    ImplicitLocOpBuilder b(loc, body);
    auto args = func.getArguments();
    ValueRange rest = bindGradientInputs(k, args);
    k.out = rest[0];
    k.queryGrad = rest[1];
    k.bounds = rest[2];
    k.work = rest[3];
    bindTensorMaps(k, args, /*storeMaps=*/0);
    emitBody(b);
    gpu::ReturnOp::create(b);
    return func;
  }

private:
  BackwardContext k;
  std::unique_ptr<BackwardMainloop> mainloop;

  void emitBody(ImplicitLocOpBuilder &b) {
    const BackwardConfig &grad = k.grad;
    const KernelConfig &cfg = grad.base;
    GpuArith e{b};
    mainloop->setupSharedMemory(b);
    loadQueryTileWorkItem(b, k);
    k.lastPos = e.add(k.firstPos, e.index(grad.ownRows() - 1));
    // The lane's rows 16 warp + g (+ 8).
    Value rowBase = e.add(k.i0, e.add(e.mul(k.warp, e.index(16)), k.g));
    SmallVector<Value> rows = {rowBase, e.add(rowBase, e.index(8))};
    // The list's tail of query tiles without keys: dQ and Delta 0 (no
    // dK/dV walk visits these rows), nothing loaded.
    branchOnZeroTail(
        b, cfg, k.work, blockItemIndex(b, k),
        [&](ImplicitLocOpBuilder &zb, const WorkItemEntry *entry) {
          GpuArith ze{zb};
          if (!entry) {
            for (Value row : rows)
              storeRowDelta(zb, k, k.head, row, Value(), ze.f32(0.0));
            SmallVector<Value> zeros(cfg.headDim / 8, zeroAccumulatorTile(zb));
            return storeAccumulators(zb, k, zeros, k.queryGrad, k.head, k.i0,
                                     cfg.queryLen, grad.scale,
                                     mainloop->ownTile(Operand::First));
          }
          // A grouped tail: the item's dQ and Delta rows by every thread.
          Value limit = ze.index(cfg.queryLen);
          storeZeroRows(zb, k, cfg.threads(), k.queryGrad, *entry,
                        grad.ownRows(), limit, cfg.headDim);
          fillRowStatistic(zb, k, cfg.threads(), k.delta, *entry,
                           grad.ownRows(), limit, ze.f32(0.0));
        },
        [&](ImplicitLocOpBuilder &ib) { emitItem(ib, rows); });
  }

  /// The item's Delta and its walk over the key tiles its rows reach, then
  /// dQ. `rows`: the lane's two rows.
  void emitItem(ImplicitLocOpBuilder &b, ArrayRef<Value> rows) {
    const BackwardConfig &grad = k.grad;
    const KernelConfig &cfg = grad.base;
    GpuArith e{b};
    // The rows' Delta from O and dO, loaded while the own tiles' copies are
    // in flight, and written for the dK/dV kernel (which runs next) by the
    // quad's lane 0.
    SmallVector<RowDotOperands> rowDot;
    for (Value row : rows)
      rowDot.push_back(loadRowDotOperands(
          b, k, k.out, k.head, e.min(row, e.index(cfg.queryLen - 1)), k.c));
    SmallVector<Value> lse2(2), delta(2);
    for (int64_t r = 0; r < 2; ++r)
      lse2[r] = loadScaledLse(b, k, k.head, rows[r]);
    mainloop->loadOwn(b, k.query, k.outGrad, k.head, k.i0, cfg.queryLen);
    for (int64_t r = 0; r < 2; ++r) {
      delta[r] = quadSum(b, sumRowDot(b, rowDot[r]));
      storeRowDelta(b, k, k.head, rows[r], Value(), delta[r]);
    }

    Value zeroAcc = zeroAccumulatorTile(b);
    SmallVector<Value> dQ(cfg.headDim / 8, zeroAcc);
    dQ = walkKeyTiles(
        b, k, dQ,
        [&](ImplicitLocOpBuilder &ib, const KeyTileRange &range, Value j0,
            ValueRange carried) {
          TilePair pair{k.i0,     j0,       /*ownIsKey=*/false,
                        range.lo, range.hi, range.side,
                        Value()};
          return keyTile(ib, pair, lse2, delta, carried);
        },
        [&](ImplicitLocOpBuilder &rb, const KeyTileRange &range) {
          mainloop->beginStream(rb, k.key, k.value, k.kvHead, range.begin,
                                range.end, cfg.keyLen);
        });
    // dQ through own Q's tile (wgmma kernels), once it has arrived and
    // every warp's products reading it are done.
    mainloop->waitOwn(b);
    if (mainloop->ownTile(Operand::First))
      gpu::BarrierOp::create(b);
    storeAccumulators(b, k, dQ, k.queryGrad, k.head, k.i0, cfg.queryLen,
                      grad.scale, mainloop->ownTile(Operand::First));
  }

  /// One key tile at pair.streamFirst against the item's query tile.
  SmallVector<Value> keyTile(ImplicitLocOpBuilder &b, TilePair pair,
                             ArrayRef<Value> lse2, ArrayRef<Value> delta,
                             ValueRange carried) {
    const BackwardConfig &grad = k.grad;
    const KernelConfig &cfg = grad.base;
    Value j0 = pair.streamFirst;
    mainloop->loadStream(b, k.key, k.value, k.kvHead, j0, cfg.keyLen);
    pair.interior =
        pairInterior(b, k, k.i0, grad.ownRows(), j0, grad.streamRows(), pair.lo,
                     pair.hi, pair.side);
    // Both products go out before either is read: P's exponentials run
    // while dP is on the tensor cores (two waits a tile, not three).
    using Issued = BackwardMainloop::Issued;
    Issued scoresIssued = mainloop->issueOwnTimesStreamT(b, Operand::First);
    Issued dPIssued = mainloop->issueOwnTimesStreamT(b, Operand::Second);
    SmallVector<Value> scores =
        mainloop->complete(b, {&scoresIssued}, 1).front();
    SmallVector<Value> probs =
        recomputeProbabilities(b, k, pair, scores,
                               [&](ImplicitLocOpBuilder &, int64_t, int64_t r,
                                   int64_t) { return lse2[r]; });
    SmallVector<Value> dP = mainloop->complete(b, {&dPIssued}, 0).front();
    SmallVector<Value> dS =
        scoreGradients(b, k, pair, probs, dP,
                       [&](ImplicitLocOpBuilder &, int64_t, int64_t r,
                           int64_t) { return delta[r]; });
    return mainloop->accumulate(b, dS, Operand::First,
                                SmallVector<Value>(carried));
  }
};

} // namespace

void loadQueryTileWorkItem(ImplicitLocOpBuilder &b, BackwardContext &k) {
  const BackwardConfig &grad = k.grad;
  GpuArith e{b};
  Value item = blockItemIndex(b, k);
  WorkItemEntry entry = loadWorkItem(b, k.work, item);
  k.blockItem = item;
  k.blockEntry = entry;
  if (k.grad.prefetchesSuccessor())
    setSuccessor(k,
                 loadSuccessorEntry(b, k.work, item, k.cfg.successorPrefetch));
  k.batchIdx = entry.batch;
  k.head = entry.head;
  k.i0 = e.mul(entry.tile, e.index(grad.ownRows()));
  k.kvHead = e.div(k.head, e.index(grad.groupSize()));
  k.firstPos = e.add(k.i0, e.index(grad.base.keyLen - grad.base.queryLen));
}

gpu::GPUFuncOp buildQueryGradKernel(OpBuilder &moduleBuilder, Location loc,
                                    StringRef name, ArrayRef<Type> argTypes,
                                    const BackwardConfig &grad) {
  return QueryGradKernel(grad).build(moduleBuilder, loc, name, argTypes);
}

} // namespace mlir::spa::gpu_kernel
