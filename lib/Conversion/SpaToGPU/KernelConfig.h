//===- KernelConfig.h - one op's GPU kernel, resolved once ------*- C++ -*-===//
//
// Everything fixed at compile time for one spa.attention's kernel: shapes,
// element type, mode, scale, and the options (warps, key tile, MMA
// generation, K/V stages) resolved against the chip and the shape, with the
// tile shape and shared-memory budget derived in one place. Every other part
// of the generator reads this struct and decides nothing on its own.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_KERNELCONFIG_H
#define SPA_LIB_CONVERSION_SPATOGPU_KERNELCONFIG_H

#include "spa/Conversion/SpaToGPU/SpaToGPU.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Planning/BandPlan.h"
#include "spa/Planning/TailSpread.h"

namespace mlir::spa::gpu_kernel {

/// Hardware limits of the sm_90 generation (H100/H200).
constexpr int64_t kMaxDynamicSharedBytes = 227 * 1024; // per block
constexpr int64_t kSharedBytesPerSM = 228 * 1024;
/// Shared memory the system keeps per resident block (sm_80 and later).
constexpr int64_t kReservedSharedBytesPerBlock = 1024;
constexpr int64_t kRegistersPerSM = 64 * 1024;
/// blocks-per-sm: the most a user may ask for, and the registers a thread
/// must keep (below that the kernels' accumulators alone would spill).
constexpr int64_t kMaxBlocksPerSM = 16;
/// score-grad-prefetch: the most dS tiles the dq_stored kernel keeps in
/// flight to L2 ahead of its product (each is a bulk prefetch thread 0
/// issues; deeper than a band's tiles buys nothing).
constexpr int64_t kMaxScoreGradPrefetch = 16;
/// successor-prefetch: the most work items ahead a block may prefetch for
/// (a bound on the option, far past where L2 would keep the tiles: a few
/// waves of 132 SMs are what can pay).
constexpr int64_t kMaxSuccessorPrefetch = 65536;
/// zero-tail-items: the most zero-tail items a block writes (64 x 64 rows
/// of zeros: far past where a block's launch stops mattering).
constexpr int64_t kMaxZeroTailItems = 64;
/// wave-stagger-ns: the most ns a key tile (an SM's time for a tile is
/// under a microsecond at D = 128).
constexpr int64_t kMaxWaveStaggerNsPerTile = 10000;
constexpr int64_t kMinRegistersPerThread = 64;
constexpr int64_t kMaxStaticSharedBytes = 48 * 1024;
/// SMs of an H100/H200 SXM: the grid of a persistent kernel (any grid is
/// correct; this one fills the chip once).
constexpr int64_t kStreamingMultiprocessors = 132;
/// Up to this many intervals per head the kernel unrolls its key loops (one
/// per interval and side, about 0.25 s of spa-to-nvvm apiece, and the
/// chained wgmma schedule prefetches across them); beyond, it loops over the
/// intervals at run time, so its size no longer grows with their number.
constexpr int64_t kMaxUnrolledSlots = 4;
/// Intervals per head of the bounds table the kernel reads (it travels in
/// the launch contract, [Hq][intervals][2] i32).
constexpr int64_t kMaxSlotsPerHead = 4096;
/// split-keys: more shares than this buy no parallelism a GPU has.
constexpr int64_t kMaxSplitKeys = 64;
/// Oldest chip the kernel supports (sm_80: Ampere).
constexpr unsigned kMinChipVersion = 80;
/// Row padding of the mma.sync kernel's shared tiles: conflict-free ldmatrix.
constexpr int64_t kSharedRowPad = 8;

/// The kernel's K/V pipeline (see MainloopSm80.cpp / MainloopSm90.cpp).
enum class Schedule {
  SyncMmaSync,  ///< synchronous copies, ldmatrix + mma.sync (f16/bf16)
  SyncTf32,     ///< synchronous copies, mma.sync on tf32 (f32 inputs)
  WgmmaChained, ///< cp.async + wgmma, one K and one V buffer (stages = 1)
  WgmmaRing,    ///< cp.async + wgmma, a ring of `stages` K/V buffers
  WgmmaOverlap, ///< TMA + wgmma ring, Q K^T of tile t with P V of t - 1
  WgmmaWarpSpecialized,        ///< a TMA producer warp, consumer warpgroups,
                               ///< the ring released on mbarriers
  WgmmaWarpSpecializedOverlap, ///< the same, the consumers overlapped
};

/// forward-schedule = ws: the producer warpgroup's and the consumers'
/// registers after setmaxnreg, and blocks an SM, per consumer warpgroups
/// (1: two blocks of 256 threads an SM; 2: one block of 384; 3: one block
/// of 512).
struct WarpSpecializedBudget {
  int32_t producerRegisters, consumerRegisters, blocksPerSM;
};
inline WarpSpecializedBudget warpSpecializedBudget(int64_t consumerWarps) {
  // Per SM 64 K registers: 2 x 128 x (24 + 232), 128 x 24 + 256 x 240 or
  // 128 x 24 + 384 x 160 (the serial kernel's consumers take 149-151).
  if (consumerWarps == 4)
    return {24, 232, 2};
  if (consumerWarps == 8)
    return {24, 240, 1};
  return {24, 160, 1};
}

struct KernelConfig {
  Type elementType;
  int64_t batch, numQueryHeads, numKvHeads, queryLen, keyLen, headDim,
      valueDim;
  int64_t slots = 1; ///< intervals per head in the bounds table
  bool bidirectional = false, withLse = false;
  /// queryLen and/or keyLen are ShapedType::kDynamic: the kernel takes both
  /// as arguments, views its buffers with them and orders its work items in
  /// closed form (no work list); the launcher specialises the rest per call.
  bool dynamicLengths = false;
  /// Static work list: the items from this index on reach no key (their
  /// rows are zeros; plan::firstItemReachingNoKey): the kernel writes them
  /// without loading anything. -1: no such tail (run-time lengths, bounds
  /// computed at run time, or the last item reaches a key).
  int64_t zeroItemsFrom = -1;
  /// zero-tail-items: items of that tail one block writes (their entries
  /// read together, zeros in 16-byte chunks; ZeroTail.h); 1: one block an
  /// item writing its zeros as the item's own epilogue would.
  int64_t zeroItemsPerBlock = 1;
  /// zero-tail-with-items resolved (true, and zero-tail-items not above
  /// 1): where the kernel runs one item a block, the blocks of the items
  /// with keys write the zero tail too (zeroTailWithItems()).
  bool zeroTailWithItemsAsked = false;
  /// zero-tail-spread resolved (true): where the zero tail keeps blocks of
  /// its own, they are spread among the blocks of the items with keys
  /// (spreadsZeroTail(), ZeroTail.h spreadTailBlocks).
  bool zeroTailSpreadAsked = false;
  /// wave-stagger-ns resolved (WaveStagger.h): the blocks an SM the first
  /// wave holds, the ns a key tile and the waves of equal items asked for
  /// (blocksPerSM = 0: no stagger), before the work list is known.
  ::spa::plan::WaveStaggerParams staggerParams;
  /// The first wave's stagger planned on the work list (slot s of an SM
  /// sleeps s * waveStagger.slotDelayNs first; none where not enabled()).
  ::spa::plan::WaveStagger waveStagger;
  /// Whether each block runs one work item of a static list: no
  /// persistent loop, no split keys, no run-time lengths.
  bool runsOneItemABlock() const {
    return !persistent() && splitKeys == 1 && !dynamicLengths;
  }
  /// Whether the zero tail is grouped: a static tail, more than one item
  /// a block, and one item a block elsewhere (no persistent loop, no
  /// split keys).
  bool groupsZeroTail() const {
    return zeroItemsFrom >= 0 && zeroItemsPerBlock > 1 && runsOneItemABlock();
  }
  /// Whether the zero tail rides with the items with keys: asked, a
  /// static tail after at least one item with keys, and one item a block
  /// (no persistent loop, no split keys, not grouped). Block b < K =
  /// zeroItemsFrom then also writes tail items K + b, K + b + K, ...
  /// (ZeroTail.h), and the launch has K blocks.
  bool zeroTailWithItems() const {
    return zeroTailWithItemsAsked && zeroItemsFrom > 0 &&
           zeroItemsPerBlock == 1 && runsOneItemABlock();
  }
  /// Whether the zero tail's own blocks are spread among the blocks of the
  /// items with keys: asked, a static tail after at least one item with
  /// keys, one item a block, and the tail not written by the items'
  /// blocks.
  bool spreadsZeroTail() const {
    return zeroTailSpreadAsked && zeroItemsFrom > 0 && runsOneItemABlock() &&
           !zeroTailWithItems();
  }
  /// The spread of a launch over `items` work items (spreadsZeroTail()):
  /// the blocks of the items with keys, the tail's, and the first wave
  /// kept in list order where it is staggered (WaveStagger.h plans it on
  /// the list's first items).
  ::spa::plan::TailSpread tailSpread(int64_t items) const {
    int64_t lead = 0;
    if (waveStagger.enabled())
      lead =
          std::min(zeroItemsFrom, waveStagger.numSMs * waveStagger.blocksPerSM);
    return {zeroItemsFrom, launchBlocks(items) - zeroItemsFrom, lead};
  }
  /// Blocks of a launch over `items` work items: one an item before the
  /// zero tail, one per zeroItemsPerBlock items of it where grouped, none
  /// where the items with keys write it.
  int64_t launchBlocks(int64_t items) const {
    if (zeroTailWithItems())
      return zeroItemsFrom;
    if (!groupsZeroTail())
      return items;
    int64_t tail = items - zeroItemsFrom;
    return zeroItemsFrom + (tail + zeroItemsPerBlock - 1) / zeroItemsPerBlock;
  }
  /// split-keys: blocks (grid y) sharing a work item's key tiles; > 1
  /// stores partials to scratch for the combine kernel (SplitKeys.h).
  int64_t splitKeys = 1;
  /// successor-prefetch: each block sends the own tiles of work item
  /// (its own + successorPrefetch) to L2 (0: off). Read where it applies:
  /// prefetchesSuccessor().
  int64_t successorPrefetch = 0;
  /// Whether this kernel's blocks prefetch a later item's tiles: one item
  /// a block (no persistent loop), a static work list, no split keys,
  /// TMA loads.
  bool prefetchesSuccessor() const {
    return successorPrefetch > 0 && tensorMaps && !persistent() &&
           !dynamicLengths && splitKeys == 1;
  }
  double scaleLog2 = 0;
  int64_t warps = 4;  ///< each warp owns 16 query rows
  int64_t tileK = 64; ///< keys per key tile
  bool wgmma = false;
  /// wgmma: K/V tile buffers. 1: one K and one V buffer, the next K copy
  /// overlapping softmax and P V, the next V copy overlapping Q K^T. n > 1:
  /// a ring; tile t + n - 1 is copied while tile t is computed.
  int64_t stages = 1;
  /// wgmma with tma: Q, K and V tiles arrive by TMA copies from tensor
  /// maps the launcher encodes per call (TensorMaps.h), issued by thread 0
  /// and completing on mbarriers after the tiles: Q's, then one per K and
  /// one per V buffer.
  bool tensorMaps = false;
  /// forward-schedule = overlap (MainloopSm90Overlap.cpp): needs wgmma,
  /// tensorMaps and stages >= 2.
  bool overlap = false;
  /// forward-schedule = ws (MainloopSm90WarpSpecialized.cpp): `warps`
  /// consumer warps (one or two warpgroups) and one more warpgroup whose
  /// first warp issues the TMA copies; needs wgmma and tensorMaps. The
  /// barriers are Q's, `stages` full and `stages` empty ones, then Q's
  /// release.
  bool warpSpecialized = false;
  /// blocks-per-sm: PTX .minnctapersm of the forward kernel (0: ptxas's
  /// choice; the warp-specialised kernels set their budget's count).
  int64_t minBlocksPerSM = 0;
  /// The .minnctapersm the forward kernel carries (0: none): the
  /// warp-specialised budget's count, else blocks-per-sm.
  int64_t compiledBlocksPerSM() const {
    return warpSpecialized ? warpSpecializedBudget(warps).blocksPerSM
                           : minBlocksPerSM;
  }
  /// forward-schedule = ws-pingpong: warpSpecialized and overlap with two
  /// consumer warpgroups taking turns to issue their products (named
  /// barriers 1 and 2; MainloopSm90WarpSpecialized.cpp).
  bool pingPong = false;
  int64_t barrierBytes() const {
    return tensorMaps ? 8 * (1 + 2 * stages + (warpSpecialized ? 1 : 0)) : 0;
  }
  /// Persistent kernels (warp-specialised): at most persistentBlocks()
  /// blocks, each looping over the work items from its block index in
  /// steps of the grid (the heaviest first, as the list is sorted).
  bool persistent() const { return warpSpecialized; }
  int64_t persistentBlocks() const {
    return kStreamingMultiprocessors * warpSpecializedBudget(warps).blocksPerSM;
  }
  /// Byte offset of the mbarriers in the dynamic shared memory.
  int64_t barrierOffset() const {
    return tileBytes(tileQ(), headDim) +
           stages * (tileBytes(tileK, headDim) + tileBytes(tileK, valueDim));
  }

