//===- BackwardQueryAtomic.h - dQ by atomics (deterministic=false) -*- C++ -*-===//
//
// The non-deterministic backward (`deterministic=false`, wgmma only) drops
// the dQ kernel, which recomputes S and dP (three products a tile), and
// adds each tile's dQ from the dK/dV kernel instead (one product):
//
//   preprocess   Delta as before, and zeros into every element of the f32
//                scratch dq_accum (zeroQueryAccumulator)
//   dkdv_dq      the dK/dV kernel; per stream tile, once dS^T is formed:
//                dS^T (rounded) -> shared, dQ_tile = dS K (wgmma, both
//                operands MN-major from shared memory) in chunks of 64 rows
//                x 64 columns; each chunk goes to shared memory in pieces
//                of 64 rows x P columns (f32), and one thread adds each
//                piece to dq_accum with one or two bulk asynchronous
//                reductions (cp.reduce.async.bulk .add.f32, sm_90)
//   dq_convert   dQ = scale * dq_accum in the element type
//
// dq_accum: f32 [B][Hq][NB][D / P][64][P], NB = ceil(Nq / 64) + tile-k / 64
// (BackwardConfig::dqAccumBlocks). Query row i, column d of (b, h) lives in
// block i / 64, piece d / P, row x = i % 64; in that row the 8-column group
// (d % P) / 8 is stored at group ((d % P) / 8) ^ swizzle(x) (swizzle(x) = x
// % 4 for P >= 32, (x / 2) % 2 for P = 16), the layout in which a warp's
// stores of its accumulator fragments hit distinct shared-memory banks. A
// 64-row x P piece is contiguous: a stream tile starting at row i0 reaches
// blocks i0 / 64 and i0 / 64 + 1 with one contiguous reduction each. Rows
// at or past Nq land in the padding blocks, which dq_convert never reads.
//
// The order of the f32 additions differs from run to run: dQ is not
// bitwise reproducible (dK and dV still are).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_BACKWARDQUERYATOMIC_H
#define SPA_LIB_CONVERSION_SPATOGPU_BACKWARDQUERYATOMIC_H

#include "BackwardMainloop.h"

namespace mlir::spa::gpu_kernel {

/// dq_accum's type (the layout of the file header).
MemRefType queryAccumulatorType(OpBuilder &b, const BackwardConfig &grad);

/// The staging ring of dq_accum pieces and their bulk reductions, shared by
/// the classic dK/dV kernel (AtomicQueryTile) and the warp-specialised one
/// (BackwardQueryReduceWs.h). Each warpgroup owns `buffers` staging
/// buffers of 64 rows x grad.dqPieceColumns f32 and synchronises its 128
/// threads on named barrier `barrierBase` + warpgroup; one thread of the
/// warpgroup (`issuer`) issues the reductions.
class QueryPieceReducer {
public:
  QueryPieceReducer() = default;
  /// The ring's view at byte `offset` of the dynamic shared memory `whole`
  /// (warpgroups x buffers x 64 x P f32) and the thread's roles. `aligned`:
  /// every thread of a warpgroup reaches the reductions at the same
  /// instruction (bar.sync; otherwise barrier.sync).
  QueryPieceReducer(ImplicitLocOpBuilder &b, const BackwardContext &k,
                    Value whole, int64_t offset, int64_t warpgroups,
                    int64_t buffers, int32_t barrierBase, bool aligned);
  /// Reduces `tiles` (P / 8 f32 accumulator tiles of the warp's 16 rows,
  /// columns `column` (an index, a multiple of P) ..) of the 64 query rows from
  /// `rowStart` into dq_accum through staging buffer `buffer`. The buffer must
  /// no longer be read: the issuer first waits until at most `readsInFlight` of
  /// its earlier reductions are still reading shared memory.
  void reducePiece(ImplicitLocOpBuilder &b, const BackwardContext &k,
                   ArrayRef<Value> tiles, int64_t buffer, Value rowStart,
                   Value column, int64_t readsInFlight) const;
  /// The two halves of reducePiece for a kernel whose reductions another
  /// warp issues. stagePiece: every thread of the warpgroup stores its
  /// part of `tiles` (no barrier, no fence); returns rowStart % 64, which
  /// issuePiece takes. issuePiece, one thread: the bulk reductions of
  /// warpgroup `group`'s staging buffer `buffer` and their commit.
  Value stagePiece(ImplicitLocOpBuilder &b, const BackwardContext &k,
                   ArrayRef<Value> tiles, int64_t buffer, Value rowStart) const;
  void issuePiece(ImplicitLocOpBuilder &b, const BackwardContext &k,
                  Value group, int64_t buffer, Value rowStart, Value shift,
                  Value column) const;
  /// The issuers wait until their reductions are complete (the staging
  /// buffers must outlive the reads).
  void drain(ImplicitLocOpBuilder &b) const;
  /// bar.sync of this warpgroup's 128 threads.
  void warpgroupBarrier(ImplicitLocOpBuilder &b) const;

