//===- BackwardMainloopSm90.cpp - wgmma backward tiles (sm_90a) -----------===//
//
// The Hopper backward mainloop: one warpgroup per 64 own rows (warps = 4 or
// 8). Tiles live unpadded in 128-byte-swizzled dynamic shared memory (the
// layout wgmma descriptors read, Wgmma.h):
//
//   own K|Q   [D / 64][ownRows][64]      loaded once per work item
//   own V|dO  [Dv / 64][ownRows][64]
//   stream    [2][D / 64][streamRows][64] and [2][Dv / 64][streamRows][64]
//
// Stream tiles arrive in a two-stage ring per interval and side: tile t + 1
// is copied while tile t is multiplied. The copies are every thread's
// cp.async (zero-fill past N), or, with grad.tensorMaps, TMA copies issued
// by thread 0 from the launcher's tensor maps (zeros past N as well) that
// complete on mbarriers: one for the own tiles, one per stream buffer.
// The TMA ring runs on across intervals and sides (TileRing: a work item's
// c-th stream tile lands in buffer c % 2 and completes its barrier's phase
// c / 2), so each barrier is initialised once per block.
//
// grad.stagesStreamLse (the dK/dV kernel): the stream rows' lse follow
// their tile into [2][streamRows] f32 of shared memory, one 4-byte cp.async
// a thread issued with the tile's copies a tile ahead, waited for before
// the block barrier that precedes the tile (its own commit group with TMA,
// the tile's group with cp.async).
//
// grad.stagesStreamDelta: the tile's Delta into one [streamRows] f32
// buffer, one 4-byte cp.async a thread issued in its own commit group at
// the tile's start (after the block barrier that ends every read of the
// previous tile's), waited for behind a second block barrier once dP is
// complete (awaitStreamDelta): one buffer, not two, because two would cost
// the stored-dS kernel its second block an SM beside the staged lse (24
// bytes over at the headline), and the copy has the tile's first two
// products to land in.
//
//   own x stream^T (S^T = K Q^T, dP^T = V dO^T; S = Q K^T, dP = dO V^T):
//     both operands K-major from shared memory, m64n{streamRows}k16.
//   acc += tiles x stream (dV += P^T dO, dK += dS^T Q; dQ += dS K): the f32
//     tiles rounded and packed as register A fragments (the accumulator
//     layout is the A layout), the stream tile as MN-major B (transpose
//     bit), m64n64k16 per 64 columns: inline PTX, since MLIR 22's op takes
//     A from shared memory only.
//
// A wgmma accumulator of warp w holds rows 16 (w % 4) + g (+ 8) of its
// warpgroup's 64 and columns 8 t + 2c (+ 1): the mma.sync 2x2 tile layout,
// so BackwardTile.cpp's masks, recomputation and stores serve both.
//
//===----------------------------------------------------------------------===//

#include "AsyncBarriers.h"
#include "BackwardMainloop.h"
#include "BackwardTile.h"
#include "KernelSkeleton.h"
#include "TensorMaps.h"
#include "TileCopies.h"
#include "Wgmma.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

constexpr int64_t kStages = BackwardConfig::kWgmmaStreamStages;

class BackwardMainloopSm90 : public BackwardMainloop {
public:
  using BackwardMainloop::BackwardMainloop;

