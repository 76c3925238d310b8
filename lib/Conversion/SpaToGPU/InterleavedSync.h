//===- InterleavedSync.h - claims and flags of the interleaved kernel -*- C++
//-*-===//
//
// interleaved-dq runs the dK/dV blocks and the dq_stored blocks in one
// launch (BackwardInterleaved.cpp); the dQ blocks read dS tiles other
// blocks wrote during the launch. These are the few places where blocks
// meet, all through the i32 scratch `grad_sync` (zeroed by the preprocess
// launch before each call):
//
//   grad_sync[0]                      the claim counter: a block's entry in
//                                     the launch's order is the counter's
//                                     value before its atomic add
//   grad_sync[1 + (b Hkv + g) T + t]  the flag of dK/dV item (b, g, key
//                                     tile t), T = ceil(Nk / 64): nonzero
//                                     once the item's dS tiles are in memory
//
// The writer (thread 0 of a dK/dV block, after every thread that issued a
// dS bulk copy waited for its completion and fenced the async proxy, and a
// block barrier): membar.gl, then an atomic add of 1 (acq_rel). The reader
// (the thread that issues a dQ block's copies): atomic adds of 0 until the
// flag is nonzero (acq_rel, a 64 ns sleep between tries), then a fence of
// the async proxy before its bulk copies read the tiles. Claims in order,
// and every dQ entry after the dK/dV entries it waits for
// (spa/Planning/InterleavedWorkList.h), keep every wait finite.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_INTERLEAVEDSYNC_H
#define SPA_LIB_CONVERSION_SPATOGPU_INTERLEAVEDSYNC_H

#include "BackwardMainloop.h"

namespace mlir::spa::gpu_kernel {

/// Elements of grad_sync: the counter and one flag a dK/dV item of 64 keys.
int64_t gradSyncElements(const KernelConfig &cfg);

/// The block's entry in the launch's order: thread 0 claims it and passes
/// it through the i32 at `slot` (workgroup memory) to every thread; a
/// block barrier follows.
Value claimBlockEntry(ImplicitLocOpBuilder &b, const BackwardContext &k,
                      Value slot);

/// dK/dV block, after its dS copies completed (ScoreGradWriter::drain) and
/// a block barrier: thread 0 sets the flag of key tile j0 (its first key)
/// of (k.batchIdx, k.kvHead).
void publishKeyTile(ImplicitLocOpBuilder &b, const BackwardContext &k,
                    Value j0);

/// dQ block, the thread about to issue the copies of key tile j0's dS
/// tiles: waits for that key tile's flag of (k.batchIdx, k.kvHead), then
/// fences the async proxy.
void awaitKeyTile(ImplicitLocOpBuilder &b, const BackwardContext &k, Value j0);

/// The preprocess: zeroes grad_sync, the `blocks` blocks' threads each a
/// strided share.
void zeroGradSync(ImplicitLocOpBuilder &b, const BackwardContext &k,
                  Value gradSync, int64_t blocks);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_INTERLEAVEDSYNC_H
