//===- AsyncBarriers.h - mbarriers in dynamic shared memory -----*- C++ -*-===//
//
// The transaction barriers TMA copies complete on: 8-byte mbarrier objects
// at fixed offsets of the kernel's dynamic shared memory, and the few
// operations on them the kernels use (nvvm ops throughout; no inline PTX).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_ASYNCBARRIERS_H
#define SPA_LIB_CONVERSION_SPATOGPU_ASYNCBARRIERS_H

#include "KernelContext.h"

namespace mlir::spa::gpu_kernel {

/// The mbarrier at byte `offset` (a multiple of 8) of `dynamicShared`, the
/// kernel's dynamic shared memory view: an `!llvm.ptr<3>`.
Value sharedBarrier(ImplicitLocOpBuilder &b, Value dynamicShared,
                    int64_t offset);

/// Initialises `barrier` for `arrivals` arrivals per phase; phase 0 next.
/// Once per block: the kernels keep counting phases rather than
/// re-initialising (compute-sanitizer's racecheck reports a re-initialised
/// barrier as a hazard even after a block-wide barrier).
void initBarrier(ImplicitLocOpBuilder &b, Value barrier, int32_t arrivals);

/// Makes the initialisations visible to the asynchronous proxy (the TMA
/// unit) before any copy is issued on them.
void fenceBarrierInit(ImplicitLocOpBuilder &b);

/// fence.proxy.async.shared::cta: this thread's generic-proxy writes to
/// shared memory become visible to the async proxy (wgmma operands, bulk
/// copies out of shared memory) once a barrier has ordered them.
void fenceSharedForAsyncProxy(ImplicitLocOpBuilder &b);

/// One arrival that also expects `bytes` of transactions (the copies issued
/// next complete on the barrier).
void arriveExpectingBytes(ImplicitLocOpBuilder &b, Value barrier,
                          int64_t bytes);
/// The same with a run-time byte count (an index, below 2^20).
void arriveExpectingBytes(ImplicitLocOpBuilder &b, Value barrier, Value bytes);

/// One plain arrival (release semantics at CTA scope: this thread's
/// earlier memory accesses happen before the phase completes).
void arriveBarrier(ImplicitLocOpBuilder &b, Value barrier);

/// Waits until the phase of parity `parity` (i32 0 or 1) has completed.
void waitBarrier(ImplicitLocOpBuilder &b, Value barrier, Value parity);

/// Every thread: a block barrier (which orders thread 0's initialisation of
/// the mbarriers before any wait), then the wait for `barrier`'s first
/// phase: the kernels' first tile.
void waitFirstPhaseAfterInit(ImplicitLocOpBuilder &b, Value barrier);

/// A work item's TMA tile ring: the count c of tiles it has taken so far,
/// across its key ranges, in a thread-private i32 that LLVM keeps in a
/// register. Tile c sits in buffer c % stages and completes phase
/// c / stages of that buffer's barrier, so the barriers are initialised
/// once per block.
class TileRing {
public:
  TileRing() = default;
  /// The count, 0 (emitted where the kernel sets up its shared memory).
  TileRing(ImplicitLocOpBuilder &b, int64_t stages);
  /// c, the number of tiles taken so far (an index).
  Value taken(ImplicitLocOpBuilder &b) const;
  /// Tile c is taken: the count becomes c + 1.
  void take(ImplicitLocOpBuilder &b, Value c) const;
  /// Waits for tile c's copies on its buffer's barrier among `barriers`
  /// (the first of `stages` consecutive mbarriers).
  void waitFor(ImplicitLocOpBuilder &b, Value barriers, Value c) const;
  /// A producer's wait before it refills tile c's buffer: for the release
  /// of tile c - stages on the buffer's barrier among `releases` (phase
  /// c / stages - 1). The first `stages` tiles pass at once: a fresh
  /// barrier counts the phase before its first as completed.
  void waitForRelease(ImplicitLocOpBuilder &b, Value releases, Value c) const;
  /// The buffer tile c sits in (an index).
  Value buffer(ImplicitLocOpBuilder &b, Value c) const;

private:
  Value count; ///< memref<i32>
  int64_t stages = 1;
};

/// `body` under `scf.if` on thread 0 of the block (the issuing thread),
/// and only when `when` (an i1) holds if given.
void onFirstThread(ImplicitLocOpBuilder &b, const KernelContext &k,
                   function_ref<void(ImplicitLocOpBuilder &)> body,
                   Value when = Value());

/// `body` on lane 0 of each warp (the issuing lane of a warp's own bulk
/// copies: their commit groups are per thread).
void onLaneZero(ImplicitLocOpBuilder &b, const KernelContext &k,
                function_ref<void(ImplicitLocOpBuilder &)> body);

/// The barrier `index` (an index value) places after `first` in an array
/// of 8-byte mbarriers.
Value barrierAt(ImplicitLocOpBuilder &b, Value first, Value index);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_ASYNCBARRIERS_H
