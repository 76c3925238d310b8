//===- spa-opt.cpp - the spa optimizer driver -----------------------------===//
//
// mlir-opt with the spa dialect, passes and pipelines added: every upstream
// dialect and pass is available too, so whole lowering pipelines can be run
// and inspected stage by stage. The input is scanned before it is parsed
// (spa/Registration/SourceChecks.h): text MLIR 22's parser would abort on
// gets a located error.
//
//===----------------------------------------------------------------------===//

#include "spa/Registration/InitAll.h"
#include "spa/Registration/SourceChecks.h"
#include "spa/Version.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::DialectRegistry registry;
  // Every upstream dialect, extension and LLVM IR translation
  // (gpu-module-to-binary needs them), every pass, and spa's.
  mlir::spa::registerCompilerDialects(registry);
  mlir::spa::registerCompilerPasses();
  mlir::spa::setToolVersionPrinter("spa-opt");
  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "spa optimizer driver (banded multi-head attention)\n",
      registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  // Listing modes read no input: upstream's driver handles them.
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(
        mlir::MlirOptMain(argc, argv, inputFilename, outputFilename, registry));

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> file =
      mlir::openInputFile(inputFilename, &errorMessage);
  if (!file) {
    llvm::errs() << errorMessage << "\n";
    return 1;
  }
  {
    // The scan reports through a SourceMgr of its own, on a view of the
    // buffer, so the original goes on to the parser untouched.
    llvm::SourceMgr sourceMgr;
    unsigned id = sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBuffer(file->getMemBufferRef()),
        llvm::SMLoc());
    if (mlir::spa::reportUnparseableInput(sourceMgr, id))
      return 1;
  }
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << errorMessage << "\n";
    return 1;
  }
  if (mlir::failed(
          mlir::MlirOptMain(output->os(), std::move(file), registry, config)))
    return 1;
  output->keep();
  return 0;
}
