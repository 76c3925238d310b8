//===- SpaDialect.h - spa dialect, attributes and ops -----------*- C++ -*-===//
//
// Single include for users of the spa dialect: the dialect class, its enums,
// attributes (`#spa.bands`, `#spa.band_policy`) and operations.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_DIALECT_SPA_IR_SPADIALECT_H
#define SPA_DIALECT_SPA_IR_SPADIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "spa/Dialect/Spa/IR/SpaOpsDialect.h.inc"
#include "spa/Dialect/Spa/IR/SpaEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "spa/Dialect/Spa/IR/SpaAttrs.h.inc"

#include "spa/Dialect/Spa/IR/SpaInterfaces.h.inc"

#define GET_OP_CLASSES
#include "spa/Dialect/Spa/IR/SpaOps.h.inc"

namespace mlir {
class DialectRegistry;
namespace spa {
/// Registers the spa dialect and its external interface models (bufferization).
void registerSpaDialect(DialectRegistry &registry);
} // namespace spa
} // namespace mlir

#endif // SPA_DIALECT_SPA_IR_SPADIALECT_H
