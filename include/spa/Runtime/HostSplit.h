//===- HostSplit.h - split an outlined module: host, kernels -*- C++ -*-===//
//
// After -spa-outline-attention a module is host code calling one function
// per attention op (marked `spa.outlined`). spa's CUDA target compiles
// each such function alone (a module holding just it) and the host code
// for the CPU with those functions left as declarations that the runtime
// implements (through their C interface, `_mlir_ciface_<name>`).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_RUNTIME_HOSTSPLIT_H
#define SPA_RUNTIME_HOSTSPLIT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace mlir::spa {

/// Names of the module's functions marked `spa.outlined`, in module order.
std::vector<std::string> outlinedFunctions(ModuleOp module);

/// A new module holding public copies of the functions `names` (each must
/// be a func.func with a body); null and `error` otherwise.
OwningOpRef<ModuleOp> extractFunctions(ModuleOp module,
                                       ArrayRef<std::string> names,
                                       std::string &error);

/// Makes the functions `names` private declarations whose calls go through
/// their C interface (`llvm.emit_c_interface`): the JIT resolves
/// `_mlir_ciface_<name>` to a function the caller supplies.
LogicalResult declareExternal(ModuleOp module, ArrayRef<std::string> names,
                              std::string &error);

} // namespace mlir::spa

#endif // SPA_RUNTIME_HOSTSPLIT_H