  void setupSharedMemory(ImplicitLocOpBuilder &b) override {
    Value whole = dynamicSharedBytes(b, grad.sharedBytes());
    tiles = swizzledBackwardTiles(b, grad, whole);
    tiles.computeDescriptors(b, grad, k.warp);
    auto statView = [&](int64_t offset, int64_t buffers) -> Value {
      auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                  gpu::AddressSpace::Workgroup);
      return memref::ViewOp::create(
          b,
          MemRefType::get({buffers, grad.streamRows()}, b.getF32Type(),
                          MemRefLayoutAttrInterface(), workgroup),
          whole, GpuArith{b}.index(offset), ValueRange{});
    };
    if (grad.stagesStreamLse)
      streamLse = statView(grad.statsOffset(), kStages);
    if (grad.stagesStreamDelta)
      streamDelta = statView(grad.stagedDeltaOffset(), 1);
    if (grad.tensorMaps) {
      ring = TileRing(b, kStages);
      ownBarrier = sharedBarrier(
          b, whole, grad.barrierOffset() + 8 * BackwardConfig::kOwnBarrier);
      streamBarriers = sharedBarrier(
          b, whole,
          grad.barrierOffset() + 8 * BackwardConfig::kStreamBarriers);
    }
  }

  void loadOwn(ImplicitLocOpBuilder &b, Value first, Value second, Value head,
               Value row0, int64_t limit) override {
    if (grad.tensorMaps)
      return loadOwnByMaps(b, head, row0);
    copySwizzled(b, k, first, head, row0, grad.ownRows(),
                 GpuArith{b}.index(limit), cfg.headDim, tiles.own[0]);
    copySwizzled(b, k, second, head, row0, grad.ownRows(),
                 GpuArith{b}.index(limit), cfg.valueDim, tiles.own[1]);
    NVVM::CpAsyncCommitGroupOp::create(b);
    waitForCopies(b, 0);
  }

  /// The first tile of the range into buffer 0 (cp.async) or into the
  /// ring's next buffer (TMA), once every warp is done with the previous
  /// tiles (either buffer).
  void beginStream(ImplicitLocOpBuilder &b, Value first, Value second,
                   Value head, Value begin, Value end, int64_t limit) override {
    GpuArith e{b};
    rangeBegin = begin;
    rangeEnd = end;
    gpu::BarrierOp::create(b);
    Value buffer = e.index(0);
    if (grad.tensorMaps)
      buffer = e.rem(ring.taken(b), e.index(kStages));
    prefetch(b, e.cmp(P::slt, begin, end), first, second, head, begin, limit,
             buffer);
  }

  /// cp.async: tile t = (row0 - begin) / streamRows of the range is in
  /// buffer t % 2. TMA: the work item's c-th stream tile (c counts across
  /// ranges, TileRing) is in buffer c % 2, whose mbarrier completes its
  /// phase c / 2 then; a range starts where the previous one stopped, so
  /// the barriers are initialised once. Either way the copy of the next
  /// tile into the other buffer starts once every warp is done with the
  /// tile before there, then this tile is waited for (cp.async: one group,
  /// the next tile's, may stay in flight; an empty group past the range's
  /// end).
  void loadStream(ImplicitLocOpBuilder &b, Value first, Value second,
                  Value head, Value row0, int64_t limit) override {
    GpuArith e{b};
    Value t = grad.tensorMaps
                  ? ring.taken(b)
                  : e.div(e.sub(row0, rangeBegin), e.index(grad.streamRows()));
    stage = e.rem(t, e.index(kStages));
    Value next = e.add(row0, e.index(grad.streamRows()));
    // This tile's lse copies (issued a tile ago) are done before the
    // barrier, so that every thread sees every thread's after it.
    if (grad.stagesStreamLse && grad.tensorMaps)
      NVVM::CpAsyncWaitGroupOp::create(b, 0);
    gpu::BarrierOp::create(b);
    // After the barrier: every read of the previous tile's Delta is done.
    if (grad.stagesStreamDelta) {
      copyStreamStat(b, Value(), k.delta, streamDelta, head, row0, e.index(0));
      NVVM::CpAsyncCommitGroupOp::create(b);
    }
    prefetch(b, e.cmp(P::slt, next, rangeEnd), first, second, head, next,
             limit, e.rem(e.add(t, e.index(1)), e.index(kStages)));
    // cp.async: this tile's group may not stay in flight; the Delta group
    // and the next tile's may.
    if (!grad.tensorMaps)
      return waitForCopies(b, grad.stagesStreamDelta ? 2 : 1);
    ring.waitFor(b, streamBarriers, t);
    ring.take(b, t);
    // The own tiles' copies, issued before the item's first stream copies
    // so that both latencies overlap; a completed phase passes at once.
    waitOwn(b);
  }

  /// Phase 0 of the own barrier: one work item a block, so the barrier
  /// completes one phase only (a persistent form would count phases).
  void waitOwn(ImplicitLocOpBuilder &b) override {
    if (grad.tensorMaps)
      waitBarrier(b, ownBarrier,
                  arith::ConstantIntOp::create(b, b.getI32Type(), 0));
  }

  SmallVector<Value> ownTimesStreamT(ImplicitLocOpBuilder &b,
                                     Operand which) override {
    Issued product = issueOwnTimesStreamT(b, which);
    return complete(b, {&product}, 0).front();
  }

  SmallVector<Value> accumulate(ImplicitLocOpBuilder &b, ArrayRef<Value> tiles,
                                Operand which,
                                SmallVector<Value> acc) override {
    Issued product = issueAccumulate(b, tiles, which, std::move(acc));
    return complete(b, {&product}, 0).front();
  }

  Issued issueOwnTimesStreamT(ImplicitLocOpBuilder &b,
                              Operand which) override {
    unsigned w = which == Operand::First ? 0 : 1;
    int64_t width = w == 0 ? cfg.headDim : cfg.valueDim;
    return {issueSharedProduct(b, cfg.elementType, tiles.ownDesc[w],
                               grad.ownRows(), streamStage(b, w),
                               grad.streamRows(), width),
            true};
  }

  Issued issueAccumulate(ImplicitLocOpBuilder &b, ArrayRef<Value> tiles,
                         Operand which, SmallVector<Value> acc) override {
    unsigned w = which == Operand::First ? 0 : 1;
    int64_t width = w == 0 ? cfg.headDim : cfg.valueDim;
    SmallVector<Value> flat;
    for (Value tile : acc)
      appendFlat(b, tile, flat);
    SmallVector<Value> words = packAsA(b, cfg.elementType, tiles);
    return {issueRegisterAProduct(b, cfg.elementType, streamStage(b, w),
                                  grad.streamRows(), width, words, flat),
            true, words};
  }

  SmallVector<SmallVector<Value>>
  complete(ImplicitLocOpBuilder &b, ArrayRef<const Issued *> products,
           int64_t pending) override {
    return completeWgmmaProducts(b, products, pending);
  }

  Value ownTileDescriptor(Operand which) override {
    return tiles.ownDesc[which == Operand::First ? 0 : 1];
  }

  Value ownTile(Operand which) const override {
    return tiles.own[which == Operand::First ? 0 : 1];
  }

  Value streamRowScaledLse(ImplicitLocOpBuilder &b, Value row) override {
    if (!grad.stagesStreamLse)
      return Value();
    return lseToLog2(
        b, memref::LoadOp::create(b, streamLse, ValueRange{stage, row}));
  }

  Value streamRowDelta(ImplicitLocOpBuilder &b, Value row) override {
    if (!grad.stagesStreamDelta)
      return Value();
    return memref::LoadOp::create(b, streamDelta,
                                  ValueRange{GpuArith{b}.index(0), row});
  }

  /// The Delta group is the oldest one loadStream left in flight; only the
  /// next tile's lse (TMA) or tiles (cp.async) group may still be after it.
  void awaitStreamDelta(ImplicitLocOpBuilder &b) override {
    if (!grad.stagesStreamDelta)
      return;
    bool laterGroup = !grad.tensorMaps || grad.stagesStreamLse;
    NVVM::CpAsyncWaitGroupOp::create(b, laterGroup ? 1 : 0);
    gpu::BarrierOp::create(b);
  }

