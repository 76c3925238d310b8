//===- Mainloop.h - the key-tile loop of one MMA generation -----*- C++ -*-===//
//
// A mainloop owns the shared-memory tiles and the matrix products of a
// kernel: how Q, K and V reach shared memory (and when), S = Q K^T and
// O += P V. The skeleton (KernelSkeleton.cpp) drives it through the hooks
// below in a fixed order; the softmax and epilogue are shared. One
// implementation per MMA generation and copy schedule:
//
//   MainloopSm80.cpp  ldmatrix + mma.sync, synchronous copies (f16/bf16), and
//                     the tf32 variant for f32 inputs
//   MainloopSm90.cpp  cp.async + wgmma: one K and one V buffer with a work
//                     item's ranges chained, or a ring of K/V buffers
//   MainloopSm90Overlap.cpp  TMA + wgmma ring, software-pipelined: Q K^T of
//                     tile t in flight with P V of tile t - 1; it runs each
//                     key range itself (runsRanges)
//   MainloopSm90WarpSpecialized.cpp  a TMA producer warp and consumer
//                     warpgroups meeting on mbarriers only (splitRoles)
//
// A new kernel schedule arrives as a new implementation of this interface.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_MAINLOOP_H
#define SPA_LIB_CONVERSION_SPATOGPU_MAINLOOP_H

#include "KernelContext.h"
#include "Softmax.h"

#include <memory>

namespace mlir::spa::gpu_kernel {

/// The online-softmax step of the key tile at `j0` from the row state `m`,
/// `l` (the skeleton's, for the range being run).
using TileSoftmax = function_ref<SoftmaxStep(
    ImplicitLocOpBuilder &, Value j0, ArrayRef<Value> scores, ArrayRef<Value> m,
    ArrayRef<Value> l)>;

class Mainloop {
public:
  explicit Mainloop(KernelContext &k) : k(k), cfg(k.cfg) {}
  virtual ~Mainloop() = default;

  /// Static workgroup buffers of the gpu.func and their alignment.
  virtual SmallVector<Type> workgroupBuffers(MLIRContext *ctx) const {
    return {};
  }
  virtual int64_t workgroupAlignment() const { return 128; }

  /// First thing in the kernel body: views of the shared memory.
  virtual void setupSharedMemory(ImplicitLocOpBuilder &b,
                                 gpu::GPUFuncOp func) = 0;
  /// Once the work item is known: bring in the Q tile (the producer's
  /// part where roles are split).
  virtual void loadQuery(ImplicitLocOpBuilder &b) = 0;
  /// The computing threads' start of a work item: the Q tile ready in
  /// shared memory. Warp-specialised mainloops wait for the producer's.
  virtual void acquireQuery(ImplicitLocOpBuilder &b) { loadQuery(b); }
  /// After the item's last product reading Q (before the epilogue).
  virtual void releaseQuery(ImplicitLocOpBuilder &b) {}
  /// A shared [width / 64][rows][64] tile the epilogue may stage the
  /// output's rows in (warp w's at rows 16 w; StagedStores.h), free once
  /// the item's last products completed on every warp; null: the epilogue
  /// stores from registers.
  virtual Value epilogueStaging() const { return Value(); }
  /// Once per block after the thread ids, before the roles split.
  virtual void beforeRoles(ImplicitLocOpBuilder &b) {}
  /// Before the loops over the item's key ranges, and before each.
  virtual void beginRanges(ImplicitLocOpBuilder &b,
                           ArrayRef<KeyRange> ranges) {}
  virtual void beginRange(ImplicitLocOpBuilder &b, const KeyRange &range) {}
  /// Before each key tile, whatever this thread computes or not: null when
  /// it computes every tile, else an i1 telling whether its rows reach the
  /// tile (when not, computeScores and accumulateValues are skipped and
  /// the row state stays as it is).
  virtual Value beginTile(ImplicitLocOpBuilder &b, Value j0,
                          const KeyRange &range) {
    return Value();
  }
  /// After each key tile, computed or skipped.
  virtual void endTile(ImplicitLocOpBuilder &b) {}
  /// S = Q K^T for the key tile at `j0` of range `r` (including its copies
  /// and waits): Tk / 8 accumulator tiles of 2x2 f32.
  virtual SmallVector<Value> computeScores(ImplicitLocOpBuilder &b, Value j0,
                                           const KeyRange &range,
                                           size_t r) = 0;
  /// O += P V for the same tile; `acc` is already rescaled.
  virtual SmallVector<Value> accumulateValues(ImplicitLocOpBuilder &b,
                                              ArrayRef<Value> probs,
                                              SmallVector<Value> acc) = 0;
  /// After the last range's loop.
  virtual void endRanges(ImplicitLocOpBuilder &b) {}

  /// Software-pipelined mainloops run a whole key range (after beginRange)
  /// instead of computeScores / accumulateValues per tile: their products
  /// overlap across tiles. `state` is m (2 rows), l (2 rows), then the
  /// Dv / 8 O tiles; returns it after the range's tiles.
  virtual bool runsRanges() const { return false; }
  virtual SmallVector<Value> runRange(ImplicitLocOpBuilder &b,
                                      const KeyRange &range,
                                      SmallVector<Value> state,
                                      TileSoftmax softmax) {
    llvm_unreachable("only pipelined mainloops run whole ranges");
  }

  /// Warp-specialised mainloops split the block into a producer, which
  /// runs `produce` (the item's key tiles through produceTile), and the
  /// consumers, which run `consume` (the ranges' products, the epilogue).
  /// Others run `consume` on every thread.
  virtual void splitRoles(ImplicitLocOpBuilder &b,
                          function_ref<void(ImplicitLocOpBuilder &)> produce,
                          function_ref<void(ImplicitLocOpBuilder &)> consume) {
    consume(b);
  }
  /// The producer's part of the key tile at `j0` (its copies).
  virtual void produceTile(ImplicitLocOpBuilder &b, Value j0,
                           const KeyRange &range) {
    llvm_unreachable("only warp-specialised mainloops have a producer");
  }

protected:
  KernelContext &k;
  const KernelConfig &cfg;
};

std::unique_ptr<Mainloop> createMainloopSm80(KernelContext &k);
std::unique_ptr<Mainloop> createMainloopSm90(KernelContext &k);

/// The mainloop of `k.cfg.schedule()`.
inline std::unique_ptr<Mainloop> createMainloop(KernelContext &k) {
  return k.cfg.wgmma ? createMainloopSm90(k) : createMainloopSm80(k);
}

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_MAINLOOP_H
