//===- BackwardConfig.h - one spa.attention_grad's kernels ------*- C++ -*-===//
//
// Everything fixed at compile time for the three backward kernels of one
// spa.attention_grad: the op's shapes, element type, mode and scale (in the
// forward's KernelConfig, so the tile copies, bounds table and work list
// read them as they do for the forward), and the backward's tile shapes and
// shared memory. Both the dK/dV and the dQ kernel hold an "own" tile of
// 16 x warps rows (K and V, or Q and dO) and stream tiles of tile-k rows
// (Q and dO, or K and V) past it, in dynamic shared memory: four padded
// tiles (mma.sync), or swizzled own tiles and a two-stage ring of swizzled
// stream tiles (wgmma, base.wgmma).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_BACKWARDCONFIG_H
#define SPA_LIB_CONVERSION_SPATOGPU_BACKWARDCONFIG_H

#include "KernelConfig.h"

namespace mlir::spa::gpu_kernel {

/// The kernels of a gradient op: Query (which computes Delta), KeyValue in
/// launch order (deterministic); Preprocess, KeyValueQuery, QueryConvert
/// with dQ by atomics (BackwardQueryAtomic.h).
enum class BackwardKernel {
  Preprocess,
  KeyValue,
  Query,
  KeyValueQuery,
  QueryConvert,
  QueryStored,
  Interleaved ///< dkdv and dq_stored blocks in one launch (interleaved-dq)
};

/// Launch-contract role names: "preprocess", "dkdv", "dq", "dkdv_dq",
/// "dq_convert", "dq_stored", "dkdv_dq_stored".
StringRef backwardKernelRole(BackwardKernel kernel);

struct BackwardConfig {
  /// Shapes, element type, mode, scale, warps, tile-k, and the MMA
  /// generation (base.wgmma; base.stages stays 1, the forward's option).
  KernelConfig base;
  double scale = 1.0; ///< the op's effective scale (dQ, dK factor)

