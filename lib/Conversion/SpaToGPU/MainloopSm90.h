//===- MainloopSm90.h - what the wgmma mainloops share ---------*- C++ -*-===//
//
// The base of the sm_90a mainloops (MainloopSm90.cpp: chained and ring;
// MainloopSm90Overlap.cpp: the in-warpgroup overlapped ring;
// MainloopSm90WarpSpecialized.cpp: producer and consumers): the swizzled
// Q, K and V tiles and their descriptors, the Q copy, the K/V copies (by
// cp.async or TMA) and the two wgmma products.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_MAINLOOPSM90_H
#define SPA_LIB_CONVERSION_SPATOGPU_MAINLOOPSM90_H

#include "AsyncBarriers.h"
#include "KernelSkeleton.h"
#include "Mainloop.h"
#include "TensorMaps.h"
#include "TileCopies.h"
#include "Wgmma.h"

#include "spa/Conversion/Utils/BandGeometry.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::spa::gpu_kernel {

enum class Copy { Key, Value, Both };

/// What both schedules share: the swizzled tiles, their descriptors, the Q
/// copy, the copy groups and the two wgmma products.
class MainloopSm90Base : public Mainloop {
public:
  using Mainloop::Mainloop;

  void setupSharedMemory(ImplicitLocOpBuilder &b, gpu::GPUFuncOp) override {
    GpuArith e{b};
    Value whole = dynamicSharedBytes(b, cfg.sharedBytes());
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    // [stages][width / 64][rows][64]: the layout wgmma descriptors read.
    int64_t offset = 0;
    auto view = [&](ArrayRef<int64_t> stages, int64_t rows, int64_t width) {
      SmallVector<int64_t> shape(stages);
      shape.append({width / 64, rows, 64});
      auto type = MemRefType::get(shape, cfg.elementType,
                                  MemRefLayoutAttrInterface(), workgroup);
      Value tile =
          memref::ViewOp::create(b, type, whole, e.index(offset), ValueRange{});
      offset += cfg.tileBytes(rows, width) * (stages.empty() ? 1 : stages[0]);
      return tile;
    };
    qTile = view({}, cfg.tileQ(), cfg.headDim);
    kTile = view({cfg.stages}, cfg.tileK, cfg.headDim);
    vTile = view({cfg.stages}, cfg.tileK, cfg.valueDim);
    if (cfg.tensorMaps) {
      queryBarrier = sharedBarrier(b, whole, cfg.barrierOffset());
      keyBarriers = sharedBarrier(b, whole, cfg.barrierOffset() + 8);
      valueBarriers =
          sharedBarrier(b, whole, cfg.barrierOffset() + 8 * (1 + cfg.stages));
      ring = TileRing(b, cfg.stages);
    }
  }

  /// Q stays in shared memory (wgmma reads A through a descriptor); its
  /// copies join the first key tile's K group. Warpgroup w multiplies query
  /// rows [64 w, 64 w + 64).
  void loadQuery(ImplicitLocOpBuilder &b) override {
    computeDescriptors(b);
    if (cfg.tensorMaps)
      return loadQueryByMap(b);
    copySwizzled(b, k, k.query, k.head, k.i0, cfg.tileQ(), k.queryLen,
                 cfg.headDim, qTile);
  }

  /// The Q copies of an item whose key ranges are all empty (cp.async; a
  /// TMA Q tile was waited for where it was issued, loadQueryByMap, or in
  /// beginRanges where defersQueryWait).
  void endRanges(ImplicitLocOpBuilder &b) override {
    if (!cfg.tensorMaps)
      NVVM::CpAsyncWaitGroupOp::create(b, 0);
  }

  /// Chained and ring kernels (one item a block, every tile's products
  /// followed by a block barrier): O goes out through Q's tile where it is
  /// no wider than Q.
  Value epilogueStaging() const override {
    return cfg.stagesEpilogue() ? qTile : Value();
  }

protected:
  /// Two warpgroups a 128-row item: the keys this warpgroup's rows [64 w,
  /// 64 w + 64) reach through the range, a sub-range of the item's (the
  /// first and last key tiles of a band often reach one warpgroup only).
  std::pair<Value, Value> warpgroupKeyRange(ImplicitLocOpBuilder &b,
                                            const KeyRange &range) {
    GpuArith e{b};
    Value first =
        e.add(k.firstPos, e.mul(e.div(k.warp, e.index(4)), e.index(64)));
    BandGeometry rows{e, first, e.add(first, e.index(63)), k.keyLen};
    return rows.keyRange(range.lo, range.hi, range.side);
  }
  /// Whether the key tile at `j0` holds a key of [begin, end).
  Value tileReaches(ImplicitLocOpBuilder &b, Value j0, Value begin,
                    Value end) {
    GpuArith e{b};
    return e.andi(e.cmp(P::slt, j0, end),
                  e.cmp(P::sgt, e.add(j0, e.index(cfg.tileK)), begin));
  }