private:
  /// One commit group with the stream tiles at `row0` in buffer `buffer`
  /// when `enabled` (an empty group otherwise, so that wait counts stay
  /// fixed). Under an scf.if rather than zero-filled: two copies in flight
  /// to the same bytes have no defined order.
  void prefetch(ImplicitLocOpBuilder &b, Value enabled, Value first,
                Value second, Value head, Value row0, int64_t limit,
                Value buffer) {
    if (grad.tensorMaps) {
      prefetchByMaps(b, enabled, head, row0, buffer);
      if (grad.stagesStreamLse) {
        copyStreamStat(b, enabled, k.lse, streamLse, head, row0, buffer);
        NVVM::CpAsyncCommitGroupOp::create(b);
      }
      return;
    }
    emitIf(b, enabled, [&](ImplicitLocOpBuilder &ib) {
      if (grad.stagesStreamLse)
        copyStreamStat(ib, Value(), k.lse, streamLse, head, row0, buffer);
      copySwizzled(ib, k, first, head, row0, grad.streamRows(),
                   GpuArith{ib}.index(limit), cfg.headDim, tiles.stream[0],
                   buffer);
      copySwizzled(ib, k, second, head, row0, grad.streamRows(),
                   GpuArith{ib}.index(limit), cfg.valueDim, tiles.stream[1],
                   buffer);
    });
    NVVM::CpAsyncCommitGroupOp::create(b);
  }

  /// TMA: thread 0 initialises the barriers (the kernel's first use of
  /// them), announces the own tiles' bytes and issues their copies; a block
  /// barrier orders the initialisation before any thread's wait. Nobody
  /// waits for the copies here: loadStream and waitOwn do.
  void loadOwnByMaps(ImplicitLocOpBuilder &b, Value head, Value row0) {
    onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
      for (int w = 0; w < 2; ++w)
        prefetchTensorMap(ib, k.ownMaps[w]);
      for (int w = 0; w < 2; ++w)
        prefetchTensorMap(ib, k.streamMaps[w]);
      initBarrier(ib, ownBarrier, 1);
      for (int64_t s = 0; s < kStages; ++s)
        initBarrier(ib,
                    barrierAt(ib, streamBarriers,
                              arith::ConstantIndexOp::create(ib, s)),
                    1);
      fenceBarrierInit(ib);
      loadTilePairByMaps(ib, k, k.ownMaps, tiles.own, Value(), ownBarrier, head,
                         row0, grad.ownRows());
      // successor-prefetch: a later item's own tiles (read by it alone)
      // to L2 while this item's are in flight.
      if (grad.prefetchesSuccessor())
        prefetchSuccessorTiles(
            ib, k, {{k.ownMaps[0], cfg.headDim}, {k.ownMaps[1], cfg.valueDim}},
            grad.ownRows());
    });
    gpu::BarrierOp::create(b);
  }

  /// TMA: the stream tiles at `row0` into buffer `buffer` when `enabled`
  /// (nothing otherwise: no arrival, so the phase counts stay per tile).
  void prefetchByMaps(ImplicitLocOpBuilder &b, Value enabled, Value head,
                      Value row0, Value buffer) {
    onFirstThread(
        b, k,
        [&](ImplicitLocOpBuilder &ib) {
          loadTilePairByMaps(ib, k, k.streamMaps, tiles.stream, buffer,
                             barrierAt(ib, streamBarriers, buffer), head, row0,
                             grad.streamRows());
        },
        enabled);
  }

  /// A row statistic (`source`: k.lse or k.delta) of stream rows [row0,
  /// row0 + streamRows) into row `buffer` of `staged`, one 4-byte cp.async
  /// a thread (rows past Nq read row Nq - 1, as loadRowStatistics does:
  /// their pairs are masked), when `enabled` (null: always).
  void copyStreamStat(ImplicitLocOpBuilder &b, Value enabled, Value source,
                      Value staged, Value head, Value row0, Value buffer) {
    GpuArith e{b};
    Value tid = blockThread(b, k);
    for (int64_t first = 0; first < grad.streamRows(); first += cfg.threads()) {
      Value r = e.add(tid, e.index(first));
      Value copies = e.cmp(P::slt, r, e.index(grad.streamRows()));
      if (enabled)
        copies = e.andi(copies, enabled);
      emitIf(b, copies, [&](ImplicitLocOpBuilder &ib) {
        Value row = statisticsRow(ib, k, GpuArith{ib}.add(row0, r));
        nvgpu::DeviceAsyncCopyOp::create(
            ib, nvgpu::DeviceAsyncTokenType::get(ib.getContext()), staged,
            ValueRange{buffer, r}, source, ValueRange{k.batchIdx, head, row},
            ib.getIndexAttr(1), Value(), UnitAttr());
      });
    }
  }

  /// Descriptor of stream tile `w` in the current tile's buffer.
  Value streamStage(ImplicitLocOpBuilder &b, unsigned w) {
    return tiles.streamStage(b, grad, w, stage);
  }

  SwizzledBackwardTiles tiles;   ///< views and descriptors (file header)
  Value rangeBegin, rangeEnd;    ///< the current interval and side's tiles
  Value stage;                   ///< buffer of the current stream tile
  Value streamLse;               ///< stagesStreamLse: [2][streamRows] f32
  Value streamDelta;             ///< stagesStreamDelta: [1][streamRows] f32
  Value ownBarrier;              ///< TMA: the own tiles' mbarrier
  Value streamBarriers;          ///< TMA: the first of kStages mbarriers
  TileRing ring;                 ///< TMA: the item's stream tiles so far
};

} // namespace

