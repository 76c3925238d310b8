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

/// Options of `spa-to-nvvm`.
struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<std::string> policy{
      *this, "policy",
      llvm::cl::desc("Override every op's band policy (see -spa-balance-bands)"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("Target GPU (sm_90a, sm_80, ...)"),
      llvm::cl::init("sm_90a")};
  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<int64_t> warps{
      *this, "warps",
      llvm::cl::desc("Warps per block (16 query rows each): 1, 2, 4, 8"),
      llvm::cl::init(4)};
  PassOptions::Option<int64_t> tileK{
      *this, "tile-k", llvm::cl::desc("Keys per key tile: 16, 32, 64, 128"),
      llvm::cl::init(64)};
  PassOptions::Option<std::string> mma{
      *this, "mma",
      llvm::cl::desc("Matrix instructions: auto, mma.sync, wgmma (sm_90a)"),
      llvm::cl::init("auto")};
  PassOptions::Option<int64_t> stages{
      *this, "stages",
      llvm::cl::desc("wgmma kernel: K/V tile buffers (1 to 4; 0: auto)"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("gpu.binary payload: bin (cubin), isa (PTX), fatbin"),
      llvm::cl::init("bin")};
};

/// The front half of `spa-to-nvvm`: balance (64x64 tiles), bufferize,
/// generate the kernel (`convert-spa-to-gpu`).
std::string getGpuKernelPipelineText(const GpuPipelineOptions &options);
/// The back half: upstream NVVM lowering and gpu-module-to-binary.
std::string getGpuBinaryPipelineText(const GpuPipelineOptions &options);

/// The passes `spa-to-llvm-cpu` runs on a module, as a textual pipeline
/// (`spa-opt --pass-pipeline='builtin.module(<this>)'` reproduces it).
std::string getCpuPipelineText(const CpuPipelineOptions &options);

/// Populates `pm` with the CPU pipeline: balance bands, lower to linalg,
/// bufferize, lower to loops and to the LLVM dialect.
LogicalResult buildCpuPipeline(OpPassManager &pm,
                               const CpuPipelineOptions &options);

/// Registers `spa-to-llvm-cpu` and `spa-to-nvvm` with the global registry.
void registerSpaPipelines();

} // namespace mlir::spa

#endif // SPA_PIPELINES_PIPELINES_H
