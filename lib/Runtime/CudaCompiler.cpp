//===- CudaCompiler.cpp - spa modules -> CUDA artifacts -------------------===//
//
// Generates the kernels (the front half of spa-to-nvvm), reads each
// kernel's launch contract, lowers the module to NVVM and PTX once
// (gpu-module-to-binary, format=isa) and assembles the PTX into a cubin with
// ptxas, the same invocation gpu-module-to-binary would make.
//
//===----------------------------------------------------------------------===//

#include "spa/Runtime/CudaCompiler.h"
#include "spa/Conversion/SpaToGPU/LaunchContract.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

using namespace mlir;
using namespace mlir::spa;

/// launch.json entries of every generated kernel, read before NVVM lowering.
static bool collectKernels(ModuleOp module, llvm::json::Array &kernels,
                           std::string &error) {
  WalkResult walk = module.walk([&](gpu::GPUFuncOp func) {
    auto attr = func->getAttrOfType<DictionaryAttr>(KernelLaunch::kAttrName);
    if (!attr)
      return WalkResult::advance();
    FailureOr<KernelLaunch> launch = KernelLaunch::fromAttr(attr, error);
    if (failed(launch))
      return WalkResult::interrupt();
    kernels.push_back(launch->toJson(func));
    return WalkResult::advance();
  });
  return !walk.wasInterrupted();
}

/// The PTX of the module's one gpu.binary (format=isa).
static bool extractPtx(ModuleOp module, std::string &ptx,
                       std::string &error) {
  bool found = false;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects()) {
      ptx = cast<gpu::ObjectAttr>(attr).getObject().getValue().str();
      found = true;
    }
  });
  if (!found)
    error = "no gpu.binary was produced";
  return found;
}

/// ptxas from PATH, else from the usual CUDA toolkit folders.
static std::optional<std::string> findPtxas() {
  if (llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName("ptxas"))
    return *path;
  for (const char *dir : {"/usr/local/cuda/bin", "/usr/lib/cuda/bin"})
    if (llvm::sys::fs::can_execute(std::string(dir) + "/ptxas"))
      return std::string(dir) + "/ptxas";
  return std::nullopt;
}

/// `ptxas -arch <chip> <ptx> -o <cubin> --opt-level 3`.
static bool assemble(const std::string &ptx, StringRef chip,
                     std::string &cubin, std::string &error) {
  std::optional<std::string> ptxas = findPtxas();
  if (!ptxas) {
    error = "ptxas not found (put the CUDA toolkit's bin folder on PATH)";
    return false;
  }
  SmallString<128> ptxPath, cubinPath, logPath;
  if (llvm::sys::fs::createTemporaryFile("spa-kernel", "ptx", ptxPath) ||
      llvm::sys::fs::createTemporaryFile("spa-kernel", "cubin", cubinPath) ||
      llvm::sys::fs::createTemporaryFile("spa-kernel", "log", logPath)) {
    error = "cannot create temporary files for ptxas";
    return false;
  }
  llvm::FileRemover removePtx(ptxPath), removeCubin(cubinPath),
      removeLog(logPath);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(ptxPath, ec);
    if (ec) {
      error = "cannot write " + ptxPath.str().str() + ": " + ec.message();
      return false;
    }
    os << ptx;
  }
  SmallVector<StringRef> args = {"ptxas", "-arch", chip, ptxPath,
                                 "-o", cubinPath, "--opt-level", "3"};
  std::optional<StringRef> redirects[] = {std::nullopt, logPath.str(),
                                          logPath.str()};
  std::string message;
  if (llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects, 0, 0,
                                &message)) {
    auto log = llvm::MemoryBuffer::getFile(logPath);
    error = "ptxas failed: " +
            (log ? (*log)->getBuffer().str() : message);
    return false;
  }
  auto binary = llvm::MemoryBuffer::getFile(cubinPath, /*IsText=*/false);
  if (!binary) {
    error = "cannot read the cubin ptxas wrote";
    return false;
  }
  cubin = (*binary)->getBuffer().str();
  return true;
}

bool mlir::spa::compileCudaArtifact(ModuleOp module,
                                    const GpuPipelineOptions &options,
                                    CudaArtifact &artifact,
                                    std::string &error) {
  MLIRContext *context = module.getContext();
  PassManager kernelPm(context);
  buildGpuKernelPipeline(kernelPm, options);
  if (failed(kernelPm.run(module))) {
    error = "generating the GPU kernel failed";
    return false;
  }
  llvm::json::Array kernels;
  if (!collectKernels(module, kernels, error))
    return false;
  if (kernels.empty()) {
    error = "the module has no spa.attention to compile";
    return false;
  }

  GpuPipelineOptions isa;
  isa.chip = options.chip.getValue();
  isa.features = options.features.getValue();
  isa.format = "isa";
  PassManager binaryPm(context);
  buildGpuBinaryPipeline(binaryPm, isa);
  if (failed(binaryPm.run(module))) {
    error = "lowering to NVVM failed";
    return false;
  }
  if (!extractPtx(module, artifact.ptx, error) ||
      !assemble(artifact.ptx, options.chip.getValue(), artifact.cubin, error))
    return false;

  llvm::json::Object root;
  root["format"] = "spa-cuda-artifact-2";
  root["chip"] = options.chip.getValue();
  root["abi"] = "bare-pointers";
  root["kernels"] = std::move(kernels);
  artifact.metadata =
      llvm::formatv("{0:2}", llvm::json::Value(std::move(root))).str();
  return true;
}
