//===- SpaGradToGPU.h - spa.attention_grad -> kernel launches ---*- C++ -*-===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_SPAGRADTOGPU_H
#define SPA_LIB_CONVERSION_SPATOGPU_SPAGRADTOGPU_H

#include "spa/Conversion/SpaToGPU/SpaToGPU.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::spa {

/// Replaces the buffer-form `op` (the module's spa op number `index`) by the
/// launches of kernels generated into `kernels` (dQ, then dK/dV; with
/// deterministic = false preprocess, dkdv_dq, dq_convert), with the Delta
/// scratch allocated (gpu.alloc) before and freed after them.
LogicalResult convertAttentionGrad(AttentionGradOp op, gpu::GPUModuleOp kernels,
                                   unsigned index,
                                   const ConvertSpaToGPUOptions &options);

} // namespace mlir::spa

#endif // SPA_LIB_CONVERSION_SPATOGPU_SPAGRADTOGPU_H
