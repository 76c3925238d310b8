//===- WarpSpecializedRoles.h - producer and consumer roles -*- C++ -*-===//
//
// What the warp-specialised forward mainloops share, as a mixin over an
// sm_90a mainloop (MainloopSm90Base or the overlapped ring): the barriers
// (initialised once, before the only block barrier), the split into a
// producer warpgroup (setmaxnreg.dec; its first lane issues every TMA copy)
// and consumer warpgroups (setmaxnreg.inc), Q loaded per work item once
// the consumers released the previous item's, and the producer's K/V ring:
//
//   producer, per key tile c (counted across the block's items):
//     wait empty[c % S] (the release of tile c - S)
//     K, V of tile c -> buffer c % S by TMA, completing on full[c % S]
//
// The consumers' side of the ring (waiting on full, arriving on empty)
// belongs to the mainloop the mixin is applied to. Counts: Q's barrier and
// full 1 (the producer's arrival announcing the bytes), Q's release and
// empty 32 x warps (every consumer thread, after its own wait for the
// products reading the buffer).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_WARPSPECIALIZEDROLES_H
#define SPA_LIB_CONVERSION_SPATOGPU_WARPSPECIALIZEDROLES_H

#include "MainloopSm90.h"

namespace mlir::spa::gpu_kernel {

template <typename Sm90Mainloop>
class WarpSpecializedRoles : public Sm90Mainloop {
public:
  explicit WarpSpecializedRoles(KernelContext &k) : Sm90Mainloop(k) {
    assert(this->cfg.warpSpecialized && this->cfg.tensorMaps &&
           "chooseWarpSpecialized admits this mainloop");
  }

  /// Thread 0 initialises the barriers before the only block barrier.
  void beforeRoles(ImplicitLocOpBuilder &b) override {
    const KernelConfig &cfg = this->cfg;
    KernelContext &k = this->k;
    this->computeDescriptors(b);
    queryEmpty = sharedBarrier(b, dynamicSharedBytes(b, cfg.sharedBytes()),
                               cfg.barrierOffset() + 8 * (1 + 2 * cfg.stages));
    queryRing = TileRing(b, 1);
    onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
      GpuArith e{ib};
      for (Value map : {k.queryMap, k.keyMap, k.valueMap})
        prefetchTensorMap(ib, map);
      initBarrier(ib, this->queryBarrier, 1);
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
    const KernelConfig &cfg = this->cfg;
    KernelContext &k = this->k;
    Value n = queryRing.taken(b);
    queryRing.waitForRelease(b, queryEmpty, n);
    arriveExpectingBytes(b, this->queryBarrier,
                         cfg.tileBytes(cfg.tileQ(), cfg.headDim));
    loadTileByMap(b, k.queryMap, this->qTile, Value(), this->queryBarrier,
                  k.batchIdx, k.head, k.i0, cfg.tileQ(), cfg.headDim);
    queryRing.take(b, n);
  }

  void acquireQuery(ImplicitLocOpBuilder &b) override {
    currentQuery = queryRing.taken(b);
    queryRing.waitFor(b, this->queryBarrier, currentQuery);
  }

  /// Every product reading Q has been waited for.
  void releaseQuery(ImplicitLocOpBuilder &b) override {
    arriveBarrier(b, queryEmpty);
    queryRing.take(b, currentQuery);
  }

  void splitRoles(ImplicitLocOpBuilder &b,
                  function_ref<void(ImplicitLocOpBuilder &)> produce,
                  function_ref<void(ImplicitLocOpBuilder &)> consume) override {
    const KernelConfig &cfg = this->cfg;
    KernelContext &k = this->k;
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
          beforeConsuming(ib);
          consume(ib);
          afterConsuming(ib);
          scf::YieldOp::create(ib);
        });
  }

  void produceTile(ImplicitLocOpBuilder &b, Value j0,
                   const KeyRange &) override {
    const KernelConfig &cfg = this->cfg;
    KernelContext &k = this->k;
    const TileRing &ring = this->ring;
    Value c = ring.taken(b);
    Value buffer = ring.buffer(b, c);
    ring.waitForRelease(b, emptyBarriers(), c);
    Value full = barrierAt(b, fullBarriers(), buffer);
    arriveExpectingBytes(b, full,
                         cfg.tileBytes(cfg.tileK, cfg.headDim) +
                             cfg.tileBytes(cfg.tileK, cfg.valueDim));
    loadTileByMap(b, k.keyMap, this->kTile, buffer, full, k.batchIdx, k.kvHead,
                  j0, cfg.tileK, cfg.headDim);
    loadTileByMap(b, k.valueMap, this->vTile, buffer, full, k.batchIdx,
                  k.kvHead, j0, cfg.tileK, cfg.valueDim);
    ring.take(b, c);
  }

protected:
  /// Every consumer thread, before its first work item and after its last.
  virtual void beforeConsuming(ImplicitLocOpBuilder &) {}
  virtual void afterConsuming(ImplicitLocOpBuilder &) {}

  /// The base's K and V barrier arrays serve as full and empty here (the
  /// overlapped ring already waits for K and V together on the first).
  Value fullBarriers() const { return this->keyBarriers; }
  Value emptyBarriers() const { return this->valueBarriers; }

private:
  Value queryEmpty;   ///< Q's release: every consumer thread, per item
  TileRing queryRing; ///< the items this thread's role has taken
  Value currentQuery; ///< consumers: the item being computed (its count)
};

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_WARPSPECIALIZEDROLES_H
