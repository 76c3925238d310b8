//===- InlinePtx.h - inline PTX where MLIR 22 has no op ---------*- C++ -*-===//
//
// Builders for the few instructions the kernels emit as inline PTX: the
// special-function approximations (ex2, lg2; math.exp2 would become a
// libdevice call that needs a CUDA toolkit at compile time), unaligned named
// barriers and accumulator waits. Every place is listed, with why no op
// does, in docs/gpu-toolchain.md section 10 (inline_ptx_sites.py checks the
// list).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_INLINEPTX_H
#define SPA_LIB_CONVERSION_SPATOGPU_INLINEPTX_H

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::spa::gpu_kernel {

/// One f32 -> f32 PTX instruction, e.g. "ex2.approx.ftz.f32 $0, $1;".
Value unaryF32Ptx(ImplicitLocOpBuilder &b, StringRef ptx, Value x);

/// A PTX statement without operands or results, kept in place (side effects).
void ptxStatement(ImplicitLocOpBuilder &b, StringRef ptx);

/// An inline-asm call whose `values` (f32) go in and come back through the
/// same statement: "=f" outputs tied to inputs, so that nothing reads them
/// before `ptx` (say, an accumulator wait) has run. `alsoReads` (32-bit
/// integers) are extra inputs the statement does not name: they stay live,
/// each in its own register, until it has run.
SmallVector<Value> passThroughF32(ImplicitLocOpBuilder &b, StringRef ptx,
                                  ArrayRef<Value> values,
                                  ArrayRef<Value> alsoReads = {});

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_INLINEPTX_H
