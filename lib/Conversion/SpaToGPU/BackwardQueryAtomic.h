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
  /// One piece: `tiles` (P / 8 tiles, columns `column` ..) of the 64 rows
  /// from `rowStart`, through staging buffer `buffer`.
  void reducePiece(ImplicitLocOpBuilder &b, ArrayRef<Value> tiles,
                   int64_t buffer, Value rowStart, int64_t column);
  /// bar.sync of this warpgroup's 128 threads (barrier 1 + warpgroup).
  void warpgroupBarrier(ImplicitLocOpBuilder &b);

  BackwardContext &k;
  BackwardMainloop &mainloop;
  Value staging;     ///< [warpgroups][streamRows / 64][64][64] element type
  Value stagingDesc; ///< descriptor of this warpgroup's tile
  Value ring;        ///< [warpgroups][2][64][P] f32
  Value warpgroup;   ///< index
  Value issuer;      ///< i1: thread 0 of the warpgroup
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
