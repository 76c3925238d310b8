//===- HostTables.h - constants and declarations of the host side -*- C++ -*-===//
//
// What the forward and backward conversions both put around their launches:
// the clamped band-bounds table, private i32 constants (bounds, work lists)
// read through memref.get_global, and the dynamic shared memory declaration
// of a gpu.module.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_HOSTTABLES_H
#define SPA_LIB_CONVERSION_SPATOGPU_HOSTTABLES_H

#include "KernelConfig.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::spa::gpu_kernel {

/// Bounds table [Hq][slots][2]: each head's intervals, padded with [0, 0)
/// and clamped to the distances that exist (< max(Nq, Nk)), so that bounds
/// near INT64_MAX neither overflow the kernel's index arithmetic nor wrap
/// in the i32 table.
SmallVector<int32_t> boundsTable(const ::spa::plan::BandTable &table,
                                 const KernelConfig &cfg);

/// A private i32 memref.global `name` of `shape` holding `values` (inserted
/// at the start of `module`), and its memref.get_global at `b`.
Value makeConstantTable(ImplicitLocOpBuilder &b, ModuleOp module,
                        SymbolTable &symbols, StringRef name,
                        ArrayRef<int64_t> shape, ArrayRef<int32_t> values);

/// Declares the dynamic shared memory the kernels view, once per module:
/// `.extern .shared .align 1024 .b8 spa_dynamic_shared[]`.
void declareDynamicShared(gpu::GPUModuleOp kernels, Location loc);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_HOSTTABLES_H
