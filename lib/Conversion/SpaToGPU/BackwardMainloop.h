//===- BackwardMainloop.h - tiles and products of the backward --*- C++ -*-===//
//
// The backward kernels (dK/dV and dQ) have one shape: a work item owns a
// tile of 16 x warps rows of two tensors (K and V, or Q and dO) and streams
// tiles of tile-k rows of two others (Q and dO, or K and V) past it. Per
// streamed tile it needs two products "own x stream^T" (S and dP, or their
// transposes) and accumulates "f32 tiles x stream" (dV, dK or dQ). A
// backward mainloop owns the shared tiles and those products; the kernels
// (BackwardKeyValue.cpp, BackwardQuery.cpp) own the loops, the softmax
// recomputation and the stores. One implementation per MMA generation:
//
//   BackwardMainloopSm80.cpp  ldmatrix + mma.sync m16n8k16 (f16/bf16),
//                             synchronous 16-byte copies into padded tiles
//   BackwardMainloopSm90.cpp  wgmma (sm_90a): swizzled tiles, cp.async or
//                             TMA into a two-stage ring of stream tiles
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_BACKWARDMAINLOOP_H
#define SPA_LIB_CONVERSION_SPATOGPU_BACKWARDMAINLOOP_H

#include "BackwardConfig.h"
#include "KernelContext.h"
#include "ZeroTail.h"

#include <memory>

namespace mlir::spa::gpu_kernel {

/// Which of the two tensors of a tile pair: the first has width D (K, Q),
/// the second width Dv (V, dO).
enum class Operand { First, Second };

/// The forward's context (ids, work item, q/k/v/lse/bounds/work) plus the
/// backward's own arguments.
struct BackwardContext : KernelContext {
  BackwardContext(const BackwardConfig &grad)
      : KernelContext(grad.base), grad(grad) {}
  const BackwardConfig &grad;
  Value outGrad, delta, queryGrad, keyGrad, valueGrad;
  /// deterministic = false: the f32 dQ accumulator [B, Hq, Nq, D].
  Value queryGradAccum;
  /// score-grads = store: the dS scratch (ScoreGradStore.h); with the
  /// compact layout also its slot bases (score_grad_slots).
  Value scoreGrad, scoreGradSlots;
  /// grad.tensorMaps: the grid-constant tensor maps of the own tiles' and
  /// the stream tiles' sources (first: width D, second: width Dv), the
  /// kernel's last four arguments (bindTensorMaps).
  Value ownMaps[2], streamMaps[2];
  /// grad.storesByMap: the maps of the staged outputs (dK then dV; dQ for
  /// dq_stored), after every load map (bindTensorMaps).
  Value storeMaps[2];
  /// The block's entry in the work list: null until the kernel's work item
  /// loader (loadKeyTileWorkItem, loadQueryTileWorkItem) sets it to the
  /// list block it read, so later readers share that one computation; the
  /// slot a block of an interleaved kernel claimed (BackwardInterleaved.cpp)
  /// before. blockItemIndex reads it.
  Value blockItem;
  /// That entry's row of the work list, as the loader read it.
  WorkItemEntry blockEntry;
  /// interleaved-dq: the i32 scratch `grad_sync` (InterleavedSync.h): the
  /// claim counter, then one flag a (batch, key/value head, key tile) of
  /// the dK/dV items, set once its dS tiles are in memory.
  Value gradSync;
};

/// k.blockItem, or where it is null the list block of gpu.block_id x
/// (ZeroTail.h spreadTailBlocks: itself unless zero-tail-spread).
inline Value blockItemIndex(ImplicitLocOpBuilder &b, const BackwardContext &k) {
  if (k.blockItem)
    return k.blockItem;
  return spreadTailBlocks(b, k.cfg, k.work,
                          gpu::BlockIdOp::create(b, gpu::Dimension::x));
}

/// The kernel's last arguments, in the order SpaGradToGPU.cpp appends them:
/// grad.tensorMaps, the four load maps (own first, own second, stream
/// first, stream second); then grad.storesByMap, `storeMaps` store maps.
inline void bindTensorMaps(BackwardContext &k, ValueRange args,
                           unsigned storeMaps) {
  if (k.grad.storesByMap) {
    for (unsigned i = 0; i < storeMaps; ++i)
      k.storeMaps[i] = args[args.size() - storeMaps + i];
    args = args.drop_back(storeMaps);
  }
  if (!k.grad.tensorMaps)
    return;
  ValueRange maps = args.take_back(4);
  k.ownMaps[0] = maps[0];
  k.ownMaps[1] = maps[1];
  k.streamMaps[0] = maps[2];
  k.streamMaps[1] = maps[3];
}

class BackwardMainloop {
public:
  explicit BackwardMainloop(BackwardContext &k)
      : k(k), grad(k.grad), cfg(k.grad.base) {}
  virtual ~BackwardMainloop() = default;

