//===- spa-cuda-compile.cpp - compile an spa module to a CUDA artifact ----===//
//
// Runs `spa-to-nvvm` on a module with one spa.attention and writes the
// artifact that `spa.runtime.cuda` (pure Python, no MLIR) loads:
//   DIR/kernel.cubin, DIR/kernel.ptx, DIR/launch.json
//
//   spa-cuda-compile layer.mlir -o artifacts/layer [--chip=sm_90a] [--policy=...]
//
//===----------------------------------------------------------------------===//

#include "spa/Registration/InitAll.h"
#include "spa/Runtime/CudaCompiler.h"

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

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required);
static cl::opt<std::string> outputDir("o", cl::desc("Artifact directory"),
                                      cl::Required);
static cl::opt<std::string> chip("chip", cl::desc("Target GPU"),
                                 cl::init("sm_90a"));
static cl::opt<int64_t> warps("warps",
                              cl::desc("Warps per block (16 rows each)"),
                              cl::init(4));
static cl::opt<int64_t> tileK("tile-k", cl::desc("Keys per key tile"),
                              cl::init(64));
static cl::opt<std::string>
    mma("mma", cl::desc("Matrix instructions: auto, mma.sync, wgmma"),
        cl::init("auto"));
static cl::opt<int64_t> stages("stages",
                               cl::desc("wgmma kernel: K/V tile buffers "
                                        "(0: chosen per shape)"),
                               cl::init(0));
static cl::opt<std::string> policy("policy",
                                   cl::desc("Override every band policy"),
                                   cl::init(""));

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
  cl::ParseCommandLineOptions(argc, argv, "spa CUDA artifact compiler\n");

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
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  mlir::spa::GpuPipelineOptions options;
  options.chip = chip;
  options.policy = policy;
  options.warps = warps;
  options.tileK = tileK;
  options.mma = mma;
  options.stages = stages;
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