  Value warpgroup; ///< index
  Value issuer;    ///< i1: thread 0 of the warpgroup

private:
  Value ring; ///< [warpgroups][buffers][64][P] f32
  int64_t buffers = 0;
  int32_t barrierBase = 1;
  bool aligned = true;
};

/// Stores dS^T (`tiles` accumulator tiles of the warp's 16 key rows;
/// `pair(nt, r)` gives row r of tile nt as two elements of the element
/// type) where a dQ = dS K wgmma reads it as an MN-major A operand: `at`
/// gives the indices into `memref` of (M block of 64 queries, key row,
/// column) in a [streamRows / 64][rows][64] tile with the 128-byte swizzle;
/// the warp's keys are rows keyBase + g (+ 8). Conflict-free: the 8 g of a
/// store hit 8 different 16-byte chunks. With stmatrix-staging the same
/// bytes by stageFragmentsByMatrix (StagedStores.h; `pair` is asked for
/// tile by tile, row 0 before row 1, either way).
void storeTransposedScoreGrads(
    ImplicitLocOpBuilder &b, const BackwardContext &k, int64_t tiles,
    Value keyBase, function_ref<Value(int64_t nt, int64_t r)> pair,
    function_ref<SmallVector<Value>(Value mBlock, Value key, Value column)> at,
    Value memref);

/// storeTransposedScoreGrads of f32 dS^T tiles rounded to the element type
/// (each tile where its row 0 is asked for: rounding all up front reorders
/// the ops and changes the kernels' PTX for nothing), into `memref` at
/// `prefix` followed by (M block, key row, column).
void storeRoundedScoreGradsT(ImplicitLocOpBuilder &b, const BackwardContext &k,
                             ArrayRef<Value> scoreGradsT, Value keyBase,
                             ValueRange prefix, Value memref);

/// The dK/dV kernel's dQ part: one per kernel, after the mainloop's shared
/// tiles. Each warpgroup stages its 64 keys' dS^T in its own tile
/// [streamRows / 64][64 keys][64 queries] (128-byte swizzle, the layout an
/// MN-major A operand reads), so that dQ_tile = dS K is a wgmma with A =
/// dS (64 queries x 64 keys per M block) and B = the own K tile (the
/// warpgroup's 64 keys x D). Each warpgroup adds the contribution of its
/// own keys; the reductions sum the warpgroups and the key tiles.
///
/// The product goes out in chunks of 64 query rows x 64 columns (32
/// accumulators a thread), one chunk in flight at a time: the dK/dV
/// kernel already holds dK and dV (D/2 + Dv/2 registers), and a whole
/// tile's dQ (tile-k D / 128 more) made it spill. Each chunk leaves through
/// a ring of two f32 staging buffers per warpgroup (64 x P each): piece p
/// is written while piece p - 1's reduction reads the other buffer.
class AtomicQueryTile {
public:
  AtomicQueryTile(BackwardContext &k, BackwardMainloop &mainloop)
      : k(k), mainloop(mainloop) {}

  /// The views of the dS^T tiles and the staging ring, this warpgroup's
  /// descriptor.
  void setupSharedMemory(ImplicitLocOpBuilder &b);

  /// The end of a stream tile at i0 once dS^T is formed and dV's product
  /// `dVIssued` is in flight: stages dS^T, issues the first dQ chunk and
  /// then dK += dS^T Q (the mainloop's product), waits for dV and that
  /// chunk with dK in flight and reduces the chunk into dq_accum, then each
  /// further chunk (issue, wait, reduce). Returns the new dK and dV tiles.
  std::pair<SmallVector<Value>, SmallVector<Value>>
  finishTile(ImplicitLocOpBuilder &b, ArrayRef<Value> scoreGradsT,
             SmallVector<Value> dK, const BackwardMainloop::Issued &dVIssued,
             Value i0);

  /// At the end of the kernel: the issuing threads wait until their
  /// reductions are complete (the staging buffers must outlive the reads).
  void drain(ImplicitLocOpBuilder &b);

private:
  /// Writes dS^T (the warp's streamRows / 8 f32 tiles, rounded to the
  /// element type) to shared memory and makes it visible to wgmma (proxy
  /// fence and block barrier). The next stream tile's load barrier guards
  /// it against the next write (every chunk is waited for before).
  void stage(ImplicitLocOpBuilder &b, ArrayRef<Value> scoreGradsT);
  int64_t chunks() const;
  /// Chunk j: M block j / (D / 64), columns 64 (j % (D / 64)) ..
  BackwardMainloop::Issued issueChunk(ImplicitLocOpBuilder &b, int64_t j);
  /// Reduces chunk j's waited tiles (8 2x2 tiles) into dq_accum rows i0 +
  /// 64 (j / (D / 64)) .., piece by piece.
  void reduceChunk(ImplicitLocOpBuilder &b, ArrayRef<Value> tiles, int64_t j,
                   Value i0);

  BackwardContext &k;
  BackwardMainloop &mainloop;
  Value staging;     ///< [warpgroups][streamRows / 64][64][64] element type
  Value stagingDesc; ///< descriptor of this warpgroup's tile
  QueryPieceReducer reducer; ///< [warpgroups][2][64][P] f32, barriers 1 + w
};

/// Preprocess, deterministic = false: zeros into every element of dq_accum
/// (padding included), 16 bytes at a time, grid-strided over the
/// preprocess's `blocks` blocks.
void zeroQueryAccumulator(ImplicitLocOpBuilder &b, const BackwardContext &k,
                          Value accum, int64_t blocks);

/// Arguments: dq_accum (the layout of the file header), query_grad. Eight
/// elements a thread: query_grad = scale * dq_accum, rounded to the element
/// type.
gpu::GPUFuncOp buildQueryConvertKernel(OpBuilder &moduleBuilder, Location loc,
                                       StringRef name, ArrayRef<Type> argTypes,
                                       const BackwardConfig &grad);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_BACKWARDQUERYATOMIC_H
