//===- BackwardKeyValue.cpp - the dK/dV kernel ----------------------------===//
//
//   per work item (batch, key/value head g, key tile of 16 x warps keys):
//     K, V tiles -> shared (own tiles)
//     for each query head h of g's group, interval [lo, hi), side:
//       for each query tile (tile-k rows) that reaches the key tile:
//         Q, dO tiles -> shared (stream tiles)
//         S^T  = K Q^T, dP^T = V dO^T           (issued together)
//         P^T  = exp2(S^T scale log2e - lse2)    (masked on edge tiles)
//         dV  += P^T dO                          (issued, then:)
//         dS^T = P^T (dP^T - Delta)
//         dK  += dS^T Q
//     dK * scale, dV -> global (keys nothing reaches: zeros), through the
//     own tiles' shared memory in 16-byte row chunks (wgmma)
//
// Each warp owns 16 keys; its f32 accumulators (D/8 + Dv/8 tiles) are
// carried through the loops and written once: no atomics, deterministic.
// With deterministic = false (role dkdv_dq) each tile's dQ = dS K is also
// formed and added to an f32 scratch by bulk reductions
// (BackwardQueryAtomic.h); with score-grads = store each tile's dS^T is
// written to a scratch for the one-product dQ kernel (ScoreGradStore.h).
//
//===----------------------------------------------------------------------===//

#include "BackwardKernels.h"
#include "BackwardQueryAtomic.h"
#include "BackwardStreamWalk.h"
#include "BackwardTile.h"
#include "InterleavedSync.h"
#include "MmaSync.h"
#include "ScoreGradStore.h"
#include "StagedStores.h"
#include "ZeroTail.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <tuple>

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

class KeyValueGradKernel final : public BackwardBlockBody {
public:
  explicit KeyValueGradKernel(const BackwardConfig &grad)
      : k(grad), mainloop(createBackwardMainloop(k)) {
    if (grad.atomicQuery)
      atomicQuery = std::make_unique<AtomicQueryTile>(k, *mainloop);
    if (grad.storeScoreGrads)
      scoreGradWriter = std::make_unique<ScoreGradWriter>(k);
  }

  gpu::GPUFuncOp build(OpBuilder &moduleBuilder, Location loc, StringRef name,
                       ArrayRef<Type> argTypes) {
    OpBuilder body(moduleBuilder.getContext());
    gpu::GPUFuncOp func =
        beginBackwardKernel(moduleBuilder, loc, name, argTypes, k, body);
    ImplicitLocOpBuilder b(loc, body);
    bindArgs(func.getArguments());
    emit(b);
    gpu::ReturnOp::create(b);
    return func;
  }

  BackwardContext &context() override { return k; }
  void bindArgs(ValueRange args) override { bindKeyValueGradArgs(k, args); }
  void emit(ImplicitLocOpBuilder &b) override { emitBody(b); }

private:
  BackwardContext k;
  std::unique_ptr<BackwardMainloop> mainloop;
  std::unique_ptr<AtomicQueryTile> atomicQuery; ///< deterministic = false
  std::unique_ptr<ScoreGradWriter> scoreGradWriter; ///< score-grads = store

  void emitBody(ImplicitLocOpBuilder &b) {
    const BackwardConfig &grad = k.grad;
    const KernelConfig &cfg = grad.base;
    GpuArith e{b};
    mainloop->setupSharedMemory(b);
    if (atomicQuery)
      atomicQuery->setupSharedMemory(b);
    if (scoreGradWriter)
      scoreGradWriter->setupSharedMemory(b);
    Value j0 = loadKeyTileWorkItem(b, k);
    // The list's tail of key tiles no query reaches: zeros, as emitItem's
    // empty walk leaves them, with nothing loaded.
    branchOnZeroTail(
        b, cfg, k.work, blockItemIndex(b, k),
        [&](ImplicitLocOpBuilder &zb, const WorkItemEntry *entry) {
          if (!entry) {
            SmallVector<Value> zeros(cfg.headDim / 8 + cfg.valueDim / 8,
                                     zeroAccumulatorTile(zb));
            return storeKeyValueGrads(zb, j0, zeros);
          }
          // A grouped tail: the item's dK and dV rows by every thread.
          Value limit = GpuArith{zb}.index(cfg.keyLen);
          storeZeroRows(zb, k, cfg.threads(), k.keyGrad, *entry,
                        grad.ownRows(), limit, cfg.headDim);
          storeZeroRows(zb, k, cfg.threads(), k.valueGrad, *entry,
                        grad.ownRows(), limit, cfg.valueDim);
        },
        [&](ImplicitLocOpBuilder &ib) { emitItem(ib, j0); });
  }

