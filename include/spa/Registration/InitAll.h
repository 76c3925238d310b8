//===- InitAll.h - register everything spa provides -------------*- C++ -*-===//
//
// The one registration entry point shared by spa-opt, the mlir-opt plugin
// and the Python bindings, so that every front end sees the same dialects,
// passes and pipelines.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_REGISTRATION_INITALL_H
#define SPA_REGISTRATION_INITALL_H

namespace mlir {
class DialectRegistry;
namespace spa {
/// Registers the spa dialect and its interface models.
void registerAllSpaDialects(DialectRegistry &registry);
/// Registers spa's passes and pass pipelines with the global registry.
void registerAllSpaPasses();
/// What a full compiler front end needs: every upstream dialect, extension
/// and LLVM IR translation (gpu-module-to-binary and the JIT use them) plus
/// spa's dialect. spa-opt, spa-run, spa-cuda-compile and Python share it.
void registerCompilerDialects(DialectRegistry &registry);
/// Upstream passes (the textual pipelines name them) plus spa's passes and
/// pipelines. Call once per process.
void registerCompilerPasses();
} // namespace spa
} // namespace mlir

#endif // SPA_REGISTRATION_INITALL_H
