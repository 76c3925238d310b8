//===- ScoreGradStore.h - the stored dS of score-grads = store --*- C++ -*-===//
//
// With score-grads = store the dK/dV kernel writes each tile pair's dS (the
// 64 x 64 dS^T tile it forms anyway, rounded to the element type, in the
// 128-byte-swizzled layout an MN-major wgmma A operand reads) to the
// scratch `score_grad`, and the dQ kernel (BackwardQueryStored.cpp) reads
// it back: dQ = sum over key tiles of dS K, one product a tile pair instead
// of three (S, dP and dQ; docs/backward-plan.md section 5).
//
// Both kernels walk one grid of 64 x 64 tile pairs aligned to multiples of
// 64: each range of rows (dK/dV) or keys (dQ) starts at the multiple of 64
// at or below its first element. spa/Planning/ScoreGradTiles.h proves that
// the two walks then visit the same pairs (those holding an admissible
// pair of the interval and side). A pair visited through bounds slot `slot`
// on side s of query head h is tile
//
//   ((((b Hq + h) R + r) KT + kt) Q + (qt - qtFirst(kt, r)))
//
// of the scratch [tiles][64 x 64]: r = slot x sides + (s < 0) (R = slots x
// sides), kt = key tile, qt = query tile, qtFirst(kt, r) the first query
// tile of the dK/dV kernel's walk for key tile kt through r, and Q the most
// query tiles any such walk has (BackwardConfig::scoreGradQueryTiles, from
// spa::plan::maxQueryTilesPerKeyTile, gtested against brute force).
// Closed form in both kernels, no table; the price is padding: a key tile
// whose walk has fewer than Q query tiles leaves slots unwritten (the dQ
// kernel never reads them), about 2x the admissible tiles at
// exclusive_equal and up to 11x at tile_balanced (docs/backward-plan.md
// section 6). score-grad-layout = compact stores the visited pairs only:
// pair (qt, kt) is tile b x T + bases[h][qt][r] + kt, T the visited pairs
// of one batch element and bases the constant argument score_grad_slots
// (spa::plan::scoreGradSlotBases, gtested to address every pair once from
// either walk); one i32 load a tile, by the thread that issues its copy.
// Tiles move as 8192-byte blocks by the bulk copy engine
// (cp.async.bulk, no tensor map), shared -> global in the dK/dV kernel and
// global -> shared in the dQ kernel, the swizzle kept byte for byte (both
// shared tiles are 1024-byte aligned).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_SCOREGRADSTORE_H
#define SPA_LIB_CONVERSION_SPATOGPU_SCOREGRADSTORE_H

#include "BackwardMainloop.h"

#include "spa/Conversion/Utils/KeyTileGeometry.h"

namespace mlir::spa::gpu_kernel {

/// The scratch's type: [tiles][64 x 64] of the element type.
MemRefType scoreGradType(OpBuilder &b, const BackwardConfig &grad);

/// `begin` of the range [begin, end) (begin >= 0) rounded down to a
/// multiple of 64 unless the range is empty (an empty range stays empty):
/// the 64-aligned grid both walks of score-grads = store share.
Value alignedRangeBegin(IndexArith &e, Value begin, Value end);

/// The query rows [begin, end) of `geometry`'s key tile through [lo, hi)
/// on `side`, begin aligned by alignedRangeBegin: the dK/dV walk of
/// score-grads = store.
std::pair<Value, Value> alignedQueryRange(KeyTileGeometry &geometry, Value lo,
                                          Value hi, int side);

/// The scratch tile (an index) of the pair (query tile at row i0, key tile
/// at key j0; both multiples of 64) of (k.batchIdx, head) through bounds
/// slot `slot` on `side`. Padded: `firstRow` is the first row of the dK/dV
/// walk of key tile j0 through that slot and side (alignedQueryRange's
/// begin). Compact: one load of the range's slot base from
/// k.scoreGradSlots plus j0 / 64; `firstRow` is unused (may be null).
Value scoreGradTileIndex(ImplicitLocOpBuilder &b, const BackwardContext &k,
                         Value head, Value slot, int side, Value j0, Value i0,
                         Value firstRow);

/// The global address (an i64 generic pointer) of scratch tile `tile`.
Value scoreGradTileAddress(ImplicitLocOpBuilder &b, Value scratch, Value tile);

/// The dK/dV kernel's part: two 64 x 64 staging tiles after the mainloop's
/// tiles. Per stream tile, once dS^T is formed, `write` stages it in the
/// next staging tile (every thread its fragments,
/// storeTransposedScoreGrads' layout), makes it visible to the bulk copy
/// engine (proxy fence, block barrier) and has thread 0 store it to its
/// scratch tile (one 8192-byte bulk copy, one commit group); with
/// score-grad-warp-stores each warp fences its own 16 rows and its lane 0
/// stores them (2048 bytes, no block barrier). `release` (the issuing
/// threads, at the end of the stream tile, before the next tile's block
/// barrier) waits until the copy before it has read its staging tile, the
/// one the next tile writes: with one staging tile thread 0 waited for this
/// tile's own copy and the block behind it (dK/dV +30% against +18% with
/// two; docs/benchmarks.md step 7). `drain` (the issuing threads, at the
/// end of the kernel) waits until every copy is complete.
class ScoreGradWriter {
public:
  explicit ScoreGradWriter(BackwardContext &k) : k(k) {}
  void setupSharedMemory(ImplicitLocOpBuilder &b);
  void write(ImplicitLocOpBuilder &b, ArrayRef<Value> scoreGradsT,
             function_ref<Value(ImplicitLocOpBuilder &)> tile);
  void release(ImplicitLocOpBuilder &b);
  void drain(ImplicitLocOpBuilder &b);

private:
  void onIssuingThreads(ImplicitLocOpBuilder &b,
                        function_ref<void(ImplicitLocOpBuilder &)> body);

  BackwardContext &k;
  /// [kScoreGradStagingBuffers][1][64 keys][64 queries], the element type,
  /// swizzled.
  Value staging;
  Value written; ///< memref<i32>: tiles written so far (buffer = count % 2)
};

/// The bulk copy of `bytes` from shared address `from` (an index from
/// memref.extract_aligned_pointer_as_index of a workgroup memref, plus an
/// offset) to the generic global address `to` (i64).
void bulkStoreShared(ImplicitLocOpBuilder &b, Value to, Value from,
                     int64_t bytes);
/// The bulk copy of `bytes` from the generic global address `from` (i64) to
/// shared address `to` (an index), completing on mbarrier `barrier`.
void bulkLoadShared(ImplicitLocOpBuilder &b, Value to, Value from,
                    Value barrier, int64_t bytes);

/// A bulk prefetch of `bytes` at the generic global address `from` (i64)
/// into L2 (no completion to wait for: a hint the copy that follows finds
/// in L2).
void bulkPrefetchL2(ImplicitLocOpBuilder &b, Value from, int64_t bytes);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_SCOREGRADSTORE_H
