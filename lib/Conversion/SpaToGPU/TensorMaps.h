//===- TensorMaps.h - TMA tile copies through encoded maps ---*- C++ -*-===//
//
// Both halves of a TMA copy. On the host side, the TensorMapArg (launch
// contract) that describes a [B, H, N, W] buffer for tiles of `rows` rows
// and 64 columns with the 128-byte swizzle: exactly the [W / 64][rows][64]
// layout the wgmma descriptors read (Wgmma.h), so a TMA copy and the
// threads' swizzled cp.async copies put the same bytes in the same places,
// zeros past N included. On the device side, the copies of one tile (one
// cp.async.bulk.tensor per 64 columns) that complete on an mbarrier, and
// the stores of a warp's staged epilogue rows, which skip the rows past N.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_TENSORMAPS_H
#define SPA_LIB_CONVERSION_SPATOGPU_TENSORMAPS_H

#include "KernelContext.h"

#include "spa/Conversion/SpaToGPU/LaunchContract.h"

namespace mlir::spa::gpu_kernel {

/// The map named `name` of buffer `of` (type `type`, [B, H, N, W], 2-byte
/// elements) for boxes of `rows` x 64 elements; failure when the layout
/// cannot be described: the last dimension not contiguous, a byte stride
/// not a multiple of 16, W not a multiple of 64 or the element not f16 /
/// bf16.
FailureOr<TensorMapArg> describeTileMap(StringRef name, StringRef of,
                                        MemRefType type, int64_t rows);

/// Whether describeTileMap describes every buffer of `buffers` (box rows
/// 1..256 all describe alike): a kernel takes TMA loads only then.
bool describableByTileMaps(ValueRange buffers);

/// A tensor-map argument a kernel takes: the map `<name>_map` of buffer
/// `buffer` (argument `name`) for boxes of `rows` rows.
struct TileMapSource {
  Value buffer;
  StringRef name;
  int64_t rows;
};

/// Appends the maps of `sources` (describableByTileMaps) to a kernel's
/// launch: each name to `names`, a null host pointer to `operands` (the
/// host never launches these kernels: the launcher encodes the maps per
/// call from the buffers' pointers) and its contract entry to `maps`.
/// Returns the maps' argument indices, for markTensorMapArgs.
SmallVector<int32_t> appendTileMapArgs(ImplicitLocOpBuilder &b,
                                       ArrayRef<TileMapSource> sources,
                                       SmallVectorImpl<std::string> &names,
                                       SmallVectorImpl<Value> &operands,
                                       SmallVectorImpl<TensorMapArg> &maps);

/// Lists `indices` in the kernel's KernelLaunch::kTensorMapArgsAttrName
/// (nothing when empty).
void markTensorMapArgs(Operation *kernel, ArrayRef<int32_t> indices);

/// Issues the copies of rows [row0, row0 + rows) of (batch, head), all
/// `width` columns, into `tile` ([width / 64][rows][64], or
/// [stages][width / 64][rows][64] with `stage`), completing on `barrier`.
/// The caller has announced `rows * width * 2` bytes on the barrier
/// (arriveExpectingBytes); one thread issues.
void loadTileByMap(ImplicitLocOpBuilder &b, Value map, Value tile,
                   Value stage, Value barrier, Value batch, Value head,
                   Value row0, int64_t rows, int64_t width);

/// `prefetch.tensormap` of a grid-constant map (one thread).
void prefetchTensorMap(ImplicitLocOpBuilder &b, Value map);

/// The L2 prefetch of the tile loadTileByMap would copy (rows [row0, row0
/// + rows) of (batch, head), `width` columns): one
/// cp.async.bulk.prefetch.tensor per 64 columns, nothing to wait for. One
/// thread issues.
void prefetchTileByMap(ImplicitLocOpBuilder &b, Value map, Value batch,
                       Value head, Value row0, int64_t width);

/// Rows of a TMA store box: one warp's rows of a staged epilogue
/// (StagedStores.h).
inline constexpr int64_t kStoreBoxRows = 16;

/// Stores rows [tileRow, tileRow + kStoreBoxRows) of `tile` ([width /
/// 64][rows][64], the layout loadTileByMap fills) to rows [row0, row0 +
/// kStoreBoxRows) of (batch, head) through `map` (boxes of kStoreBoxRows
/// rows): one cp.async.bulk.tensor a 64-column box, then one bulk group
/// committed. The copy engine skips the rows past the map's length. One
/// thread issues, after every writer of those rows fenced its writes for
/// the async proxy (fenceSharedForAsyncProxy) and met it at a barrier;
/// the same thread waits for the reads (waitStoreReads) before the rows
/// are written again or the block exits.
void storeRowsByMap(ImplicitLocOpBuilder &b, Value map, Value tile,
                    Value tileRow, Value batch, Value head, Value row0,
                    int64_t width);

/// `cp.async.bulk.wait_group.read 0`: this thread's bulk stores have read
/// their shared memory (their global writes may still be in flight).
void waitStoreReads(ImplicitLocOpBuilder &b);

/// A map and the width of the tiles it loads.
struct MapTile {
  Value map;
  int64_t width;
};

/// successor-prefetch (one thread, after the item's own copies): when the
/// successor item whose entry the work-item read loaded (k.successor*,
/// loadSuccessorEntry) exists, prefetches into L2 its `rows`-row tile of
/// each of `tiles`: the tiles only that item reads, which the block taking
/// it would otherwise wait for from memory first thing. Blocks start in
/// work-list order as others finish, so that item starts about N block
/// completions later.
void prefetchSuccessorTiles(ImplicitLocOpBuilder &b, const KernelContext &k,
                            ArrayRef<MapTile> tiles, int64_t rows);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_TENSORMAPS_H