  /// First thing in the kernel body: views of the shared memory.
  virtual void setupSharedMemory(ImplicitLocOpBuilder &b) = 0;
  /// Rows [row0, row0 + ownRows) of (batch, head) of `first` (width D) and
  /// `second` (width Dv) into the own tiles, rows >= limit as zeros. The
  /// copies may still be in flight on return (TMA): every loadStream waits
  /// for them too, so the products see them; waitOwn waits for them alone.
  virtual void loadOwn(ImplicitLocOpBuilder &b, Value first, Value second,
                       Value head, Value row0, int64_t limit) = 0;
  /// Waits until the own tiles have arrived (before an epilogue stages its
  /// rows in them: an item whose walk visits no stream tile never waited).
  virtual void waitOwn(ImplicitLocOpBuilder &b) {}
  /// Before the loop over the stream tiles [begin, end) (step streamRows)
  /// of one interval and side: a mainloop that copies ahead starts the
  /// first tile's copy here.
  virtual void beginStream(ImplicitLocOpBuilder &b, Value first, Value second,
                           Value head, Value begin, Value end, int64_t limit) {
  }
  /// The same for the stream tiles (streamRows rows), and the own tiles
  /// too; waits until every warp is done with the previous stream tiles
  /// first.
  virtual void loadStream(ImplicitLocOpBuilder &b, Value first, Value second,
                          Value head, Value row0, int64_t limit) = 0;
  /// own x stream^T of `which` pair for the warp's 16 own rows: streamRows/8
  /// accumulator tiles (2x2 f32 each, MmaSync.h's layout).
  virtual SmallVector<Value> ownTimesStreamT(ImplicitLocOpBuilder &b,
                                             Operand which) = 0;
  /// acc += tiles x stream[which]: `tiles` (streamRows/8 f32 accumulator
  /// tiles, rounded to the element type) as A, the stream tile as B; acc has
  /// width/8 tiles.
  virtual SmallVector<Value> accumulate(ImplicitLocOpBuilder &b,
                                        ArrayRef<Value> tiles, Operand which,
                                        SmallVector<Value> acc) = 0;

  /// Split-phase forms of the two products, so that a kernel can issue
  /// both "own x stream^T" products before it reads either and overlap the
  /// softmax math with the tensor cores (FlashAttention-3's intra-warpgroup
  /// overlap). An issued product is one commit group, in flight until
  /// `complete` waits for it; a synchronous mainloop (mma.sync) finishes it
  /// at issue, and `complete` only returns it.
  struct Issued {
    SmallVector<Value> values; ///< flat accumulators, or finished tiles
    bool inFlight = false;
    /// A register-A product's A words: live until its wait (Wgmma.h).
    SmallVector<Value> aWords = {};
  };
  virtual Issued issueOwnTimesStreamT(ImplicitLocOpBuilder &b,
                                      Operand which) {
    return {ownTimesStreamT(b, which), false};
  }
  virtual Issued issueAccumulate(ImplicitLocOpBuilder &b,
                                 ArrayRef<Value> tiles, Operand which,
                                 SmallVector<Value> acc) {
    return {accumulate(b, tiles, which, std::move(acc)), false};
  }
  /// Waits until at most `pending` of the issued groups are in flight (the
  /// latest ones; `products` must be among the earlier, completed ones) and
  /// returns each product's tiles.
  virtual SmallVector<SmallVector<Value>>
  complete(ImplicitLocOpBuilder &b, ArrayRef<const Issued *> products,
           int64_t pending) {
    SmallVector<SmallVector<Value>> tiles;
    for (const Issued *product : products)
      tiles.push_back(product->values);
    return tiles;
  }

