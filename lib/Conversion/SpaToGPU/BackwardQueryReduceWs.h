//===- BackwardQueryReduceWs.h - dQ fused into ws dK/dV -------*- C++ -*-===//
//
// backward-schedule = ws with deterministic = false: the warp-specialised
// dK/dV kernel (BackwardKeyValueWs.cpp) also forms each query tile's dQ,
// so the dQ kernel, which recomputes S and dP (three products a tile pair),
// gives way to one product a tile in the dK/dV kernel (FlashAttention-3's
// fused backward). Per query tile c of the walk, in each of the two
// consumer warpgroups, once dS^T of its 64 keys is formed:
//
//   stage   dS^T (rounded) -> exchange[c % 2] rows 64 w .. 64 w + 63
//           (zeros where the warpgroup skipped the tile's products)
//   sync    exchange: bar.sync 1, 256 (both consumer warpgroups)
//           own:      bar.sync 6 + w, 128
//   issue   exchange (D = 128): dQ[:, 64 w ..] = dS K over all 128 keys
//           own      (D = 64):  dQ = dS_w K_w over the warpgroup's 64 keys
//   reduce  the 64 x 64 f32 piece -> the warpgroup's staging buffer, between
//           barrier.sync dQEmpty[w] and barrier.arrive dQFull[w] (named
//           barriers 4 + w and 2 + w, 160 threads: the warpgroup and the
//           dQ writer warp)
//
// The dQ writer, warp 9 (in the producer warpgroup), walks the same tiles:
// per tile it arrives on dQEmpty[w] of each warpgroup that forms a piece
// (the buffer's last reduction has finished reading it), waits on
// dQFull[w], and one lane issues the piece's cp.reduce.async.bulk .add.f32
// into dq_accum; then it waits until the tile's reductions have read
// shared memory. The consumers never wait for the bulk copy engine.
//
// With two column blocks (D = 128) the warpgroups split dQ's columns and
// each product sums the whole key tile (FlashAttention-3's exchange): one
// reduction per 64 x 64 piece. With one (D = 64) each warpgroup adds its own
// keys' part: twice the reductions, no coupling between the warpgroups.
//
// The exchange tile is double-buffered: the barrier of tile c orders the
// writes of tile c after every read of tile c - 2's buffer (each warpgroup
// waits for its dQ product before it arrives at the next barrier). dq_accum
// and its layout are the classic atomic kernel's (BackwardQueryAtomic.h),
// with 64-column pieces; the preprocess zeroes it and dq_convert scales it.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_BACKWARDQUERYREDUCEWS_H
#define SPA_LIB_CONVERSION_SPATOGPU_BACKWARDQUERYREDUCEWS_H

#include "BackwardQueryAtomic.h"

namespace mlir::spa::gpu_kernel {

class WarpSpecializedQueryTile {
public:
  explicit WarpSpecializedQueryTile(BackwardContext &k) : k(k) {}

  /// The views after the mainloop's tiles of `whole` (the dynamic shared
  /// memory): the exchange tiles and the staging buffers.
  void setupSharedMemory(ImplicitLocOpBuilder &b, Value whole);
  /// Consumers: the operands' descriptors; `ownKeyTile` is the own K tile
  /// ([D / 64][128][64], swizzled), `ownKeyDesc` its descriptor at this
  /// warpgroup's 64 keys.
  void computeDescriptors(ImplicitLocOpBuilder &b, Value ownKeyTile,
                          Value ownKeyDesc);
  /// Whether every warpgroup forms and hands off a piece of every tile: in
  /// the exchange form a warpgroup that skips a tile's products still
  /// stages zeros, multiplies and hands its columns to the writer (the
  /// other warpgroup's columns need its half of dS); otherwise only the
  /// warpgroups whose keys the tile reaches do.
  bool everyWarpgroupTakesPart() const { return exchange(); }

  /// Stages the warpgroup's dS^T of tile `c` (an index; `words`: dS^T
  /// rounded and packed by packAsA, the A operand of dK's product; empty:
  /// zeros), then the barrier that makes it visible to the product.
  void stage(ImplicitLocOpBuilder &b, ArrayRef<Value> words, Value c);
  /// Issues the warpgroup's dQ product of the staged tile c.
  BackwardMainloop::Issued issue(ImplicitLocOpBuilder &b, Value c);
  /// Hands the completed product (`tiles`: 8 accumulator tiles of the
  /// warp's 16 query rows, dQ rows i0 ..) to the dQ writer.
  void reduce(ImplicitLocOpBuilder &b, ArrayRef<Value> tiles, Value i0);
  /// The dQ writer warp's part of one tile (rows i0 ..): the pieces of the
  /// warpgroups w with `writes[w]` (an i1 each) into dq_accum.
  void writePieces(ImplicitLocOpBuilder &b, Value i0, ArrayRef<Value> writes);
  /// The dQ writer at the end: its reductions are complete.
  void drainWriter(ImplicitLocOpBuilder &b);

  /// Named barriers: the exchange (256 consumer threads; the dK/dV
  /// kernel's consumers also meet on it before their epilogue); dQFull[w]
  /// and dQEmpty[w] (a warpgroup and the writer warp, 160 threads); without
  /// the exchange, each warpgroup's dS^T staging barrier (128 threads).
  static constexpr int32_t kExchangeBarrier = 1;

private:
  /// Two 64-column blocks of dQ: one each warpgroup, over all 128 keys.
  bool exchange() const { return k.cfg.headDim / 64 == 2; }
  static constexpr int32_t kFullBarrierBase = 2;
  static constexpr int32_t kEmptyBarrierBase = 4;
  static constexpr int32_t kStagingBarrierBase = 6;
  static constexpr int32_t kHandOffThreads = 128 + 32;
  /// Bytes of one exchange buffer: 128 keys x streamRows queries.
  int64_t exchangeBytes() const;
  /// The first dQ column of warpgroup `warpgroup`'s piece (an index).
  Value pieceColumn(ImplicitLocOpBuilder &b, Value warpgroup);
  /// `desc` advanced to buffer c % 2 (c an index).
  Value inBuffer(ImplicitLocOpBuilder &b, Value desc, Value c);

  BackwardContext &k;
  Value exchangeTiles; ///< [2][streamRows / 64][128 keys][64] element type
  Value exchangeDesc;  ///< A: buffer 0, row 0 (exchange) or 64 w (own)
  Value keyDesc;       ///< B: own K at key 0 (exchange) or 64 w (own)
  QueryPieceReducer reducer;
};

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_BACKWARDQUERYREDUCEWS_H
