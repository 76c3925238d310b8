//===- Pipelines.cpp - registered spa pass pipelines ----------------------===//
//
// `spa-to-llvm-cpu`: spa.attention -> band tables -> tiled linalg/scf on
// tensors -> buffers -> loops -> LLVM dialect, ready for the ExecutionEngine
// or mlir-translate. After -convert-spa-to-linalg every stage is an upstream
// pass (`spa-opt --spa-to-llvm-cpu --dump-pass-pipeline` lists them).
//
// `spa-to-nvvm`: balance bands for the kernel's tile shape, bufferize,
// generate the tensor-core kernel, then upstream's NVVM lowering (spelled
// out, with -spa-tensor-map-params after the kernels' lowering) and
// gpu-module-to-binary.
//
// Bad option values are rejected by the passes themselves with a located
// error, never by aborting while the pipeline is built.
//
//===----------------------------------------------------------------------===//

#include "spa/Pipelines/Pipelines.h"
#include "spa/Conversion/Passes.h"
#include "spa/Dialect/Spa/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::spa;

ConvertSpaToGPUOptions GpuPipelineOptions::kernelOptions() const {
  ConvertSpaToGPUOptions kernel;
#define SPA_COPY_OPTION(field) kernel.field = field;
  SPA_GPU_KERNEL_OPTION_FIELDS(SPA_COPY_OPTION)
#undef SPA_COPY_OPTION
  return kernel;
}

/// Parses option text; on failure names the offending option (the option
/// parser itself reports only to stderr).
template <typename Options>
static LogicalResult parseOptions(StringRef text, Options &options,
                                  std::string &error) {
  std::string ignored;
  llvm::raw_string_ostream sink(ignored);
  if (succeeded(options.parseFromString(text, sink)))
    return success();
  std::string defaults;
  llvm::raw_string_ostream defaultsOs(defaults);
  Options().print(defaultsOs);
  SmallVector<StringRef> items;
  text.split(items, ' ', -1, /*KeepEmpty=*/false);
  for (StringRef item : items) {
    Options probe;
    if (succeeded(probe.parseFromString(item, sink)))
      continue;
    auto [name, value] = item.split('=');
    bool known = StringRef(defaults).contains((" " + name + "=").str()) ||
                 StringRef(defaults).contains(("{" + name + "=").str());
    error = known ? ("bad value '" + value + "' for option '" + name + "'")
                        .str()
                  : ("unknown option '" + name + "'").str();
    error += "; options and defaults: " + defaults;
    return failure();
  }
  error = "cannot parse '" + text.str() + "'; options and defaults: " +
          defaults;
  return failure();
}

LogicalResult mlir::spa::parseGpuPipelineOptions(StringRef text,
                                                 GpuPipelineOptions &options,
                                                 std::string &error) {
  return parseOptions(text, options, error);
}

LogicalResult mlir::spa::parseCpuPipelineOptions(StringRef text,
                                                 CpuPipelineOptions &options,
                                                 std::string &error) {
  return parseOptions(text, options, error);
}

/// Tensors to buffers with identity layouts at function boundaries (the
/// runtimes pass plain contiguous buffers).
static std::unique_ptr<Pass> createBufferizePass() {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  return bufferization::createOneShotBufferizePass(bufferize);
}

int64_t CpuPipelineOptions::resolvedVectorLanes() const {
  if (vectorLanes != -1)
    return vectorLanes;
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  if (features.lookup("avx512f"))
    return 16;
  if (features.lookup("avx2") || features.lookup("avx"))
    return 8;
  return 4;
}

