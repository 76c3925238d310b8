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
#include "MainloopSm90Overlap.h"
#include "WarpSpecializedRoles.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

class MainloopSm90WarpSpecialized
    : public WarpSpecializedRoles<MainloopSm90Base> {
public:
  using WarpSpecializedRoles::WarpSpecializedRoles;

  /// Two warpgroups: the keys this one's rows reach (warpgroupKeyRange).
  void beginRange(ImplicitLocOpBuilder &b, const KeyRange &range) override {
    if (cfg.warps == 4)
      return;
    std::tie(ownBegin, ownEnd) = warpgroupKeyRange(b, range);
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
    return tileReaches(b, j0, ownBegin, ownEnd);
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
  Value current;          ///< the key tile being computed (its count c)
  Value stage;            ///< its buffer
  Value ownBegin, ownEnd; ///< two warpgroups: the keys this one's rows reach
};

/// forward-schedule = ws-overlap: the overlapped ring's consumers
/// (MainloopSm90Overlap.h: S of tile t in flight with P V of tile t - 1)
/// fed by the producer; a buffer is released by every consumer thread's
/// arrival once its P V is waited for. Every warpgroup computes every tile
/// of the range (masked where its rows do not reach), so both warpgroups
/// issue the same sequence of products.
///
/// ws-pingpong (FlashAttention-3's ping-pong): the two consumer warpgroups
/// take turns to issue. Warpgroup w waits on named barrier 1 + w before
/// each issue and, once its groups are issued, arrives on the other's
/// (bar.sync / bar.arrive, 256 threads: the waiting warpgroup's 128 and the
/// other's 128 arrivals). The tensor pipe then runs one warpgroup's
/// products while the other computes its softmax, instead of both
/// warpgroups issuing and then both computing their softmax at once.
/// Warpgroup 0 arrives on its own barrier once before its first item so
/// that it goes first, and waits once after its last to take warpgroup
/// 1's last arrival: every barrier phase completes before the block exits.
class MainloopSm90WarpSpecializedOverlap
    : public WarpSpecializedRoles<MainloopSm90Overlap> {
public:
  using WarpSpecializedRoles::WarpSpecializedRoles;

  /// The producer fills the ring; nothing to copy here.
  void beginRange(ImplicitLocOpBuilder &, const KeyRange &) override {}

protected:
  void releaseTile(ImplicitLocOpBuilder &b, const KeyRange &, Value,
                   Value stage) override {
    arriveBarrier(b, barrierAt(b, emptyBarriers(), stage));
  }
  void releaseLastTile(ImplicitLocOpBuilder &b, Value stage) override {
    arriveBarrier(b, barrierAt(b, emptyBarriers(), stage));
  }

  void beforeConsuming(ImplicitLocOpBuilder &b) override {
    if (cfg.pingPong)
      onFirstWarpgroup(b, [&](ImplicitLocOpBuilder &ib) {
        turnBarrier(ib, GpuArith{ib}.index(0), /*arrive=*/true);
      });
  }
  void afterConsuming(ImplicitLocOpBuilder &b) override {
    if (cfg.pingPong)
      onFirstWarpgroup(b, [&](ImplicitLocOpBuilder &ib) {
        turnBarrier(ib, GpuArith{ib}.index(0), /*arrive=*/false);
      });
  }
  void beforeIssue(ImplicitLocOpBuilder &b) override {
    if (cfg.pingPong)
      turnBarrier(b, ownWarpgroup(b), /*arrive=*/false);
  }
  void afterIssue(ImplicitLocOpBuilder &b) override {
    if (cfg.pingPong) {
      GpuArith e{b};
      turnBarrier(b, e.sub(e.index(1), ownWarpgroup(b)), /*arrive=*/true);
    }
  }

private:
  /// Named barriers 1 and 2 (0 is the block barrier), one a warpgroup.
  static constexpr int32_t kFirstTurnBarrier = 1;

  Value ownWarpgroup(ImplicitLocOpBuilder &b) {
    GpuArith e{b};
    return e.div(k.warp, e.index(4));
  }

  /// bar.sync (or bar.arrive) on `warpgroup`'s turn barrier, counting both
  /// warpgroups' threads.
  void turnBarrier(ImplicitLocOpBuilder &b, Value warpgroup, bool arrive) {
    GpuArith e{b};
    Value id = arith::IndexCastOp::create(
        b, b.getI32Type(), e.add(warpgroup, e.index(kFirstTurnBarrier)));
    Value threads = arith::ConstantIntOp::create(b, b.getI32Type(), 256);
    if (arrive)
      NVVM::BarrierArriveOp::create(b, id, threads);
    else
      NVVM::BarrierOp::create(b, TypeRange{}, id, threads,
                              NVVM::BarrierReductionAttr(), Value());
  }

  void onFirstWarpgroup(ImplicitLocOpBuilder &b,
                        function_ref<void(ImplicitLocOpBuilder &)> body) {
    GpuArith e{b};
    emitIf(b, e.cmp(P::slt, k.warp, e.index(4)), body);
  }
};

} // namespace

std::unique_ptr<Mainloop> createMainloopSm90WarpSpecialized(KernelContext &k) {
  if (k.cfg.overlap)
    return std::make_unique<MainloopSm90WarpSpecializedOverlap>(k);
  return std::make_unique<MainloopSm90WarpSpecialized>(k);
}

} // namespace mlir::spa::gpu_kernel
