//===- SplitKeys.h - split-key work items and their combine ----*- C++ -*-===//
//
// split-keys = S > 1: S blocks share a work item's key tiles, each stores
// unnormalised partials to scratch, and a combine kernel merges them
// (FlashDecoding). SplitKeys.cpp describes the partial layout.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_SPLITKEYS_H
#define SPA_LIB_CONVERSION_SPATOGPU_SPLITKEYS_H

#include "KernelContext.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::spa::gpu_kernel {

/// Threads of a combine block: one warp per row.
constexpr int64_t kCombineThreads = 128;

/// The part of key range [begin, end) split k.split takes: the s-th run of
/// ceil(tiles / S) tiles (empty past the range's end).
std::pair<Value, Value> splitKeyRange(ImplicitLocOpBuilder &b,
                                      const KernelContext &k, Value begin,
                                      Value end);

/// After the key loops of one split: (m, l) to k.lse (partial_stats
/// [S, B, Hq, Nq, 2]) and the unnormalised O to k.out (partial_out
/// [S, B, Hq, Nq, Dv], f32).
void emitPartialEpilogue(ImplicitLocOpBuilder &b, const KernelContext &k,
                         ArrayRef<Value> state);

/// The combine kernel: (partial_out, partial_stats, bounds, output[,
/// log_sum_exp]), one warp per row of B x Hq x Nq.
gpu::GPUFuncOp buildSplitCombineKernel(OpBuilder &moduleBuilder, Location loc,
                                       StringRef name, ArrayRef<Type> argTypes,
                                       const KernelConfig &cfg);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_SPLITKEYS_H
