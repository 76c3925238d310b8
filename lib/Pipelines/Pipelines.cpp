//===- Pipelines.cpp - registered spa pass pipelines ----------------------===//
//
// `spa-to-llvm-cpu`: spa.attention -> band tables -> tiled linalg/scf on
// tensors -> buffers -> loops -> LLVM dialect, ready for the ExecutionEngine
// or mlir-translate. Written as a textual pipeline so that the exact stages
// are visible (`spa-opt --dump-pass-pipeline`) and reproducible with
// upstream passes alone after -convert-spa-to-linalg.
//
//===----------------------------------------------------------------------===//

#include "spa/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

std::string mlir::spa::getCpuPipelineText(const CpuPipelineOptions &options) {
  std::string balance = "spa-balance-bands";
  if (!options.policy.getValue().empty())
    balance += "{policy=" + options.policy.getValue() + "}";
  return llvm::formatv(
      "{0},spa-expand-band-bounds,"
      "convert-spa-to-linalg{{tile-q={1} tile-k={2}},"
      "canonicalize,cse,"
      "one-shot-bufferize{{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "func.func(buffer-hoisting,buffer-loop-hoisting),"
      "buffer-deallocation-pipeline,"
      "convert-linalg-to-loops,"
      "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
      "arith-expand{{include-bf16=true},"
      "convert-math-to-llvm,convert-math-to-libm,"
      "finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
      "convert-cf-to-llvm,convert-func-to-llvm,"
      "reconcile-unrealized-casts",
      balance, options.tileQ.getValue(), options.tileK.getValue());
}

LogicalResult mlir::spa::buildCpuPipeline(OpPassManager &pm,
                                          const CpuPipelineOptions &options) {
  if (options.tileQ <= 0 || options.tileK <= 0)
    return failure();
  return parsePassPipeline(getCpuPipelineText(options), pm, llvm::errs());
}

std::string
mlir::spa::getGpuKernelPipelineText(const GpuPipelineOptions &options) {
  // Balance for the kernel's own tile shape.
  std::string balance =
      llvm::formatv("spa-balance-bands{{tile-q={0} tile-k={1}",
                    16 * options.warps.getValue(), options.tileK.getValue());
  if (!options.policy.getValue().empty())
    balance += " policy=" + options.policy.getValue();
  balance += "}";
  return balance +
         ",one-shot-bufferize{bufferize-function-boundaries "
         "function-boundary-type-conversion=identity-layout-map}," +
         llvm::formatv("convert-spa-to-gpu{{warps={0} tile-k={1} mma={2} "
                       "chip={3} stages={4}}",
                       options.warps.getValue(), options.tileK.getValue(),
                       options.mma.getValue(), options.chip.getValue(),
                       options.stages.getValue())
             .str();
}

std::string
mlir::spa::getGpuBinaryPipelineText(const GpuPipelineOptions &options) {
  // Bare pointers: the kernel's shapes are static, and the launcher then
  // passes one device pointer per buffer.
  return llvm::formatv("gpu-lower-to-nvvm-pipeline{{cubin-chip={0} "
                       "cubin-features={1} opt-level=3 cubin-format={2} "
                       "kernel-bare-ptr-calling-convention=1 "
                       "host-bare-ptr-calling-convention=1}",
                       options.chip.getValue(), options.features.getValue(),
                       options.format.getValue());
}

void mlir::spa::registerSpaPipelines() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "spa-to-nvvm",
      "Compile spa.attention for NVIDIA GPUs: balance bands, bufferize, "
      "generate the tensor-core kernel, lower to NVVM and a gpu.binary",
      [](OpPassManager &pm, const GpuPipelineOptions &options) {
        if (failed(parsePassPipeline(getGpuKernelPipelineText(options) + "," +
                                         getGpuBinaryPipelineText(options),
                                     pm, llvm::errs())))
          llvm::report_fatal_error("spa-to-nvvm: invalid options");
      });
  PassPipelineRegistration<CpuPipelineOptions>(
      "spa-to-llvm-cpu",
      "Compile spa.attention for the CPU: balance bands, lower through "
      "linalg, bufferize, lower to the LLVM dialect",
      [](OpPassManager &pm, const CpuPipelineOptions &options) {
        if (failed(buildCpuPipeline(pm, options)))
          llvm::report_fatal_error("spa-to-llvm-cpu: invalid options");
      });
}
