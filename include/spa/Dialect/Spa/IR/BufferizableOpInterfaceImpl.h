//===- BufferizableOpInterfaceImpl.h - spa bufferization --------*- C++ -*-===//
//
// One-Shot Bufferize support for `spa.attention` (tensor -> memref form).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_DIALECT_SPA_IR_BUFFERIZABLEOPINTERFACEIMPL_H
#define SPA_DIALECT_SPA_IR_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;
namespace spa {
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);
} // namespace spa
} // namespace mlir

#endif // SPA_DIALECT_SPA_IR_BUFFERIZABLEOPINTERFACEIMPL_H
