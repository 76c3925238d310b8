//===- MainloopSm90.cpp - cp.async + wgmma mainloops (sm_90a) -------------===//
//
// The Hopper kernels: one warpgroup per 64 query rows; Q, K and V tiles in
// 128-byte-swizzled dynamic shared memory filled by cp.async (zero-fill past
// N) in commit groups, or, with cfg.tensorMaps, by TMA copies thread 0
// issues from the launcher's tensor maps (zeros past N too), completing on
// mbarriers (Q's, one per K buffer, one per V buffer); S = Q K^T by wgmma
// from shared memory, O += P V by wgmma with P in registers. Two copy
// schedules:
//
//   chained (stages = 1): one K and one V buffer. A work item's key ranges
//     (intervals and sides) form one tile sequence: the next K copy overlaps
//     softmax and P V, the next V copy overlaps the next Q K^T, and the last
//     tile of a range prefetches the first tile of the next non-empty range.
//   ring (stages > 1): `stages` K/V buffers per range; tile t + stages - 1
//     is copied while tile t is computed.
//
// With TMA both schedules count the work item's key tiles across ranges
// (TileRing, AsyncBarriers.h): tile c sits in buffer c % stages and
// completes phase c / stages of that buffer's barriers, so each barrier is
// initialised once per block.
//
// The dynamic shared memory is an external workgroup global
// (`spa_dynamic_shared`, sized at launch): gpu.dynamic_shared_memory lowers
// to a 1-byte static variable in MLIR 22 (pinned by test/Toolchain).
//
//===----------------------------------------------------------------------===//

#include "MainloopSm90.h"
#include "AsyncBarriers.h"
#include "KernelSkeleton.h"
#include "TensorMaps.h"
#include "TileCopies.h"
#include "Wgmma.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

/// stages = 1: one K and one V buffer, ranges chained into one sequence.
class MainloopSm90Chained : public MainloopSm90Base {
public:
  using MainloopSm90Base::MainloopSm90Base;

  /// follow[r] = (whether a non-empty range comes after range r, its first
  /// key). Prologue: the first tile of the first non-empty range, one copy
  /// group for K (with Q) and one for V; every tile keeps this shape. With
  /// TMA, then the wait for Q (defersQueryWait).
  void beginRanges(ImplicitLocOpBuilder &b,
                   ArrayRef<KeyRange> ranges) override {
    GpuArith e{b};
    follow.assign(ranges.size(), NextTile());
    Value none = arith::ConstantIntOp::create(b, b.getI1Type(), 0);
    follow.back() = {none, e.index(0)};
    for (int64_t r = ranges.size() - 2; r >= 0; --r) {
      const KeyRange &n = ranges[r + 1];
      Value nonEmpty = e.cmp(P::slt, n.begin, n.end);
      follow[r] = {e.ori(nonEmpty, follow[r + 1].exists),
                   e.select(nonEmpty, n.begin, follow[r + 1].start)};
    }
    Value nonEmpty = e.cmp(P::slt, ranges[0].begin, ranges[0].end);
    Value any = e.ori(nonEmpty, follow[0].exists);
    Value first = e.select(nonEmpty, ranges[0].begin, follow[0].start);
    prefetch(b, any, first, Value(), Copy::Key);
    prefetch(b, any, first, Value(), Copy::Value);
    if (defersQueryWait())
      waitForQuery(b);
  }

  /// K(j) (and Q) landed; V(j) may still be in flight. After Q K^T the K
  /// buffer takes the next tile: in this range, else the next non-empty
  /// range's first.
  SmallVector<Value> computeScores(ImplicitLocOpBuilder &b, Value j0,
                                   const KeyRange &range,
                                   size_t r) override {
    GpuArith e{b};
    if (cfg.tensorMaps)
      ring.waitFor(b, keyBarriers, ring.taken(b));
    else
      waitForCopies(b, 1);
    SmallVector<Value> scores = wgmmaScores(b, e.index(0));
    afterWgmma(b); // every warp is done with K(j)
    Value inRange = e.cmp(P::slt, e.add(j0, e.index(cfg.tileK)), range.end);
    next.exists = e.ori(inRange, follow[r].exists);
    next.start =
        e.select(inRange, e.add(j0, e.index(cfg.tileK)), follow[r].start);
    prefetch(b, next.exists, next.start, Value(), Copy::Key);
    return scores;
  }

  /// V(j) landed; K(j + 1) may still be in flight. After P V the V buffer
  /// takes the next tile.
  SmallVector<Value> accumulateValues(ImplicitLocOpBuilder &b,
                                      ArrayRef<Value> probs,
                                      SmallVector<Value> acc) override {
    GpuArith e{b};
    if (cfg.tensorMaps) {
      Value c = ring.taken(b);
      ring.waitFor(b, valueBarriers, c);
      ring.take(b, c);
    } else {
      waitForCopies(b, 1);
    }
    acc = wgmmaValues(b, probs, acc, e.index(0));
    afterWgmma(b); // every warp is done with V(j)
    prefetch(b, next.exists, next.start, Value(), Copy::Value);
    return acc;
  }

private:
  SmallVector<NextTile> follow; ///< per range: the next range's first tile
  NextTile next;                ///< the tile after the current one
};