  /// The item's walk over the query tiles reaching key tile j0, then its
  /// dK and dV.
  void emitItem(ImplicitLocOpBuilder &b, Value j0) {
    const BackwardConfig &grad = k.grad;
    const KernelConfig &cfg = grad.base;
    mainloop->loadOwn(b, k.key, k.value, k.kvHead, j0, cfg.keyLen);

    Value zeroAcc = zeroAccumulatorTile(b);
    // Carried: dK (D / 8 tiles), then dV (Dv / 8 tiles).
    SmallVector<Value> state(cfg.headDim / 8 + cfg.valueDim / 8, zeroAcc);
    SmallVector<Value> results = walkQueryTiles(
        b, k, j0, state,
        [&](ImplicitLocOpBuilder &tb, const QueryTileStep &step,
            ValueRange carried) {
          TilePair pair{j0,        step.i0, /*ownIsKey=*/true, step.lo, step.hi,
                        step.side, Value()};
          return queryTile(tb, pair, step, carried);
        },
        [&](ImplicitLocOpBuilder &rb, Value head, Value begin, Value end) {
          mainloop->beginStream(rb, k.query, k.outGrad, head, begin, end,
                                cfg.queryLen);
        });
    if (atomicQuery)
      atomicQuery->drain(b);
    if (scoreGradWriter)
      scoreGradWriter->drain(b);
    // dK through own K's tile, dV through own V's (wgmma kernels), once
    // they have arrived and every warp's products reading them are done.
    mainloop->waitOwn(b);
    if (mainloop->ownTile(Operand::First))
      gpu::BarrierOp::create(b);
    storeKeyValueGrads(b, j0, results);
    // interleaved-dq: the dQ blocks waiting for this key tile's dS may go
    // (every issuing thread waited for its copies before the barrier).
    if (k.gradSync)
      publishKeyTile(b, k, j0);
  }

  /// dK (times the scale) and dV of key tile j0 from `acc` (D / 8 dK
  /// tiles, then Dv / 8 dV tiles), staged through the own tiles' shared
  /// memory where the mainloop has it.
  void storeKeyValueGrads(ImplicitLocOpBuilder &b, Value j0,
                          ArrayRef<Value> acc) {
    const KernelConfig &cfg = k.grad.base;
    storeAccumulators(b, k, acc.take_front(cfg.headDim / 8), k.keyGrad,
                      k.kvHead, j0, cfg.keyLen, k.grad.scale,
                      mainloop->ownTile(Operand::First), k.storeMaps[0]);
    storeAccumulators(b, k, acc.drop_front(cfg.headDim / 8), k.valueGrad,
                      k.kvHead, j0, cfg.keyLen, 1.0,
                      mainloop->ownTile(Operand::Second), k.storeMaps[1]);
    // The block exits next: its TMA stores must have read the tiles.
    if (k.grad.storesByMap)
      waitStagedStores(b, k);
  }