  int64_t groupSize() const { return base.numQueryHeads / base.numKvHeads; }
  /// Rows of the item's own tile: keys (dK/dV) or queries (dQ).
  int64_t ownRows() const { return 16 * base.warps; }
  /// Rows of one streamed tile: queries (dK/dV) or keys (dQ).
  int64_t streamRows() const { return base.tileK; }
  /// Row stride of the padded tiles (elements): conflict-free ldmatrix.
  int64_t pitch(int64_t width) const { return width + kSharedRowPad; }
  /// wgmma: stream tile buffers (the next Q/dO or K/V tile is copied
  /// while the current one is multiplied).
  static constexpr int64_t kWgmmaStreamStages = 2;
  /// deterministic = false: the dK/dV kernel also adds each tile's dQ to
  /// an f32 scratch by bulk asynchronous reductions (wgmma only;
  /// BackwardQueryAtomic.h).
  bool atomicQuery = false;
  /// The dK/dV kernels' edge-tile masks per key row (EdgeMask.h: the
  /// queries a key admits as two i32 bounds, formed once per row) instead
  /// of the per-element test. Taken by the warp-specialised kernel (no
  /// spill pressure at 240 registers: -2.4% and -2.5% at D = 64) and by the
  /// classic kernel where heads have two or more intervals, whose key tiles
  /// meet more band edges (local_plus_band D = 128: -3.4%). With one
  /// interval a head the classic kernel's held bounds raise its spills at
  /// 255 registers (28 -> 84 bytes): -1.0% to +1.1% (pair_balanced,
  /// tile_balanced, exclusive_equal), not taken. H200, docs/benchmarks.md
  /// step 6i.
  bool keyRowMasks = false;
  /// shared-stream-lse (the classic wgmma dK/dV kernel): each stream
  /// tile's lse comes into shared memory with the tile, by every thread's
  /// 4-byte cp.async a tile ahead (BackwardMainloopSm90.cpp), instead of a
  /// global load a tile that the products wait for (Nsight,
  /// docs/benchmarks.md "Where the stored-dS kernels wait"). Auto takes it
  /// for the stored-dS kernel (autoStagesStreamStat, measured -13%).
  bool stagesStreamLse = false;
  /// shared-stream-delta: the stream tile's Delta into one [streamRows]
  /// f32 buffer after the lse's, copied at the tile's start and read where
  /// dS is formed (behind a block barrier) instead of sixteen values a
  /// thread held across the products (BackwardMainloopSm90.cpp). Auto
  /// takes it where it takes the lse (measured -7% more).
  bool stagesStreamDelta = false;
  /// deterministic = false: columns of one staged dQ piece (64 query rows x
  /// this many f32 columns, one bulk reduction); 64, 32 or 16, the widest
  /// whose staging ring keeps the blocks an SM holds (resolveBackwardConfig).
  int64_t dqPieceColumns = 64;
  /// Staged pieces per warpgroup: piece p is written while p - 1 is being
  /// reduced (its shared memory read by the bulk copy engine).
  static constexpr int64_t kDqStagingBuffers = 2;
  /// Rows of a dq_accum block: one wgmma M block.
  static constexpr int64_t kDqBlockRows = 64;
  /// The dS^T tile the atomic dQ product reads as its A operand
  /// (ownRows x streamRows, 2-byte elements), then the f32 staging ring
  /// (warpgroups x kDqStagingBuffers x 64 x dqPieceColumns), after the
  /// mainloop's tiles.
  int64_t atomicQuerySharedBytes() const {
    if (!atomicQuery)
      return 0;
    if (warpSpecialized)
      return kWsScoreGradBuffers * ownRows() * streamRows() * 2 +
             (ownRows() / 64) * kWsDqStagingBuffers * kDqBlockRows *
                 dqPieceColumns * 4;
    return ownRows() * streamRows() * 2 + (ownRows() / 64) *
                                              kDqStagingBuffers *
                                              kDqBlockRows * dqPieceColumns * 4;
  }
  /// dq_accum's 64-row blocks per (batch, head): a stream tile starts at any
  /// row below Nq and spans streamRows / 64 blocks plus one (unaligned), so
  /// the rows past Nq land in padding blocks.
  int64_t dqAccumBlocks() const {
    return (base.queryLen + kDqBlockRows - 1) / kDqBlockRows +
           streamRows() / kDqBlockRows;
  }
  /// score-grads = store (ScoreGradStore.h): the dK/dV kernel writes each
  /// tile pair's dS^T to the scratch score_grad through two staging tiles
  /// (ownRows x streamRows, 2-byte elements, after the mainloop's tiles),
  /// and the dQ kernel (role dq_stored, BackwardQueryStored.cpp) runs one
  /// product a tile over it; a preprocess launch computes Delta first.
  bool storeScoreGrads = false;
  /// The scratch's layout (ScoreGradStore.h). Padded: the most query tiles
  /// one key tile's walk visits through one interval and side (Q), and the
  /// (interval, side) ranges a head has (R = slots x sides).
  int64_t scoreGradQueryTiles = 0;
  /// Compact (score-grad-layout = compact): the visited tile pairs of one
  /// batch element, and the slot bases the kernels look up (argument
  /// score_grad_slots, [Hq][query tiles][slots][sides] of i32;
  /// spa::plan::scoreGradSlotBases): pair (query tile qt, key tile kt) of
  /// head h through range r of batch b is tile b x scoreGradBatchTiles +
  /// bases[h][qt][r] + kt.
  bool compactScoreGrads = false;
  int64_t scoreGradBatchTiles = 0;
  SmallVector<int32_t> scoreGradSlotBases;
  int64_t scoreGradRanges() const {
    return base.slots * (base.bidirectional ? 2 : 1);
  }
  int64_t scoreGradKeyTiles() const {
    return (base.keyLen + kScoreGradTile - 1) / kScoreGradTile;
  }
  /// Tiles of the scratch: B Hq R KT Q padded, B x the visited pairs
  /// compact.
  int64_t scoreGradTiles() const {
    if (compactScoreGrads)
      return base.batch * scoreGradBatchTiles;
    return base.batch * base.numQueryHeads * scoreGradRanges() *
           scoreGradKeyTiles() * scoreGradQueryTiles;
  }
  /// The slot-base table's shape.
  SmallVector<int64_t, 4> scoreGradSlotShape() const {
    return {base.numQueryHeads,
            (base.queryLen + kScoreGradTile - 1) / kScoreGradTile, base.slots,
            base.bidirectional ? 2 : 1};
  }
  static constexpr int64_t kScoreGradTile = 64;
  static constexpr int64_t kScoreGradTileBytes =
      kScoreGradTile * kScoreGradTile * 2;
  /// The dK/dV kernel's dS^T staging tiles: tile t is staged in buffer
  /// t % 2 while the bulk store of tile t - 1 may still read the other.
  static constexpr int64_t kScoreGradStagingBuffers = 2;
  int64_t scoreGradStoreSharedBytes() const {
    return storeScoreGrads
               ? kScoreGradStagingBuffers * ownRows() * streamRows() * 2
               : 0;
  }
  /// The dq_stored kernel's ring: stages of a K tile (streamRows x D) and
  /// one dS^T tile per warpgroup, then one mbarrier a stage. Two stages (48
  /// KiB at D = 128 and 64 rows, four blocks an SM) measured faster than
  /// three or four (fewer blocks, deeper prefetch): 0.072 / 0.074 / 0.080
  /// ms at the headline shape (H200, docs/benchmarks.md step 7).
  static constexpr int64_t kStoredQueryStages = 2;
  /// Stages of the ring: two at 64 rows (see above); three at 128 rows,
  /// where registers hold two blocks an SM whatever the ring (96 KiB a
  /// block at D = 128 still fits two).
  int64_t storedQueryStages() const {
    if (interleavedQuery)
      return interleavedStages;
    return ownRows() == 128 ? 3 : kStoredQueryStages;
  }
  int64_t storedQueryStageBytes() const {
    return streamRows() * base.headDim * 2 +
           (ownRows() / 64) * kScoreGradTileBytes;
  }
  /// score-grads = store: query rows of a dq_stored work item, 64 (one
  /// warpgroup) or 128 (two warpgroups sharing every K tile, each with its
  /// own dS^T tiles: half the K traffic from L2). The stored-dq-rows
  /// option; resolveBackwardConfig settles auto.
  int64_t storedQueryRows = 64;
  /// score-grads = store: dS tiles the dq_stored kernel prefetches into
  /// L2 ahead of the tile it multiplies (score-grad-prefetch; 0: none).
  int64_t scoreGradPrefetch = 0;
  /// score-grads = store: each warp of the dK/dV kernel sends its own 16
  /// rows of the staged dS tile to the scratch (score-grad-warp-stores;
  /// ScoreGradWriter), with no block barrier between staging and copy.
  bool scoreGradWarpStores = false;
  /// score-grads = store on the classic wgmma dK/dV kernel: the dq_stored
  /// items run in the dK/dV kernel's launch (interleaved-dq;
  /// BackwardInterleaved.cpp), listed `interleavedLag` dK/dV items after
  /// the last one whose dS they read, each waiting on those items' flags.
  bool interleavedQuery = false;
  int64_t interleavedLag = 256;
  /// interleaved-dq: the dQ blocks' ring stages (interleaved-dq-stages).
  int64_t interleavedStages = 4;
  /// The configuration the dq_stored kernel is generated and launched with
  /// (its work list has items of storedQueryRows rows).
  BackwardConfig storedQueryConfig() const {
    BackwardConfig q = queryConfig();
    q.base.successorPrefetch = 0; // no own tiles (prefetchesSuccessor)
    q.base.warps = storedQueryRows / 16;
    return q;
  }
  int64_t storedQuerySharedBytes() const {
    return storedQueryStages() * (storedQueryStageBytes() + 8);
  }
  /// tma (wgmma only): the own and stream tiles arrive by TMA copies from
  /// tensor maps the launcher encodes per call (TensorMaps.h), issued by
  /// one thread and completing on mbarriers, instead of every thread's
  /// cp.async. Set where the option asks for it and every buffer's layout
  /// can be described by a map.
  bool tensorMaps = false;
  /// tma-stores (wgmma only): the kernels that stage their outputs in
  /// shared memory (StagedStores.h: the dK/dV kernels' dK and dV, the
  /// dq_stored kernel's dQ) send them out by TMA bulk tensor stores through
  /// the outputs' maps (16-row boxes), their last arguments. Set where the
  /// option asks for it and a map describes dQ, dK and dV.
  bool storesByMap = false;
  /// The mbarriers of the TMA loads: the own tiles' and one per stream
  /// stage, 8 bytes each, after every tile; the warp-specialised kernel
  /// adds one per stage that its consumers arrive on when they are done
  /// with the stage ("empty").
  static constexpr int64_t kOwnBarrier = 0;
  static constexpr int64_t kStreamBarriers = 1;
  int64_t releaseBarriers() const { return 1 + streamStages(); }
  int64_t barrierSharedBytes() const {
    if (!tensorMaps)
      return 0;
    return 8 * (1 + streamStages() * (warpSpecialized ? 2 : 1));
  }
  int64_t barrierOffset() const {
    return mainloopSharedBytes() + atomicQuerySharedBytes() +
           scoreGradStoreSharedBytes() + statsSharedBytes();
  }
  /// The mainloop's tiles, then the atomic dQ's dS^T tile, the stored dS^T
  /// staging tiles or the warp-specialised kernel's row statistics, then the
  /// TMA barriers.
  int64_t sharedBytes() const {
    return mainloopSharedBytes() + atomicQuerySharedBytes() +
           scoreGradStoreSharedBytes() + statsSharedBytes() +
           barrierSharedBytes();
  }

