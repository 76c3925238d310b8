//===- BufferLayout.h - the buffer layouts the GPU kernels index -*- C++ -*-===//
//
// Every kernel indexes its buffers as [batch, head, row, column] through
// memref and vector loads/stores and 16-byte cp.async copies; the NVVM
// lowering (bare-pointer ABI) folds static strides into the addresses. So a
// buffer may have any static strided layout that keeps the pointer on its
// first element and the kernels' vector copies aligned. This file says
// which layouts those are, with one located error per violation.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_BUFFERLAYOUT_H
#define SPA_LIB_CONVERSION_SPATOGPU_BUFFERLAYOUT_H

#include "spa/Dialect/Spa/IR/SpaDialect.h"

namespace mlir::spa::gpu_kernel {

/// The kernels' vector and cp.async copies move 16 bytes at a time.
constexpr int64_t kVectorCopyBytes = 16;

/// Checks every memref operand of `op` (spa.attention or
/// spa.attention_grad on buffers): static shape; identity layout, or a
/// static strided layout with offset 0, unit innermost stride and
/// nonnegative strides; in the 4-D operands (q, k, v, out, dout, dq, dk,
/// dv) every stride of a dimension longer than 1 a multiple of 16 bytes;
/// in the operands the kernels write (out, lse, dq, dk, dv) no two
/// elements at one address. Emits a located error naming the operand.
LogicalResult checkBufferLayouts(BandedAttentionOpInterface op);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_BUFFERLAYOUT_H