SwizzledBackwardTiles swizzledBackwardTiles(ImplicitLocOpBuilder &b,
                                            const BackwardConfig &grad,
                                            Value whole) {
  const KernelConfig &cfg = grad.base;
  GpuArith e{b};
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  int64_t offset = 0;
  auto view = [&](int64_t stages, int64_t rows, int64_t width) {
    SmallVector<int64_t> shape;
    if (stages)
      shape.push_back(stages);
    shape.append({width / 64, rows, 64});
    auto type = MemRefType::get(shape, cfg.elementType,
                                MemRefLayoutAttrInterface(), workgroup);
    Value tile =
        memref::ViewOp::create(b, type, whole, e.index(offset), ValueRange{});
    offset += rows * width * 2 * std::max<int64_t>(stages, 1);
    return tile;
  };
  SwizzledBackwardTiles tiles;
  tiles.own[0] = view(0, grad.ownRows(), cfg.headDim);
  tiles.own[1] = view(0, grad.ownRows(), cfg.valueDim);
  tiles.stream[0] = view(grad.streamStages(), grad.streamRows(), cfg.headDim);
  tiles.stream[1] = view(grad.streamStages(), grad.streamRows(), cfg.valueDim);
  assert(offset == grad.mainloopSharedBytes() && "the mainloop's tiles");
  return tiles;
}

