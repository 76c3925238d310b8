//===- CudaCompiler.cpp - spa modules -> CUDA artifacts -------------------===//

#include "spa/Runtime/CudaCompiler.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Program.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::spa;

static std::string typeName(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return text;
}

/// Launch metadata of every generated kernel, read before NVVM lowering.
static llvm::json::Array collectKernels(ModuleOp module) {
  llvm::json::Array kernels;
  module.walk([&](gpu::GPUFuncOp func) {
    auto launch = func->getAttrOfType<DictionaryAttr>("spa.launch");
    if (!launch)
      return;
    llvm::json::Object kernel;
    kernel["name"] = func.getName().str();
    auto ints = [&](StringRef key) {
      llvm::json::Array values;
      if (auto a = launch.getAs<DenseI64ArrayAttr>(key))
        for (int64_t v : a.asArrayRef())
          values.push_back(v);
      if (auto a = launch.getAs<DenseI32ArrayAttr>(key))
        for (int32_t v : a.asArrayRef())
          values.push_back(v);
      return values;
    };
    kernel["grid"] = ints("grid");
    kernel["block"] = ints("block");
    kernel["tile"] = ints("tile");
    // `shared_bytes` is the launch's dynamic shared memory (the mma.sync
    // kernel's tiles are static); `kernel_shared_bytes` is the total.
    auto bytes = [&](StringRef key) {
      auto attr = launch.getAs<IntegerAttr>(key);
      return attr ? attr.getInt() : int64_t(0);
    };
    kernel["shared_bytes"] = bytes("dynamic_shared_bytes");
    kernel["kernel_shared_bytes"] = bytes("shared_bytes");
    if (auto mma = launch.getAs<StringAttr>("mma"))
      kernel["mma"] = mma.str();
    std::string bands;
    llvm::raw_string_ostream bandsOs(bands);
    launch.get("bands").print(bandsOs);
    kernel["bands"] = bands;
    llvm::json::Array args;
    auto names = launch.getAs<ArrayAttr>("args");
    // Kernel parameters only (the entry block also holds the workgroup
    // attributions).
    for (auto [index, argType] :
         llvm::enumerate(func.getFunctionType().getInputs())) {
      llvm::json::Object a;
      auto type = cast<MemRefType>(argType);
      StringRef name = cast<StringAttr>(names[index]).getValue();
      a["name"] = name.str();
      a["dtype"] = typeName(type.getElementType());
      llvm::json::Array shape;
      for (int64_t d : type.getShape())
        shape.push_back(d);
      a["shape"] = std::move(shape);
      if (name == "bounds" || name == "work") {
        a["kind"] = "constant";
        a["values"] = ints(name);
      } else {
        a["kind"] = (name == "output" || name == "log_sum_exp") ? "output"
                                                                : "input";
      }
      args.push_back(std::move(a));
    }
    kernel["args"] = std::move(args);
    kernels.push_back(std::move(kernel));
  });
  return kernels;
}

static bool extractBinary(ModuleOp module, std::string &payload,
                          std::string &error) {
  bool found = false;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects()) {
      auto object = cast<gpu::ObjectAttr>(attr);
      payload = object.getObject().getValue().str();
      found = true;
    }
  });
  if (!found)
    error = "no gpu.binary was produced";
  return found;
}

/// gpu-module-to-binary runs ptxas from PATH; add the CUDA toolkit if needed.
static void ensurePtxasOnPath() {
  if (llvm::sys::findProgramByName("ptxas"))
    return;
  for (const char *dir : {"/usr/local/cuda/bin", "/usr/lib/cuda/bin"}) {
    if (llvm::sys::fs::exists(std::string(dir) + "/ptxas")) {
      std::string path = std::string(dir) + ":" +
                         (std::getenv("PATH") ? std::getenv("PATH") : "");
      setenv("PATH", path.c_str(), 1);
      return;
    }
  }
}

bool mlir::spa::compileCudaArtifact(ModuleOp module,
                                    const GpuPipelineOptions &options,
                                    CudaArtifact &artifact,
                                    std::string &error) {
  ensurePtxasOnPath();
  MLIRContext *context = module.getContext();
  PassManager kernelPm(context);
  if (failed(parsePassPipeline(getGpuKernelPipelineText(options), kernelPm,
                               llvm::errs())) ||
      failed(kernelPm.run(module))) {
    error = "generating the GPU kernel failed";
    return false;
  }
  llvm::json::Array kernels = collectKernels(module);
  if (kernels.empty()) {
    error = "the module has no spa.attention to compile";
    return false;
  }

  // PTX from a copy, the cubin from the module itself.
  OwningOpRef<ModuleOp> copy(module.clone());
  for (auto [format, target, op] :
       {std::tuple<const char *, std::string *, ModuleOp>{"isa", &artifact.ptx,
                                                          *copy},
        {"bin", &artifact.cubin, module}}) {
    GpuPipelineOptions binaryOptions;
    binaryOptions.chip = options.chip.getValue();
    binaryOptions.features = options.features.getValue();
    binaryOptions.format = format;
    PassManager pm(context);
    if (failed(parsePassPipeline(getGpuBinaryPipelineText(binaryOptions), pm,
                                 llvm::errs())) ||
        failed(pm.run(op))) {
      error = std::string("lowering to NVVM (") + format + ") failed";
      return false;
    }
    if (!extractBinary(op, *target, error))
      return false;
  }
  llvm::json::Object root;
  root["format"] = "spa-cuda-artifact-1";
  root["chip"] = options.chip.getValue();
  root["abi"] = "bare-pointers";
  root["kernels"] = std::move(kernels);
  artifact.metadata =
      llvm::formatv("{0:2}", llvm::json::Value(std::move(root))).str();
  return true;
}
