//===- MainloopSm90WarpSpecialized.cpp - producer and consumers (sm_90a) --===//
//
// forward-schedule = ws: FlashAttention-3's split of the forward into a
// producer and consumers, in a persistent grid. The serial kernels end
// every key tile in a block barrier (a warp's wgmma wait does not cover the
// other warps' reads of the tile it is about to overwrite), one thread of
// the computing warps issues the copies, and a block's start (barriers, Q)
// and end (epilogue) leave the tensor cores idle. Here `warps` consumer
// warps (one or two warpgroups of 64 query rows) only compute, the first
// lane of one more warpgroup issues every copy, and each block loops over
// work items (KernelSkeleton's forEachItem); the roles meet on mbarriers:
//
//   thread 0: barriers initialised; the only block barrier
//   producer (setmaxnreg.dec), per work item n of the block:
//     wait Q's release of item n - 1; Q of item n by TMA on Q's barrier
//     per key tile c (counted across items; the skeleton's ranges):
//       wait empty[c % S] (the release of tile c - S)
//       K, V of tile c -> buffer c % S by TMA, completing on full[c % S]
//   consumers (setmaxnreg.inc), per work item n:
//     wait for Q (phase n)
//     per key tile c: wait full[c % S]
//       if the warpgroup's 64 rows reach the tile (two warpgroups: the
//       first and last tiles of a band range often reach one only):
//         S = Q K^T; softmax; O = alpha O + P V (wgmma, waited)
//       every consumer thread arrives on empty[c % S]
//     every consumer thread arrives on Q's release; epilogue
//
// Counts: Q's barrier and full 1 (the producer's arrival announcing the
// bytes), Q's release and empty 32 x warps (every consumer thread, after
// its own wait for the products reading the buffer). The producer runs up
// to S tiles ahead, into the next item while the consumers finish one.
//
//===----------------------------------------------------------------------===//

#include "MainloopSm90.h"

#include "spa/Conversion/Utils/BandGeometry.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

class MainloopSm90WarpSpecialized : public MainloopSm90Base {
public:
  explicit MainloopSm90WarpSpecialized(KernelContext &k) : MainloopSm90Base(k) {
    assert(cfg.warpSpecialized && cfg.tensorMaps &&
           "chooseWarpSpecialized admits this mainloop");
  }

