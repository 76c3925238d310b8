//===- BackwardQueryAtomic.h - dQ by atomics (deterministic=false) -*- C++ -*-===//
//
// The non-deterministic backward (`deterministic=false`, wgmma only) drops
// the dQ kernel, which recomputes S and dP (three products a tile), and
// adds each tile's dQ from the dK/dV kernel instead (one product):
//
//   preprocess   Delta as before, and zeros into the f32 scratch dq_accum
//                [B, Hq, Nq, D] (zeroQueryAccumulatorRow)
//   dkdv_dq      the dK/dV kernel; per stream tile, once dS^T is formed:
//                dS^T (rounded) -> shared, dQ_tile = dS K (wgmma, both
//                operands MN-major from shared memory), each element added
//                to dq_accum by red.global.add.f32 (AtomicQueryTile)
//   dq_convert   dQ = scale * dq_accum in the element type
//
// The order of the f32 additions differs from run to run: dQ is not
// bitwise reproducible (dK and dV still are).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_BACKWARDQUERYATOMIC_H
#define SPA_LIB_CONVERSION_SPATOGPU_BACKWARDQUERYATOMIC_H

#include "BackwardMainloop.h"

namespace mlir::spa::gpu_kernel {

/// The dK/dV kernel's dQ part: one per kernel, after the mainloop's shared
/// tiles. Each warpgroup stages its 64 keys' dS^T in its own tile
/// [streamRows / 64][64 keys][64 queries] (128-byte swizzle, the layout an
/// MN-major A operand reads), so that dQ_tile = dS K is a wgmma with A =
/// dS (64 queries x 64 keys per M block) and B = the own K tile (the
/// warpgroup's 64 keys x D). Each warpgroup adds the contribution of its
/// own keys; the atomics sum the warpgroups and the key tiles.
///
/// The product goes out in chunks of 64 query rows x 64 columns (32
/// accumulators a thread), one chunk in flight at a time: the dK/dV
/// kernel already holds dK and dV (D/2 + Dv/2 registers), and a whole
/// tile's dQ (tile-k D / 128 more) made it spill.
class AtomicQueryTile {
public:
  AtomicQueryTile(BackwardContext &k, BackwardMainloop &mainloop)
      : k(k), mainloop(mainloop) {}

  /// The view of the dS^T tiles and this warpgroup's descriptor.
  void setupSharedMemory(ImplicitLocOpBuilder &b);

  /// The end of a stream tile at i0 once dS^T is formed and dV's product
  /// `dVIssued` is in flight: stages dS^T, issues the first dQ chunk and
  /// then dK += dS^T Q (the mainloop's product), waits for dV and that
  /// chunk with dK in flight and adds the chunk to dq_accum, then each
  /// further chunk (issue, wait, add). Returns the new dK and dV tiles.
  std::pair<SmallVector<Value>, SmallVector<Value>>
  finishTile(ImplicitLocOpBuilder &b, ArrayRef<Value> scoreGradsT,
             SmallVector<Value> dK, const BackwardMainloop::Issued &dVIssued,
             Value i0);

private:
  /// Writes dS^T (the warp's streamRows / 8 f32 tiles, rounded to the
  /// element type) to shared memory and makes it visible to wgmma (proxy
  /// fence and block barrier). The next stream tile's load barrier guards
  /// it against the next write (every chunk is waited for before).
  void stage(ImplicitLocOpBuilder &b, ArrayRef<Value> scoreGradsT);
  int64_t chunks() const;
  /// Chunk j: M block j / (D / 64), columns 64 (j % (D / 64)) ..
  BackwardMainloop::Issued issueChunk(ImplicitLocOpBuilder &b, int64_t j);
  /// Adds chunk j's waited tiles (8 2x2 tiles) to dq_accum[batch, head, i0
  /// + ..] for the rows below Nq.
  void addChunk(ImplicitLocOpBuilder &b, ArrayRef<Value> tiles, int64_t j,
                Value i0);

  BackwardContext &k;
  BackwardMainloop &mainloop;
  Value staging;     ///< [warpgroups][streamRows / 64][64][64] element type
  Value stagingDesc; ///< descriptor of this warpgroup's tile
};

/// Preprocess, deterministic = false: zeros into dq_accum[batch, head, row,
/// :] when `valid`, lane c of the row's quad writing columns 16 j + 4 c ..
/// + 3.
void zeroQueryAccumulatorRow(ImplicitLocOpBuilder &b, const BackwardContext &k,
                             Value accum, Value row, Value valid);

/// Arguments: dq_accum (f32 [B, Hq, Nq, D]), query_grad. Eight elements a
/// thread: query_grad = scale * dq_accum, rounded to the element type.
gpu::GPUFuncOp buildQueryConvertKernel(OpBuilder &moduleBuilder, Location loc,
                                       StringRef name, ArrayRef<Type> argTypes,
                                       const BackwardConfig &grad);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_BACKWARDQUERYATOMIC_H