  /// backward-schedule = ws (BackwardKeyValueWs.cpp): the dK/dV kernel
  /// runs a producer warpgroup (one warp issues every TMA copy and stages
  /// the stream tiles' row statistics, the others idle) and two consumer
  /// warpgroups of 64 keys each that share every stream stage, with no
  /// block-wide barrier after the start. Only the dK/dV kernel: its
  /// configuration is keyValueConfig(); the preprocess and dQ kernels keep
  /// `base.warps`.
  bool warpSpecialized = false;
  /// Stream stages of the warp-specialised kernel: a third lets the two
  /// consumer warpgroups drift a tile apart while the producer refills.
  static constexpr int64_t kWsStreamStages = 3;
  /// Stream tile buffers of the wgmma kernels.
  int64_t streamStages() const {
    return warpSpecialized ? kWsStreamStages : kWgmmaStreamStages;
  }
  /// Warp-specialised with deterministic = false (BackwardQueryReduceWs.h):
  /// the dS^T tile the two consumer warpgroups exchange is double-buffered
  /// (tile c in buffer c % 2), so that one barrier a tile orders both its
  /// writes and the previous tile's reads; each warpgroup stages its one dQ
  /// piece of a tile (64 rows x 64 columns f32) in one buffer, whose
  /// reduction has a whole tile to finish reading it.
  static constexpr int64_t kWsScoreGradBuffers = 2;
  static constexpr int64_t kWsDqStagingBuffers = 1;
  /// The consumer warps of the warp-specialised kernel (base.warps there).
  static constexpr int64_t kWsConsumerWarps = 8;
  /// Registers per thread after setmaxnreg: 128 x 24 + 256 x 240 = 64512
  /// of the SM's 65536 (one block an SM), FlashAttention-3's split; at
  /// 40 / 232 ptxas spilled 76 bytes in the consumers, at 24 / 240 44.
  static constexpr int32_t kWsProducerRegisters = 24;
  static constexpr int32_t kWsConsumerRegisters = 240;
  /// Threads of a block: the consumers plus the producer warpgroup.
  int64_t blockThreads() const {
    return base.threads() + (warpSpecialized ? 128 : 0);
  }
  /// The configuration the dK/dV kernel is generated and launched with.
  BackwardConfig keyValueConfig() const {
    BackwardConfig kv = *this;
    if (kv.warpSpecialized)
      kv.base.warps = kWsConsumerWarps;
    return kv;
  }
  /// The configuration of the preprocess and dQ kernels.
  BackwardConfig queryConfig() const {
    BackwardConfig q = *this;
    q.warpSpecialized = false;
    q.stagesStreamLse = false; // its stream is K and V
    q.stagesStreamDelta = false;
    return q;
  }
  /// successor-prefetch: whether this kernel's blocks send a later item's
  /// own tiles to L2: the classic dK/dV and dQ kernels, whose own tiles
  /// come by TMA (loadOwnByMaps); not the warp-specialised dK/dV kernel
  /// nor dq_stored (storedQueryConfig clears the distance).
  bool prefetchesSuccessor() const {
    return tensorMaps && !warpSpecialized && base.successorPrefetch > 0;
  }
  /// Warp-specialised: lse * log2(e) and Delta of each stage's stream rows,
  /// [stages][2][streamRows] f32, staged by the producer; the classic
  /// kernel: lse of each stage's stream rows, [stages][streamRows] f32
  /// (stagesStreamLse), then the current tile's Delta, [streamRows] f32
  /// (stagesStreamDelta).
  int64_t statsSharedBytes() const {
    if (warpSpecialized)
      return streamStages() * 2 * streamRows() * 4;
    return ((stagesStreamLse ? streamStages() : 0) +
            (stagesStreamDelta ? 1 : 0)) *
           streamRows() * 4;
  }
  /// The classic kernel's staged Delta, after the staged lse if any.
  int64_t stagedDeltaOffset() const {
    return statsOffset() +
           (stagesStreamLse ? streamStages() * streamRows() * 4 : 0);
  }
  int64_t statsOffset() const {
    return mainloopSharedBytes() + atomicQuerySharedBytes() +
           scoreGradStoreSharedBytes();
  }
  /// Own tiles (width D, Dv), then stream tiles (width D, Dv), 2-byte
  /// elements; padded rows (mma.sync) or swizzled and unpadded (wgmma).
  int64_t mainloopSharedBytes() const {
    if (base.wgmma)
      return (ownRows() + streamStages() * streamRows()) *
             (base.headDim + base.valueDim) * 2;
    return (ownRows() + streamRows()) *
           (pitch(base.headDim) + pitch(base.valueDim)) * 2;
  }
  /// Blocks an SM should hold for the dQ kernel (PTX .minnctapersm; 0:
  /// ptxas decides). wgmma, 4 warps, D = Dv = 64, tile-k 64: three instead
  /// of the two its 216 registers allow; ptxas then fits it in 164
  /// registers without spills, 13% faster on the H200 (docs/benchmarks.md,
  /// "The training configuration's kernels"). The dK/dV kernel spills at
  /// three, so it keeps ptxas's choice.
  int64_t queryKernelMinBlocksPerSM() const {
    return isTrainingQueryKernel() ? 3 : 0;
  }
  /// The recomputing dQ kernel in the configuration its defaults were
  /// measured in (the training run's): wgmma, deterministic, 4 warps, D =
  /// Dv = 64, tile-k 64. queryKernelMinBlocksPerSM and
  /// queryGradZeroTailItems apply there.
  bool isTrainingQueryKernel() const {
    return base.wgmma && !atomicQuery && base.warps == 4 &&
           base.headDim == 64 && base.valueDim == 64 && base.tileK == 64;
  }
  /// Preprocess: four lanes per row (a quad reduces the row's sum).
  int64_t preprocessRows() const { return base.threads() / 4; }
  int64_t preprocessBlocks() const {
    return base.batch * base.numQueryHeads *
           ((base.queryLen + preprocessRows() - 1) / preprocessRows());
  }
  /// dq_convert: eight dQ elements a thread.
  int64_t convertBlocks() const {
    int64_t chunks = base.batch * base.numQueryHeads * base.queryLen *
                     (base.headDim / 8);
    return (chunks + base.threads() - 1) / base.threads();
  }
  ::spa::plan::TileShape keyValueTile() const {
    return {streamRows(), ownRows()};
  }
  ::spa::plan::TileShape queryTile() const { return {ownRows(), streamRows()}; }
};

/// Resolves `options` for a buffer-form spa.attention_grad with a concrete
/// band table and static shapes: f16/bf16 (f32 gets a located "not
/// supported yet"), D and Dv multiples of 16 up to 256; mma = wgmma needs
/// chip = sm_90a, warps 4 or 8 and D, Dv multiples of 64 (mma = auto takes
/// it on sm_90a where it was verified: D, Dv in {64, 128}); the
/// four tiles within the dynamic shared memory of a block, the work lists
/// and tables within their limits; deterministic = false needs the wgmma
/// kernels and tile-k 64 or 128. Emits a located error and fails
/// otherwise.
FailureOr<BackwardConfig>
resolveBackwardConfig(AttentionGradOp op,
                      const ConvertSpaToGPUOptions &options);

/// zero-tail-items of the recomputing dQ kernel (deterministic, score-grads
/// resolved to recompute): under auto 8 where measured faster, the wgmma
/// kernel at D = Dv = 64, warps 4, tile-k 64 (H100, B4 H16 N4096, step 7i:
/// dQ -7.3 to -7.8%, backward -2.8% exclusive_equal, -3.3% pair_balanced,
/// -3.7% tile_balanced, a tie at local_plus_band, which has no tail; its
/// tail items each wrote Delta and dQ through the staged epilogue), else
/// the option's (resolveZeroTailItems; grouping cost the stored-dS kernels
/// 1-3%).
int64_t queryGradZeroTailItems(const ConvertSpaToGPUOptions &options,
                               const BackwardConfig &grad);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_BACKWARDCONFIG_H
