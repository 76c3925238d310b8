//===- spa-cuda-compile.cpp - compile an spa module to a CUDA artifact ----===//
//
// Runs `spa-to-nvvm` on a module with one spa.attention and writes the
// artifact that `spa.runtime.cuda` (pure Python, no MLIR) loads:
//   DIR/kernel.cubin, DIR/kernel.ptx, DIR/launch.json
//
//   spa-cuda-compile layer.mlir -o artifacts/layer [--chip=sm_90a] [--warps=8]
//
// Options other than -o are spa-to-nvvm's (GpuPipelineOptions), parsed by
// the pipeline's own option parser so that the tool declares none of them.
//
//===----------------------------------------------------------------------===//

#include "spa/Registration/InitAll.h"
#include "spa/Registration/SourceChecks.h"
#include "spa/Runtime/CudaCompiler.h"
#include "spa/Version.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory toolCategory("spa-cuda-compile options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required, cl::cat(toolCategory));
static cl::opt<std::string> outputDir("o", cl::desc("Artifact directory"),
                                      cl::Required, cl::cat(toolCategory));
// Every other --name=value is an option of the spa-to-nvvm pipeline
// (GpuPipelineOptions, declared once in spa/Pipelines/Pipelines.h).
static cl::list<std::string> pipelineFlags(cl::Sink);

/// "--chip=sm_80 --warps 8" -> "chip=sm_80 warps=8".
static std::string pipelineOptionText() {
  std::string text;
  for (size_t i = 0; i < pipelineFlags.size(); ++i) {
    StringRef flag = StringRef(pipelineFlags[i]).ltrim('-');
    text += (text.empty() ? "" : " ") + flag.str();
    if (!flag.contains('=') && i + 1 < pipelineFlags.size() &&
        !StringRef(pipelineFlags[i + 1]).starts_with("-"))
      text += "=" + pipelineFlags[++i];
  }
  return text;
}

static bool writeFile(const std::string &path, const std::string &data) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    llvm::errs() << "spa-cuda-compile: error: cannot write " << path << ": "
                 << ec.message() << "\n";
    return false;
  }
  os << data;
  return true;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  mlir::spa::registerCompilerPasses();
  for (int i = 1; i < argc; ++i)
    if (StringRef(argv[i]) == "--help" || StringRef(argv[i]) == "-help" ||
        StringRef(argv[i]) == "-h") {
      llvm::outs() << "USAGE: spa-cuda-compile <input.mlir> -o DIR "
                      "[--OPTION=VALUE ...]\n\n"
                      "Writes DIR/kernel.cubin, DIR/kernel.ptx and "
                      "DIR/launch.json.\n\nOPTIONS (those of the spa-to-nvvm "
                      "pipeline):\n";
      mlir::spa::GpuPipelineOptions().printHelp(2, 40);
      return 0;
    }
  cl::HideUnrelatedOptions(toolCategory);
  mlir::spa::setToolVersionPrinter("spa-cuda-compile");
  cl::ParseCommandLineOptions(
      argc, argv,
      "spa CUDA artifact compiler (options: spa-cuda-compile --help)\n");
  mlir::spa::GpuPipelineOptions options;
  std::string optionError;
  if (failed(mlir::spa::parseGpuPipelineOptions(pipelineOptionText(), options,
                                                optionError))) {
    llvm::errs() << "spa-cuda-compile: error: bad spa-to-nvvm option: "
                 << optionError << "\n";
    return 1;
  }

  DialectRegistry registry;
  mlir::spa::registerCompilerDialects(registry);
  MLIRContext context(registry);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  std::string errorMessage;
  auto file = openInputFile(inputFile, &errorMessage);
  if (!file) {
    llvm::errs() << "spa-cuda-compile: error: " << errorMessage << "\n";
    return 1;
  }
  unsigned bufferId =
      sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  if (mlir::spa::reportUnparseableInput(sourceMgr, bufferId))
    return 1;
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  mlir::spa::CudaArtifact artifact;
  std::string error;
  if (!mlir::spa::compileCudaArtifact(*module, options, artifact, error)) {
    llvm::errs() << "spa-cuda-compile: error: " << error << "\n";
    return 1;
  }
  llvm::sys::fs::create_directories(outputDir);
  if (!writeFile(outputDir + "/kernel.cubin", artifact.cubin) ||
      !writeFile(outputDir + "/kernel.ptx", artifact.ptx) ||
      !writeFile(outputDir + "/launch.json", artifact.metadata))
    return 1;
  llvm::outs() << "wrote " << outputDir << " (cubin " << artifact.cubin.size()
               << " bytes)\n";
  return 0;
}