  bool tf32() const { return elementType.isF32(); }
  Schedule schedule() const {
    if (wgmma && warpSpecialized)
      return overlap ? Schedule::WgmmaWarpSpecializedOverlap
                     : Schedule::WgmmaWarpSpecialized;
    if (wgmma && overlap)
      return Schedule::WgmmaOverlap;
    if (wgmma)
      return stages > 1 ? Schedule::WgmmaRing : Schedule::WgmmaChained;
    return tf32() ? Schedule::SyncTf32 : Schedule::SyncMmaSync;
  }
  /// The epilogue stages O in Q's tile (StagedStores.h,
  /// Mainloop::epilogueStaging): the serial wgmma schedules (one item a
  /// block, every tile's products behind a block barrier), O no wider
  /// than Q.
  bool stagesEpilogue() const {
    Schedule s = schedule();
    return (s == Schedule::WgmmaChained || s == Schedule::WgmmaRing) &&
           valueDim <= headDim;
  }
  /// tma-stores: the staged O leaves by TMA bulk tensor stores through
  /// the output's map (16-row boxes), the kernel's last argument; needs
  /// stagesEpilogue(), split-keys = 1 and an output a map describes.
  bool storesByMap = false;
  /// stmatrix-staging (wgmma only): accumulator rows staged in shared
  /// memory (StagedStores.h: the staged epilogues, the dK/dV kernel's dS
  /// tiles) are written by stmatrix, four 8 x 8 matrices an instruction,
  /// instead of a 4-byte store per fragment pair.
  bool stmatrixStaging = false;
  /// Threads a block: the computing warps, and the producer's warpgroup.
  int64_t threads() const { return 32 * warps + (warpSpecialized ? 128 : 0); }
  int64_t tileQ() const { return 16 * warps; }
  int64_t elementBytes() const { return tf32() ? 4 : 2; }
  /// Bytes of a swizzled wgmma tile (no padding).
  int64_t tileBytes(int64_t rows, int64_t width) const {
    return rows * width * elementBytes();
  }
  /// mma.sync: rows of the one shared buffer (Q, then K above V).
  int64_t sharedRows() const { return std::max(tileQ(), 2 * tileK); }
  /// The kernel's shared memory: dynamic for wgmma, static for mma.sync.
  int64_t sharedBytes() const {
    if (wgmma) // Q, K and V tiles, no padding (swizzled instead)
      return barrierOffset() + barrierBytes();
    return sharedRows() * (std::max(headDim, valueDim) + kSharedRowPad) *
           elementBytes();
  }
  /// Shared memory an SM gives `blocks` resident blocks of this kernel
  /// (each also takes the bytes the system keeps).
  int64_t residentSharedBytes(int64_t blocks) const {
    return blocks * (sharedBytes() + kReservedSharedBytesPerBlock);
  }
  int64_t dynamicSharedBytes() const { return wgmma ? sharedBytes() : 0; }
  int64_t queryTiles() const { return (queryLen + tileQ() - 1) / tileQ(); }
  ::spa::plan::TileShape tileShape() const { return {tileQ(), tileK}; }
};

/// Checks the pass options alone (before any op is seen); a message naming
/// the bad option, or an empty string.
std::string validateOptions(const ConvertSpaToGPUOptions &options);
/// zero-tail-items resolved: the option where given, else (auto) one item
/// a block until grouping is measured on the GPU.
inline int64_t resolveZeroTailItems(const ConvertSpaToGPUOptions &options) {
  return options.zeroTailItems > 0 ? options.zeroTailItems : 1;
}
/// zero-tail-with-items resolved: true asks for it (with zero-tail-items >
/// 1 that is an option error); auto keeps the tail's own blocks until the
/// form has been measured on a GPU (docs/benchmarks.md, 2026-12-07).
inline bool resolveZeroTailWithItems(const ConvertSpaToGPUOptions &options) {
  return options.zeroTailWithItems == AutoToggle::On &&
         options.zeroTailItems <= 1;
}

/// zero-tail-spread resolved: true asks for it (with zero-tail-with-items =
/// true that is an option error); auto keeps the tail's blocks last until
/// the spread order has been measured on a GPU.
inline bool resolveZeroTailSpread(const ConvertSpaToGPUOptions &options) {
  return options.zeroTailSpread == AutoToggle::On;
}

/// Resolves `options` for `op` (buffer form, static shapes, concrete band
/// table): picks the MMA generation and stages, narrows f32 key tiles to fit,
/// checks the shared-memory budget and the sizes the kernel's loops and
/// tables are bounded by (before any table is built). Emits a located error
/// and fails when the op cannot take the GPU path with these options.
/// What every kernel of an op reads the same way: buffers of static shape
/// and a layout the kernels index (identity or static strides, see
/// BufferLayout.h), a concrete band table; fills the geometry (B, heads,
/// lengths, D, Dv from `value`), element type, mode, scale and intervals
/// per head. Each caller checks its own element types and extents.
LogicalResult readOpGeometry(BandedAttentionOpInterface op, Value value,
                             KernelConfig &cfg);

FailureOr<KernelConfig> resolveKernelConfig(AttentionOp op,
                                            const ConvertSpaToGPUOptions &options);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_KERNELCONFIG_H