void mlir::spa::buildCpuPipeline(OpPassManager &pm,
                                 const CpuPipelineOptions &options) {
  int64_t lanes = options.resolvedVectorLanes();
  pm.addPass(createSpaCheckInput());
  // tile_balanced cuts by tile-q x tile-k: the plan is the same whichever
  // form (linalg or vector blocks) runs it.
  SpaBalanceBandsOptions balance;
  balance.policy = options.policy;
  balance.tileQ = options.tileQ;
  balance.tileK = options.tileK;
  pm.addPass(createSpaBalanceBands(balance));
  pm.addPass(createSpaExpandBandBounds());
  ConvertSpaToLinalgOptions linalg;
  linalg.tileQ = options.tileQ;
  linalg.tileK = options.tileK;
  linalg.staticTiles = options.staticTiles;
  linalg.vectorLanes = lanes;
  pm.addPass(createConvertSpaToLinalg(linalg));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Run-time band bounds are elementwise arith on index tensors.
  pm.addPass(createConvertElementwiseToLinalgPass());
  // The vector form's output tiles are written straight into the output
  // (no temporary tile and copy per work item).
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(createBufferizePass());
  // Eliminated empty tensors leave copies of a subview onto an identical
  // one; CSE makes them self-copies, which canonicalization erases.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(bufferization::createBufferHoistingPass());
  pm.addNestedPass<func::FuncOp>(
      bufferization::createBufferLoopHoistingPass());
  bufferization::buildBufferDeallocationPipeline(
      pm, bufferization::BufferDeallocationPipelineOptions());
  // The clones deallocation makes (a returned argument or a value not owned
  // where it is returned) -> memref.alloc + memref.copy.
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createConvertLinalgToLoopsPass());
  // The vector form's work items: OpenMP threads, or a plain loop nest.
  if (options.threads == 1) {
    pm.addPass(createForallToForLoopPass());
  } else {
    pm.addPass(createForallToParallelLoopPass());
    ConvertSCFToOpenMPPassOptions openmp;
    openmp.numThreads = options.threads;
    pm.addPass(createConvertSCFToOpenMPPass(openmp));
    pm.addPass(createSpaScheduleWorkItems());
    // Inlines the memref.alloca_scope the conversion wraps each iteration
    // in (the work items allocate on the heap, not the stack); the scope
    // must go before scf-to-cf splits its region into blocks.
    pm.addPass(createCanonicalizerPass());
  }
  // n-D transfers -> 1-D ones, which lower to plain vector loads/stores.
  VectorTransferToSCFOptions transfers;
  transfers.enableFullUnroll();
  pm.addPass(createConvertVectorToSCFPass(transfers));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  if (options.threads != 1)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::spa::buildGpuKernelPipeline(OpPassManager &pm,
                                       const GpuPipelineOptions &options) {
  ConvertSpaToGPUOptions kernel = options.kernelOptions();
  pm.addPass(createSpaCheckInput());
  // Balance for the kernel's own tile shape (16 query rows per warp).
  SpaBalanceBandsOptions balance;
  balance.policy = options.policy;
  balance.tileQ = 16 * kernel.warps;
  balance.tileK = kernel.tileK;
  pm.addPass(createSpaBalanceBands(balance));
  // Run-time lengths: the bounds of spa.band_bounds as host arithmetic
  // (elementwise on index tensors, then loops after bufferization); a
  // no-op for static lengths.
  pm.addPass(createSpaExpandBandBounds());
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createBufferizePass());
  pm.addPass(createConvertSpaToGPU(kernel));
  pm.addPass(createConvertLinalgToLoopsPass());
}

void mlir::spa::buildGpuBinaryPipeline(OpPassManager &pm,
                                       const GpuPipelineOptions &options) {
  // Upstream's gpu-lower-to-nvvm-pipeline (buildLowerToNVVMPassPipeline in
  // MLIR 22), spelled out so that -spa-tensor-map-params runs between the
  // kernels' NVVM lowering and their translation to a binary. Bare
  // pointers: the kernel's shapes are static, and the launcher then passes
  // one device pointer per buffer.
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip.getValue();
  target.features = options.features.getValue();
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  ConvertIndexToLLVMPassOptions index;
  index.indexBitwidth = 64;
  pm.addPass(createConvertIndexToLLVMPass(index));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  ConvertGpuOpsToNVVMOpsOptions kernels;
  kernels.useBarePtrCallConv = true;
  kernels.indexBitwidth = 64;
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(kernels));
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createSpaTensorMapParams());
  GpuToLLVMConversionPassOptions host;
  host.hostBarePtrCallConv = true;
  host.kernelBarePtrCallConv = true;
  pm.addPass(createGpuToLLVMConversionPass(host));
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format.getValue();
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::spa::registerSpaPipelines() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "spa-to-nvvm",
      "Compile spa.attention for NVIDIA GPUs: balance bands, bufferize, "
      "generate the tensor-core kernel, lower to NVVM and a gpu.binary",
      [](OpPassManager &pm, const GpuPipelineOptions &options) {
        buildGpuKernelPipeline(pm, options);
        buildGpuBinaryPipeline(pm, options);
      });
  PassPipelineRegistration<CpuPipelineOptions>(
      "spa-to-llvm-cpu",
      "Compile spa.attention for the CPU: balance bands, lower through "
      "linalg, bufferize, lower to the LLVM dialect",
      buildCpuPipeline);
}