/// stages > 1: a ring of K/V buffers, each range on its own. With two
/// warpgroups and TMA each warpgroup skips the key tiles its 64 rows do
/// not reach (skipsTiles): the ring's copies, waits and the block barrier
/// after each tile move to beginTile and endTile, which every thread runs,
/// and only the products and the softmax are conditional. 128-row items
/// then multiply what 64-row items would, while reading each K and V tile
/// from L2 once for both warpgroups.
class MainloopSm90Ring : public MainloopSm90Base {
public:
  using MainloopSm90Base::MainloopSm90Base;

  /// Tiles 0 .. stages - 2 of the range, one group each (K and V together)
  /// into buffers 0 .. stages - 2.
  void beginRange(ImplicitLocOpBuilder &b, const KeyRange &range) override {
    GpuArith e{b};
    // TMA: the range's tiles continue the work item's count c.
    Value first = cfg.tensorMaps ? ring.taken(b) : Value();
    for (int64_t t = 0; t + 1 < cfg.stages; ++t) {
      Value j0 = e.add(range.begin, e.index(t * cfg.tileK));
      Value buffer =
          first ? e.rem(e.add(first, e.index(t)), e.index(cfg.stages))
                : e.index(t);
      prefetch(b, e.cmp(P::slt, j0, range.end), j0, buffer, Copy::Both);
    }
    if (skipsTiles())
      std::tie(ownBegin, ownEnd) = warpgroupKeyRange(b, range);
  }

  /// Skipping: every thread's part of the tile (the copy ahead, the wait),
  /// and whether this warpgroup's rows reach it.
  Value beginTile(ImplicitLocOpBuilder &b, Value j0,
                  const KeyRange &range) override {
    if (!skipsTiles())
      return Value();
    awaitTile(b, j0, range);
    return tileReaches(b, j0, ownBegin, ownEnd);
  }

  SmallVector<Value> computeScores(ImplicitLocOpBuilder &b, Value j0,
                                   const KeyRange &range, size_t) override {
    if (!skipsTiles())
      awaitTile(b, j0, range);
    return wgmmaScores(b, stage);
  }

  SmallVector<Value> accumulateValues(ImplicitLocOpBuilder &b,
                                      ArrayRef<Value> probs,
                                      SmallVector<Value> acc) override {
    acc = wgmmaValues(b, probs, acc, stage);
    if (!skipsTiles())
      afterWgmma(b); // buffer `stage` is refilled next iteration
    return acc;
  }

  /// Skipping: the block barrier after the tile, computed or not.
  void endTile(ImplicitLocOpBuilder &b) override {
    if (skipsTiles())
      afterWgmma(b); // buffer `stage` is refilled next iteration
  }

private:
  Value stage;            ///< ring buffer of the current tile
  Value ownBegin, ownEnd; ///< skipping: the keys this warpgroup's rows reach

  bool skipsTiles() const { return cfg.warps == 8 && cfg.tensorMaps; }

  /// The copy of tile t + stages - 1 of the range, then the wait for tile
  /// t (`stage` set to its buffer).
  void awaitTile(ImplicitLocOpBuilder &b, Value j0, const KeyRange &range) {
    GpuArith e{b};
    // cp.async: tile t of the range; TMA: the work item's tile c.
    Value t = cfg.tensorMaps
                  ? ring.taken(b)
                  : e.div(e.sub(j0, range.begin), e.index(cfg.tileK));
    Value ahead = e.add(j0, e.index((cfg.stages - 1) * cfg.tileK));
    prefetch(b, e.cmp(P::slt, ahead, range.end), ahead,
             e.rem(e.add(t, e.index(cfg.stages - 1)), e.index(cfg.stages)),
             Copy::Both);
    if (cfg.tensorMaps) {
      ring.waitFor(b, keyBarriers, t); // K and V of tile c
      ring.take(b, t);
    } else {
      waitForCopies(b, cfg.stages - 1); // tile t landed
    }
    stage = e.rem(t, e.index(cfg.stages));
  }
};

} // namespace

std::unique_ptr<Mainloop> createMainloopSm90(KernelContext &k) {
  if (k.cfg.schedule() == Schedule::WgmmaOverlap)
    return createMainloopSm90Overlap(k);
  if (k.cfg.schedule() == Schedule::WgmmaWarpSpecialized ||
      k.cfg.schedule() == Schedule::WgmmaWarpSpecializedOverlap)
    return createMainloopSm90WarpSpecialized(k);
  if (k.cfg.schedule() == Schedule::WgmmaRing)
    return std::make_unique<MainloopSm90Ring>(k);
  return std::make_unique<MainloopSm90Chained>(k);
}

} // namespace mlir::spa::gpu_kernel
