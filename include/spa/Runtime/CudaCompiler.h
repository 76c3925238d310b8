//===- CudaCompiler.h - spa modules -> CUDA artifacts -----------*- C++ -*-===//
//
// Compiles a module as `spa-to-nvvm` does (PTX lowered once, assembled by
// ptxas) and packages what a runtime without MLIR
// needs: the cubin, its PTX, and launch metadata (kernel name, grid, block,
// argument order, shapes and element types, constant buffers) as JSON.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_RUNTIME_CUDACOMPILER_H
#define SPA_RUNTIME_CUDACOMPILER_H

#include "spa/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace mlir::spa {

struct CudaArtifact {
  std::string cubin;    // ELF for `chip`
  std::string ptx;      // the same kernel as PTX
  std::string metadata; // JSON, see docs/gpu.md
};

/// Compiles `module` (consumed) for the GPU. On failure returns false and
/// sets `error`; MLIR diagnostics go to the context's handler.
bool compileCudaArtifact(ModuleOp module, const GpuPipelineOptions &options,
                         CudaArtifact &artifact, std::string &error);

} // namespace mlir::spa

#endif // SPA_RUNTIME_CUDACOMPILER_H