void SwizzledBackwardTiles::computeDescriptors(ImplicitLocOpBuilder &b,
                                               const BackwardConfig &grad,
                                               Value warp) {
  GpuArith e{b};
  // Warpgroup w multiplies own rows [64 w, 64 w + 64).
  Value warpgroup =
      arith::IndexCastOp::create(b, b.getI64Type(), e.div(warp, e.index(4)));
  Value rowsOffset =
      arith::MulIOp::create(b, warpgroup, i64Constant(b, (64 * 128) >> 4));
  for (unsigned w = 0; w < 2; ++w) {
    ownDesc[w] = arith::AddIOp::create(b, descriptor(b, own[w], grad.ownRows()),
                                       rowsOffset);
    streamDesc[w] = descriptor(b, stream[w], grad.streamRows());
  }
}

Value SwizzledBackwardTiles::streamStage(ImplicitLocOpBuilder &b,
                                         const BackwardConfig &grad, unsigned w,
                                         Value stage) const {
  int64_t width = w == 0 ? grad.base.headDim : grad.base.valueDim;
  Value offset = arith::MulIOp::create(
      b, arith::IndexCastOp::create(b, b.getI64Type(), stage),
      i64Constant(b, (grad.streamRows() * width * 2) >> 4));
  return arith::AddIOp::create(b, streamDesc[w], offset);
}

void loadTilePairByMaps(ImplicitLocOpBuilder &b, const BackwardContext &k,
                        const Value (&maps)[2], const Value (&tiles)[2],
                        Value stage, Value barrier, Value head, Value row0,
                        int64_t rows) {
  const KernelConfig &cfg = k.grad.base;
  arriveExpectingBytes(b, barrier, rows * (cfg.headDim + cfg.valueDim) * 2);
  loadTileByMap(b, maps[0], tiles[0], stage, barrier, k.batchIdx, head, row0,
                rows, cfg.headDim);
  loadTileByMap(b, maps[1], tiles[1], stage, barrier, k.batchIdx, head, row0,
                rows, cfg.valueDim);
}

SmallVector<SmallVector<Value>>
completeWgmmaProducts(ImplicitLocOpBuilder &b,
                      ArrayRef<const BackwardMainloop::Issued *> products,
                      int64_t pending) {
  SmallVector<Value> flat, aWords;
  for (const BackwardMainloop::Issued *product : products) {
    flat.append(product->values.begin(), product->values.end());
    aWords.append(product->aWords.begin(), product->aWords.end());
  }
  SmallVector<Value> done = waitForAccumulators(b, flat, pending, aWords);
  SmallVector<SmallVector<Value>> tiles;
  ArrayRef<Value> rest(done);
  for (const BackwardMainloop::Issued *product : products) {
    tiles.push_back(toTiles(b, rest.take_front(product->values.size())));
    rest = rest.drop_front(product->values.size());
  }
  return tiles;
}

std::unique_ptr<BackwardMainloop>
createBackwardMainloopSm90(BackwardContext &k) {
  return std::make_unique<BackwardMainloopSm90>(k);
}

} // namespace mlir::spa::gpu_kernel
