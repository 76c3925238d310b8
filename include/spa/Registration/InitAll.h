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
} // namespace spa
} // namespace mlir

#endif // SPA_REGISTRATION_INITALL_H