  /// The tiles' wgmma descriptors; this warpgroup's 64 rows of Q.
  void computeDescriptors(ImplicitLocOpBuilder &b) {
    GpuArith e{b};
    Value warpgroup = arith::IndexCastOp::create(b, b.getI64Type(),
                                                 e.div(k.warp, e.index(4)));
    qDesc = arith::AddIOp::create(
        b, descriptor(b, qTile, cfg.tileQ()),
        arith::MulIOp::create(b, warpgroup, i64Constant(b, (64 * 128) >> 4)));
    kDesc = descriptor(b, kTile, cfg.tileK);
    vDesc = descriptor(b, vTile, cfg.tileK);
  }

  /// One commit group holding the K and/or V tile starting at key `j0`, in
  /// buffer `stage` (none: buffer 0 of single buffers), when `enabled` (an
  /// empty group otherwise, so that wait counts stay fixed). The copies sit
  /// under an scf.if rather than zero-filling: two in-flight copies to the
  /// same shared bytes have no defined order.
  void prefetch(ImplicitLocOpBuilder &b, Value enabled, Value j0, Value stage,
                Copy what) {
    if (cfg.tensorMaps)
      return prefetchByMaps(b, enabled, j0, stage, what);
    scf::IfOp::create(b, enabled, [&](OpBuilder &nb, Location l) {
      ImplicitLocOpBuilder ib(l, nb);
      Value buffer = stage ? stage : arith::ConstantIndexOp::create(ib, 0);
      if (what != Copy::Value)
        copySwizzled(ib, k, k.key, k.kvHead, j0, cfg.tileK, k.keyLen,
                     cfg.headDim, kTile, buffer);
      if (what != Copy::Key)
        copySwizzled(ib, k, k.value, k.kvHead, j0, cfg.tileK, k.keyLen,
                     cfg.valueDim, vTile, buffer);
      scf::YieldOp::create(ib);
    });
    NVVM::CpAsyncCommitGroupOp::create(b);
  }

  SmallVector<Value> wgmmaScores(ImplicitLocOpBuilder &b, Value stage) {
    return toTiles(
        b, waitForAccumulators(b, issueScores(b, cfg, qDesc, kDesc, stage)));
  }

  SmallVector<Value> wgmmaValues(ImplicitLocOpBuilder &b, ArrayRef<Value> probs,
                                 ArrayRef<Value> accTiles, Value stage) {
    SmallVector<Value> flat;
    for (Value t : accTiles)
      appendFlat(b, t, flat);
    flat = issueValues(b, cfg, vDesc, packProbabilities(b, cfg, probs), flat,
                       stage);
    return toTiles(b, waitForAccumulators(b, flat));
  }

  /// Chained with TMA: every thread waits for Q in beginRanges, after the
  /// first K and V copies are issued, so that the item's first two loads
  /// are in flight together (Nsight Compute's stall sampling had a tenth of
  /// the forward's warp time in the wait for Q before any K copy left).
  bool defersQueryWait() const {
    return cfg.tensorMaps && cfg.schedule() == Schedule::WgmmaChained;
  }

  /// Every thread's wait for Q's copy (phase 0 of its barrier).
  void waitForQuery(ImplicitLocOpBuilder &b) {
    waitBarrier(b, queryBarrier,
                arith::ConstantIntOp::create(b, b.getI32Type(), 0));
  }