  /// One query tile at pair.streamFirst against the item's key tile.
  SmallVector<Value> queryTile(ImplicitLocOpBuilder &b, TilePair pair,
                               const QueryTileStep &step, ValueRange carried) {
    const BackwardConfig &grad = k.grad;
    const KernelConfig &cfg = grad.base;
    GpuArith e{b};
    Value i0 = pair.streamFirst;
    mainloop->loadStream(b, k.query, k.outGrad, k.head, i0, cfg.queryLen);
    pair.interior = pairInterior(b, k, i0, grad.streamRows(), pair.ownFirst,
                                 grad.ownRows(), pair.lo, pair.hi, pair.side);
    // lse2 and Delta of the lane's columns (query rows 8 nt + 2c + i);
    // each from the mainloop's shared copy where it stages one, read when
    // used rather than held across the products.
    int64_t tiles = grad.streamRows() / 8;
    auto laneRow = [&](GpuArith &ae, int64_t nt, int64_t i) {
      return ae.add(ae.index(8 * nt + i), ae.mul(k.c, ae.index(2)));
    };
    SmallVector<Value> lse2(2 * tiles), delta(2 * tiles);
    for (int64_t nt = 0; nt < tiles; ++nt)
      for (int64_t i = 0; i < 2; ++i) {
        Value row = e.add(i0, laneRow(e, nt, i));
        if (!grad.stagesStreamLse)
          lse2[2 * nt + i] = loadScaledLse(b, k, k.head, row);
        if (!grad.stagesStreamDelta)
          delta[2 * nt + i] = loadRowDelta(b, k, k.head, row);
      }
    SmallVector<Value> dK(carried.begin(), carried.begin() + cfg.headDim / 8);
    SmallVector<Value> dV(carried.begin() + cfg.headDim / 8, carried.end());

    // Both transposed products go out before either is read: P^T's
    // exponentials run while dP^T is on the tensor cores, dS^T's math while
    // dV's product is (three waits a tile, not four).
    using Issued = BackwardMainloop::Issued;
    Issued scoresT = mainloop->issueOwnTimesStreamT(b, Operand::First);
    Issued dPT = mainloop->issueOwnTimesStreamT(b, Operand::Second);
    SmallVector<Value> scores = mainloop->complete(b, {&scoresT}, 1).front();
    SmallVector<Value> probs = recomputeProbabilities(
        b, k, pair, scores,
        [&](ImplicitLocOpBuilder &eb, int64_t nt, int64_t, int64_t i) {
          if (!grad.stagesStreamLse)
            return lse2[2 * nt + i];
          GpuArith se{eb};
          return mainloop->streamRowScaledLse(eb, laneRow(se, nt, i));
        });
    Issued dVNext = mainloop->issueAccumulate(b, probs, Operand::Second, dV);
    SmallVector<Value> dP = mainloop->complete(b, {&dPT}, 1).front();
    mainloop->awaitStreamDelta(b);
    SmallVector<Value> dS = scoreGradients(
        b, k, pair, probs, dP,
        [&](ImplicitLocOpBuilder &eb, int64_t nt, int64_t, int64_t i) {
          if (!grad.stagesStreamDelta)
            return delta[2 * nt + i];
          GpuArith se{eb};
          return mainloop->streamRowDelta(eb, laneRow(se, nt, i));
        });
    if (atomicQuery) {
      std::tie(dK, dV) = atomicQuery->finishTile(b, dS, dK, dVNext, i0);
    } else if (scoreGradWriter) {
      // dK's product goes out first: dS^T is staged and stored while it and
      // dV's run on the tensor cores.
      auto tile = [&](ImplicitLocOpBuilder &ib) {
        return scoreGradTileIndex(ib, k, step.head, step.slot, step.side,
                                  pair.ownFirst, i0, step.rangeBegin);
      };
      Issued dKNext = mainloop->issueAccumulate(b, dS, Operand::First, dK);
      scoreGradWriter->write(b, dS, tile);
      SmallVector<SmallVector<Value>> done =
          mainloop->complete(b, {&dKNext, &dVNext}, 0);
      dK = done[0];
      dV = done[1];
      scoreGradWriter->release(b);
    } else {
      Issued dKNext = mainloop->issueAccumulate(b, dS, Operand::First, dK);
      SmallVector<SmallVector<Value>> done =
          mainloop->complete(b, {&dKNext, &dVNext}, 0);
      dK = done[0];
      dV = done[1];
    }
    SmallVector<Value> next = dK;
    next.append(dV.begin(), dV.end());
    return next;
  }
};

} // namespace

void bindKeyValueGradArgs(BackwardContext &k, ValueRange args) {
  ValueRange rest = bindGradientInputs(k, args);
  k.keyGrad = rest[0];
  k.valueGrad = rest[1];
  // dkdv_dq: dq_accum before the constants.
  unsigned next = 2;
  if (k.grad.atomicQuery)
    k.queryGradAccum = rest[next++];
  if (k.grad.storeScoreGrads)
    k.scoreGrad = rest[next++];
  if (k.grad.compactScoreGrads)
    k.scoreGradSlots = rest[next++];
  k.bounds = rest[next];
  k.work = rest[next + 1];
  bindTensorMaps(k, args, /*storeMaps=*/2);
}

Value loadKeyTileWorkItem(ImplicitLocOpBuilder &b, BackwardContext &k) {
  GpuArith e{b};
  Value item = blockItemIndex(b, k);
  WorkItemEntry entry = loadWorkItem(b, k.work, item);
  k.blockItem = item;
  k.blockEntry = entry;
  if (k.grad.prefetchesSuccessor())
    setSuccessor(k,
                 loadSuccessorEntry(b, k.work, item, k.cfg.successorPrefetch));
  k.batchIdx = entry.batch;
  k.kvHead = entry.head;
  return e.mul(entry.tile, e.index(k.grad.ownRows()));
}

std::unique_ptr<BackwardBlockBody>
createKeyValueGradBody(const BackwardConfig &grad) {
  assert(!grad.warpSpecialized && "the classic kernel's body");
  return std::make_unique<KeyValueGradKernel>(grad);
}

gpu::GPUFuncOp buildKeyValueGradKernel(OpBuilder &moduleBuilder, Location loc,
                                       StringRef name, ArrayRef<Type> argTypes,
                                       const BackwardConfig &grad) {
  if (grad.warpSpecialized)
    return buildKeyValueGradKernelWs(moduleBuilder, loc, name, argTypes, grad);
  return KeyValueGradKernel(grad).build(moduleBuilder, loc, name, argTypes);
}

} // namespace mlir::spa::gpu_kernel
