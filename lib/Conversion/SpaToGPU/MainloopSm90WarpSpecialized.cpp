//===- MainloopSm90WarpSpecialized.cpp - producer and consumers (sm_90a) --===//
//
// forward-schedule = ws: FlashAttention-3's split of the forward into a
// producer and consumers. The serial kernels end every key tile in a block
// barrier (a warp's wgmma wait does not cover the other warps' reads of the
// tile it is about to overwrite), and one thread of the computing warps
// issues the copies. Here `warps` consumer warps (one or two warpgroups of
// 64 query rows) only compute, and the first lane of one more warpgroup
// issues every copy; they meet on mbarriers:
//
//   thread 0: barriers initialised, Q's TMA copy issued; block barrier
//   producer (warpgroup `warps / 4`, setmaxnreg.dec; lane 0 of its first
//   warp), per key tile c of the item (the skeleton's ranges and loops):
//     wait empty[c % S] (the release of tile c - S)
//     K, V of tile c -> buffer c % S by TMA, completing on full[c % S]
//   consumers (setmaxnreg.inc): wait for Q, then per key tile c:
//     wait full[c % S]
//     if the warpgroup's 64 rows reach the tile (two warpgroups: the first
//     and last tiles of a band range often reach one only):
//       S = Q K^T; softmax; O = alpha O + P V (wgmma, waited)
//     every consumer thread arrives on empty[c % S]
//     epilogue
//
// Counts: full 1 (the producer's arrival announcing both tiles' bytes),
// empty 32 x warps (every consumer thread, after its own wait for the
// products reading the buffer). The producer runs up to S tiles ahead,
// across the item's ranges. One block a work item (not persistent).
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

  /// Barriers initialised and Q's copy issued by thread 0, before the
  /// block barrier every role passes once.
  void loadQuery(ImplicitLocOpBuilder &b) override {
    computeDescriptors(b);
    onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
      GpuArith e{ib};
      for (Value map : {k.queryMap, k.keyMap, k.valueMap})
        prefetchTensorMap(ib, map);
      initBarrier(ib, queryBarrier, 1);
      for (int64_t s = 0; s < cfg.stages; ++s) {
        initBarrier(ib, barrierAt(ib, fullBarriers(), e.index(s)), 1);
        initBarrier(ib, barrierAt(ib, emptyBarriers(), e.index(s)),
                    int32_t(32 * cfg.warps));
      }
      fenceBarrierInit(ib);
      arriveExpectingBytes(ib, queryBarrier,
                           cfg.tileBytes(cfg.tileQ(), cfg.headDim));
      loadTileByMap(ib, k.queryMap, qTile, Value(), queryBarrier, k.batchIdx,
                    k.head, k.i0, cfg.tileQ(), cfg.headDim);
    });
    gpu::BarrierOp::create(b);
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
          waitBarrier(ib, queryBarrier,
                      arith::ConstantIntOp::create(ib, ib.getI32Type(), 0));
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

  Value current;          ///< the key tile being computed (its count c)
  Value stage;            ///< its buffer
  Value ownBegin, ownEnd; ///< two warpgroups: the keys this one's rows reach
};

} // namespace

std::unique_ptr<Mainloop> createMainloopSm90WarpSpecialized(KernelContext &k) {
  return std::make_unique<MainloopSm90WarpSpecialized>(k);
}

} // namespace mlir::spa::gpu_kernel