  /// TMA: thread 0 prefetches the maps, initialises the barriers (once per
  /// block) and issues Q's copies; every thread waits for Q (here or, when
  /// defersQueryWait, later) after a block barrier that orders the
  /// initialisation before any wait.
  void loadQueryByMap(ImplicitLocOpBuilder &b) {
    onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
      for (Value map : {k.queryMap, k.keyMap, k.valueMap})
        prefetchTensorMap(ib, map);
      initBarrier(ib, queryBarrier, 1);
      for (int64_t s = 0; s < cfg.stages; ++s) {
        Value index = arith::ConstantIndexOp::create(ib, s);
        initBarrier(ib, barrierAt(ib, keyBarriers, index), 1);
        initBarrier(ib, barrierAt(ib, valueBarriers, index), 1);
      }
      fenceBarrierInit(ib);
      arriveExpectingBytes(ib, queryBarrier,
                           cfg.tileBytes(cfg.tileQ(), cfg.headDim));
      loadTileByMap(ib, k.queryMap, qTile, Value(), queryBarrier, k.batchIdx,
                    k.head, k.i0, cfg.tileQ(), cfg.headDim);
      // successor-prefetch: a later item's Q tile (read by it alone; its K
      // and V tiles are its neighbours' too, so in L2 already) to L2.
      if (cfg.prefetchesSuccessor())
        prefetchSuccessorTiles(ib, k, {{k.queryMap, cfg.headDim}}, cfg.tileQ());
    });
    if (defersQueryWait())
      gpu::BarrierOp::create(b);
    else
      waitFirstPhaseAfterInit(b, queryBarrier);
  }

  /// TMA: K and/or V of the tile at key `j0` into buffer `stage` (none:
  /// buffer 0) when `enabled`, on that buffer's barriers; nothing otherwise
  /// (no arrival, so the phase counts stay per tile).
  void prefetchByMaps(ImplicitLocOpBuilder &b, Value enabled, Value j0,
                      Value stage, Copy what) {
    onFirstThread(
        b, k,
        [&](ImplicitLocOpBuilder &ib) {
          Value buffer = stage ? stage : arith::ConstantIndexOp::create(ib, 0);
          // K and V together (the ring) complete on K's barrier: one
          // arrival announcing both tiles' bytes (the barrier expects one).
          Value keyBarrier = barrierAt(ib, keyBarriers, buffer);
          Value valueBarrier = what == Copy::Both
                                   ? keyBarrier
                                   : barrierAt(ib, valueBarriers, buffer);
          int64_t keyBytes = cfg.tileBytes(cfg.tileK, cfg.headDim);
          int64_t valueBytes = cfg.tileBytes(cfg.tileK, cfg.valueDim);
          if (what == Copy::Both)
            arriveExpectingBytes(ib, keyBarrier, keyBytes + valueBytes);
          else if (what == Copy::Key)
            arriveExpectingBytes(ib, keyBarrier, keyBytes);
          else
            arriveExpectingBytes(ib, valueBarrier, valueBytes);
          if (what != Copy::Value)
            loadTileByMap(ib, k.keyMap, kTile, buffer, keyBarrier, k.batchIdx,
                          k.kvHead, j0, cfg.tileK, cfg.headDim);
          if (what != Copy::Key)
            loadTileByMap(ib, k.valueMap, vTile, buffer, valueBarrier,
                          k.batchIdx, k.kvHead, j0, cfg.tileK, cfg.valueDim);
        },
        enabled);
  }

  /// A warp's wgmma.wait_group does not tell that the other warps' wgmma
  /// reads are done (CUTLASS's consumer release counts every warp too): a
  /// block barrier before a tile is overwritten.
  void afterWgmma(ImplicitLocOpBuilder &b) { gpu::BarrierOp::create(b); }

  Value qTile;               ///< swizzled [D / 64][Tq][64]
  Value kTile, vTile;        ///< [stages][width / 64][Tk][64]
  Value qDesc, kDesc, vDesc; ///< i64 matrix descriptors
  Value queryBarrier;        ///< TMA: Q's mbarrier
  Value keyBarriers;         ///< TMA: the first of `stages` K mbarriers
  Value valueBarriers;       ///< TMA: the first of `stages` V mbarriers
  TileRing ring;             ///< TMA: the item's key tiles so far
};

/// The overlapped ring (cfg.schedule() == Schedule::WgmmaOverlap).
std::unique_ptr<Mainloop> createMainloopSm90Overlap(KernelContext &k);
/// The warp-specialised ring (Schedule::WgmmaWarpSpecialized).
std::unique_ptr<Mainloop> createMainloopSm90WarpSpecialized(KernelContext &k);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_MAINLOOPSM90_H
