//===- Pipelines.h - registered spa pass pipelines --------------*- C++ -*-===//
//
// Named pipelines shared by spa-opt, spa-run and the Python bindings, so all
// of them compile a layer the same way.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PIPELINES_PIPELINES_H
#define SPA_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir::spa {

/// Options of `spa-to-llvm-cpu`.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<std::string> policy{
      *this, "policy",
      llvm::cl::desc("Override every op's band policy (see -spa-balance-bands)"),
      llvm::cl::init("")};
  PassOptions::Option<int64_t> tileQ{
      *this, "tile-q", llvm::cl::desc("Query rows per work item"),
      llvm::cl::init(32)};
  PassOptions::Option<int64_t> tileK{
      *this, "tile-k", llvm::cl::desc("Key columns per inner tile"),
      llvm::cl::init(64)};
};

/// The passes `spa-to-llvm-cpu` runs on a module, as a textual pipeline
/// (`spa-opt --pass-pipeline='builtin.module(<this>)'` reproduces it).
std::string getCpuPipelineText(const CpuPipelineOptions &options);

/// Populates `pm` with the CPU pipeline: balance bands, lower to linalg,
/// bufferize, lower to loops and to the LLVM dialect.
LogicalResult buildCpuPipeline(OpPassManager &pm,
                               const CpuPipelineOptions &options);

/// Registers `spa-to-llvm-cpu` with the global pipeline registry.
void registerSpaPipelines();

} // namespace mlir::spa

#endif // SPA_PIPELINES_PIPELINES_H