  /// Thread 0 initialises the barriers before the only block barrier.
  void beforeRoles(ImplicitLocOpBuilder &b) override {
    computeDescriptors(b);
    queryEmpty = sharedBarrier(b, dynamicSharedBytes(b, cfg.sharedBytes()),
                               cfg.barrierOffset() + 8 * (1 + 2 * cfg.stages));
    queryRing = TileRing(b, 1);
    onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
      GpuArith e{ib};
      for (Value map : {k.queryMap, k.keyMap, k.valueMap})
        prefetchTensorMap(ib, map);
      initBarrier(ib, queryBarrier, 1);
      initBarrier(ib, queryEmpty, int32_t(32 * cfg.warps));
      for (int64_t s = 0; s < cfg.stages; ++s) {
        initBarrier(ib, barrierAt(ib, fullBarriers(), e.index(s)), 1);
        initBarrier(ib, barrierAt(ib, emptyBarriers(), e.index(s)),
                    int32_t(32 * cfg.warps));
      }
      fenceBarrierInit(ib);
    });
    gpu::BarrierOp::create(b);
  }

  /// The producer: item n's Q once the consumers released item n - 1's.
  void loadQuery(ImplicitLocOpBuilder &b) override {
    Value n = queryRing.taken(b);
    queryRing.waitForRelease(b, queryEmpty, n);
    arriveExpectingBytes(b, queryBarrier,
                         cfg.tileBytes(cfg.tileQ(), cfg.headDim));
    loadTileByMap(b, k.queryMap, qTile, Value(), queryBarrier, k.batchIdx,
                  k.head, k.i0, cfg.tileQ(), cfg.headDim);
    queryRing.take(b, n);
  }

  void acquireQuery(ImplicitLocOpBuilder &b) override {
    currentQuery = queryRing.taken(b);
    queryRing.waitFor(b, queryBarrier, currentQuery);
  }

  /// Every product reading Q has been waited for.
  void releaseQuery(ImplicitLocOpBuilder &b) override {
    arriveBarrier(b, queryEmpty);
    queryRing.take(b, currentQuery);
  }

  void splitRoles(ImplicitLocOpBuilder &b,
                  function_ref<void(ImplicitLocOpBuilder &)> produce,
                  function_ref<void(ImplicitLocOpBuilder &)> consume) override {
    GpuArith e{b};
    WarpSpecializedBudget budget = warpSpecializedBudget(cfg.warps);
    scf::IfOp::create(
        b, e.cmp(P::sge, k.warp, e.index(cfg.warps)),
        [&](OpBuilder &nb, Location l) {
          ImplicitLocOpBuilder ib(l, nb);
          NVVM::SetMaxRegisterOp::create(ib, budget.producerRegisters,
                                         NVVM::SetMaxRegisterAction::decrease);
          GpuArith ie{ib};
          Value issuer = ie.andi(ie.cmp(P::eq, k.warp, ie.index(cfg.warps)),
                                 ie.cmp(P::eq, k.lane, ie.index(0)));
          scf::IfOp::create(ib, issuer, [&](OpBuilder &pb, Location pl) {
            ImplicitLocOpBuilder wb(pl, pb);
            produce(wb);
            scf::YieldOp::create(wb);
          });
          scf::YieldOp::create(ib);
        },
        [&](OpBuilder &nb, Location l) {
          ImplicitLocOpBuilder ib(l, nb);
          NVVM::SetMaxRegisterOp::create(ib, budget.consumerRegisters,
                                         NVVM::SetMaxRegisterAction::increase);
          consume(ib);
          scf::YieldOp::create(ib);
        });
  }

  void produceTile(ImplicitLocOpBuilder &b, Value j0,
                   const KeyRange &) override {
    Value c = ring.taken(b);
    Value buffer = ring.buffer(b, c);
    ring.waitForRelease(b, emptyBarriers(), c);
    Value full = barrierAt(b, fullBarriers(), buffer);
    arriveExpectingBytes(b, full,
                         cfg.tileBytes(cfg.tileK, cfg.headDim) +
                             cfg.tileBytes(cfg.tileK, cfg.valueDim));
    loadTileByMap(b, k.keyMap, kTile, buffer, full, k.batchIdx, k.kvHead, j0,
                  cfg.tileK, cfg.headDim);
    loadTileByMap(b, k.valueMap, vTile, buffer, full, k.batchIdx, k.kvHead, j0,
                  cfg.tileK, cfg.valueDim);
    ring.take(b, c);
  }

  /// Two warpgroups: the rows of this one, [64 w, 64 w + 64) of the tile,
  /// reach a sub-range of the item's range (the first and last key tiles
  /// of a band often reach one warpgroup only).
  void beginRange(ImplicitLocOpBuilder &b, const KeyRange &range) override {
    if (cfg.warps == 4)
      return;
    GpuArith e{b};
    Value first =
        e.add(k.firstPos, e.mul(e.div(k.warp, e.index(4)), e.index(64)));
    BandGeometry rows{e, first, e.add(first, e.index(63)), k.keyLen};
    std::tie(ownBegin, ownEnd) = rows.keyRange(range.lo, range.hi, range.side);
  }

  /// Every consumer waits for the tile (a release before the tile landed
  /// would count towards the previous use of its buffer); a warpgroup
  /// whose rows do not reach it skips the products.
  Value beginTile(ImplicitLocOpBuilder &b, Value j0,
                  const KeyRange &) override {
    current = ring.taken(b);
    ring.waitFor(b, fullBarriers(), current);
    stage = ring.buffer(b, current);
    if (cfg.warps == 4)
      return Value();
    GpuArith e{b};
    return e.andi(e.cmp(P::slt, j0, ownEnd),
                  e.cmp(P::sgt, e.add(j0, e.index(cfg.tileK)), ownBegin));
  }

  SmallVector<Value> computeScores(ImplicitLocOpBuilder &b, Value,
                                   const KeyRange &, size_t) override {
    return wgmmaScores(b, stage);
  }

  SmallVector<Value> accumulateValues(ImplicitLocOpBuilder &b,
                                      ArrayRef<Value> probs,
                                      SmallVector<Value> acc) override {
    return wgmmaValues(b, probs, acc, stage);
  }

  /// wgmmaValues waited for the product, so this thread's reads of the
  /// buffer are done; the buffer is free once every consumer arrived.
  void endTile(ImplicitLocOpBuilder &b) override {
    arriveBarrier(b, barrierAt(b, emptyBarriers(), stage));
    ring.take(b, current);
  }

private:
  /// The base's K and V barrier arrays serve as full and empty here.
  Value fullBarriers() const { return keyBarriers; }
  Value emptyBarriers() const { return valueBarriers; }

  Value queryEmpty;       ///< Q's release: every consumer thread, per item
  TileRing queryRing;     ///< the items this thread's role has taken
  Value currentQuery;     ///< consumers: the item being computed (its count)
  Value current;          ///< the key tile being computed (its count c)
  Value stage;            ///< its buffer
  Value ownBegin, ownEnd; ///< two warpgroups: the keys this one's rows reach
};

} // namespace

std::unique_ptr<Mainloop> createMainloopSm90WarpSpecialized(KernelContext &k) {
  return std::make_unique<MainloopSm90WarpSpecialized>(k);
}

} // namespace mlir::spa::gpu_kernel
