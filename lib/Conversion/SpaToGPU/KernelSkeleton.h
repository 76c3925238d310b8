//===- KernelSkeleton.h - the gpu.func of one attention op ------*- C++ -*-===//
//
// Builds the kernel every schedule shares: the gpu.func and its arguments,
// thread ids, the work item read from the cost-sorted work list, the key
// ranges the item's rows reach through the head's intervals (both sides when
// bidirectional), one scf.for per range over key tiles, the online-softmax
// state they carry, and the epilogue. The mainloop (Mainloop.h) fills in the
// copies and matrix products.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_KERNELSKELETON_H
#define SPA_LIB_CONVERSION_SPATOGPU_KERNELSKELETON_H

#include "KernelConfig.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::spa::gpu_kernel {

/// The external workgroup global the wgmma kernels view as dynamic shared
/// memory (declared once per gpu.module, sized at launch).
inline constexpr const char *kDynamicSharedName = "spa_dynamic_shared";

/// The first `bytes` of the dynamic shared memory as a memref<bytes x i8> in
/// the workgroup address space, for views of a kernel's tiles.
Value dynamicSharedBytes(ImplicitLocOpBuilder &b, int64_t bytes);

/// Kernel arguments, in order: query, key, value, output, [log_sum_exp],
/// bounds [Hq][slots][2] i32, work [items][3] i32.
gpu::GPUFuncOp buildAttentionKernel(OpBuilder &moduleBuilder, Location loc,
                                    StringRef name, ArrayRef<Type> argTypes,
                                    const KernelConfig &cfg);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_KERNELSKELETON_H