  /// grad.stagesStreamLse: lse * log2(e) of row `row` (0 <= row <
  /// streamRows) of the current stream tile, read from the shared memory
  /// the mainloop copied it into with the tile; null where the kernel loads
  /// its rows' statistics itself (loadRowStatistics).
  virtual Value streamRowScaledLse(ImplicitLocOpBuilder &b, Value row) {
    return Value();
  }
  /// grad.stagesStreamDelta: Delta of row `row` of the current stream tile
  /// from the mainloop's shared copy (after awaitStreamDelta); null
  /// otherwise.
  virtual Value streamRowDelta(ImplicitLocOpBuilder &b, Value row) {
    return Value();
  }
  /// grad.stagesStreamDelta: waits until the current tile's Delta is in
  /// shared memory and visible to every thread (a block barrier); called
  /// once a tile by every thread, before the first streamRowDelta.
  virtual void awaitStreamDelta(ImplicitLocOpBuilder &b) {}

  /// wgmma: the descriptor of own tile `which` ([width/64][ownRows][64],
  /// swizzled) at this warpgroup's 64 rows, for a product of the kernel's
  /// own (the atomic dQ reads own K as its B operand); null otherwise.
  virtual Value ownTileDescriptor(Operand which) { return Value(); }
  /// wgmma: own tile `which` itself ([width/64][ownRows][64]), which the
  /// kernel's epilogue may stage its rows in; null otherwise.
  virtual Value ownTile(Operand which) const { return Value(); }

protected:
  BackwardContext &k;
  const BackwardConfig &grad;
  const KernelConfig &cfg;
};

/// wgmma: views of the swizzled tiles from byte 0 of the dynamic shared
/// memory `whole`: own first (D wide) and second (Dv wide), each
/// [width / 64][ownRows][64], then the stream ring of each,
/// [streamStages][width / 64][streamRows][64]. Every tile is a multiple of
/// 8 rows x 128 bytes, so offsets stay 1024-byte aligned for the swizzle;
/// the views end at grad.mainloopSharedBytes(). The wgmma descriptors come
/// from computeDescriptors, called where the multiplying threads need them.
struct SwizzledBackwardTiles {
  Value own[2], stream[2];
  Value ownDesc[2], streamDesc[2];
  /// The descriptors of the own tiles at the rows of warp `warp`'s
  /// warpgroup (64 per warpgroup), and of the stream tiles' buffer 0.
  void computeDescriptors(ImplicitLocOpBuilder &b, const BackwardConfig &grad,
                          Value warp);
  /// The descriptor of stream tile `w` (0: first, 1: second) in buffer
  /// `stage` (an index).
  Value streamStage(ImplicitLocOpBuilder &b, const BackwardConfig &grad,
                    unsigned w, Value stage) const;
};
SwizzledBackwardTiles swizzledBackwardTiles(ImplicitLocOpBuilder &b,
                                            const BackwardConfig &grad,
                                            Value whole);

/// TMA, one thread: announces rows x (D + Dv) x 2 bytes on `barrier` and
/// issues the copies of rows [row0, row0 + rows) of (k.batchIdx, head) from
/// `maps` (first: D wide, second: Dv wide) into `tiles` (in buffer `stage`
/// of a ring, or single tiles when null).
void loadTilePairByMaps(ImplicitLocOpBuilder &b, const BackwardContext &k,
                        const Value (&maps)[2], const Value (&tiles)[2],
                        Value stage, Value barrier, Value head, Value row0,
                        int64_t rows);

/// wgmma: one wgmma.wait_group leaving `pending` groups in flight for all
/// of `products`' accumulators; each product's 2x2 tiles.
SmallVector<SmallVector<Value>>
completeWgmmaProducts(ImplicitLocOpBuilder &b,
                      ArrayRef<const BackwardMainloop::Issued *> products,
                      int64_t pending);

std::unique_ptr<BackwardMainloop>
createBackwardMainloopSm80(BackwardContext &k);
std::unique_ptr<BackwardMainloop>
createBackwardMainloopSm90(BackwardContext &k);

/// The mainloop of the configuration's MMA generation.
inline std::unique_ptr<BackwardMainloop>
createBackwardMainloop(BackwardContext &k) {
  return k.grad.base.wgmma ? createBackwardMainloopSm90(k)
                           : createBackwardMainloopSm80(k);
}

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_BACKWARDMAINLOOP_H
