//===- SpaToGPU.h - spa.attention -> tensor-core gpu.func -------*- C++ -*-===//
//
// The `convert-spa-to-gpu` pass and its options struct
// (`ConvertSpaToGPUOptions`, generated from Passes.td), and
// `-spa-tensor-map-params`, which runs after the kernels' NVVM lowering.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_CONVERSION_SPATOGPU_SPATOGPU_H
#define SPA_CONVERSION_SPATOGPU_SPATOGPU_H

#include "spa/Conversion/SpaToGPU/GpuOptions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::spa {
#define GEN_PASS_DECL_CONVERTSPATOGPU
#define GEN_PASS_DECL_SPATENSORMAPPARAMS
#include "spa/Conversion/Passes.h.inc"
} // namespace mlir::spa

#endif // SPA_CONVERSION_SPATOGPU_SPATOGPU_H
