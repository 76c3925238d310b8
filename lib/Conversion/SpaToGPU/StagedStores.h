//===- StagedStores.h - accumulator rows out via shared memory -*- C++ -*-===//
//
// The wgmma accumulator layout gives each thread two adjacent columns of a
// row per 8-column tile, so storing it straight from registers takes one
// 4-byte store per pair: 64 a thread for a 64 x 128 tile, each touching 8
// rows (8 cache lines) a warp instruction. Nsight Compute's stall sampling
// of the headline layer (docs/benchmarks.md, "Where the kernels wait") put
// those stores (lg throttle, their drain at exit) at a quarter of the dK/dV
// and dQ kernels' warp time and a tenth of the forward's. Here a warp writes
// its 16 rows into shared memory that the item no longer needs (its own
// tile of Q, K or V) and reads them back as 16-byte row chunks: 8 global
// stores a thread at D = 128, each warp instruction 4 whole 128-byte lines.
//
// The staging view is a tile in the wgmma layout, [width / 64][rows][64]:
// each 64-column box row is 128 bytes. The 16-byte chunk q of row r sits at
// chunk q ^ (r % 8), so that both the fragment writes (8 rows x 4 threads
// of one chunk column) and the chunk reads (8 chunks of one row) touch 32
// different banks. It is also TMA's 128-byte swizzle: with the output's
// tensor map (tma-stores) lane 0 of the warp sends its rows out as one
// bulk tensor store a 64-column box instead, and the copy engine skips the
// rows past the length (no per-chunk bounds branch; 2026-12-07 ablation:
// the epilogues were 9-10% of the headline's dK/dV and forward kernels).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_STAGEDSTORES_H
#define SPA_LIB_CONVERSION_SPATOGPU_STAGEDSTORES_H

#include "KernelContext.h"

namespace mlir::spa::gpu_kernel {

/// Whether rows of `dest` ([batch, head, row, width], 2-byte elements) can
/// take 16-byte chunk stores: contiguous rows whose starts stay 16-byte
/// aligned (the launcher checks the base pointer's alignment).
bool canStageRows(Value dest, int64_t width);

/// Whether rows of `dest` can also leave by TMA stores (tma-stores):
/// canStageRows, and a tensor map describes dest (TensorMaps.h).
bool canStoreRowsByMap(Value dest, int64_t width);

/// stmatrix-staging: a warp's rows `rowBase` + g (+ 8) (rowBase a multiple
/// of 8), columns 8 t + 2c (+ 1) for t < `tiles` (even), into `staging`
/// at the indices `at(t / 8, row, chunk column)`: `pair(t, r)` is the
/// lane's rounded 2-element vector (16-bit) of tile t, row g + 8r; chunk q
/// of a row lands at chunk q ^ (row % 8), the layout the 4-byte stores
/// write. One stmatrix (m8n8, x4) a pair of tiles: the matrices (t, row
/// g), (t, g + 8), (t + 1, g), (t + 1, g + 8), each lane addressing one
/// matrix row (16 bytes).
void stageFragmentsByMatrix(
    ImplicitLocOpBuilder &b, const KernelContext &k, int64_t tiles,
    Value rowBase, function_ref<Value(int64_t t, int64_t r)> pair,
    function_ref<SmallVector<Value>(Value box, Value row, Value column)> at,
    Value staging);

/// One warp's 16 rows out: `acc` holds its width / 8 accumulator tiles
/// (rows g and g + 8, columns 8 t + 2c, + 1), each row r scaled by
/// `rowScale[r]` and rounded to dest's element type, staged in rows
/// [16 warp, 16 warp + 16) of `staging` (a [width / 64][rows][64] shared
/// tile), then written to dest[batch, head, tileFirstRow + 16 warp + i, :]
/// for the rows below `limit`. The staging rows must be free: the caller
/// orders every earlier reader of them before this (a barrier or the
/// products' completion). With `map` (dest's map, kStoreBoxRows-row boxes,
/// TensorMaps.h), lane 0 stores the rows by TMA, clipped at dest's own
/// length, which must be `limit`; the caller then calls waitStagedStores
/// before the staging rows are written again or the block exits.
void storeRowsStaged(ImplicitLocOpBuilder &b, const KernelContext &k,
                     ArrayRef<Value> acc, ArrayRef<Value> rowScale,
                     Value staging, Value dest, Value batch, Value head,
                     Value tileFirstRow, Value limit, Value map = Value());

/// After storeRowsStaged with a map: lane 0 of each warp waits until its
/// stores have read the staging rows.
void waitStagedStores(ImplicitLocOpBuilder &b, const KernelContext &k);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_STAGEDSTORES_H
