//===- GridDependency.h - programmatic dependent launch ---------*- C++ -*-===//
//
// programmatic-launch: the kernels of a training step run back to back on
// one stream (forward; preprocess, dK/dV, dq_stored), and each boundary
// costs the next kernel's launch and the blocks' start while the SMs drain
// (about 5 us at the headline, docs/backward-plan.md section 7, candidate
// 3). With the option every generated kernel begins with
// griddepcontrol.wait (until the grids it depends on have completed and
// their writes are visible) and then griddepcontrol.launch_dependents (the
// next kernel may be scheduled once every block of this one has passed its
// wait); the contract marks it `programmatic_launch`, and the launcher
// launches it with CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION.
//
// Why the wait comes first and the trigger after it: a dependent may then
// start only once this kernel's own predecessors are complete, so no kernel
// reads or writes memory before everything before it on the stream is
// done, whoever launched it; without the attribute (another launcher, an
// older one) the wait returns at once and the kernel is what it was.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_GRIDDEPENDENCY_H
#define SPA_LIB_CONVERSION_SPATOGPU_GRIDDEPENDENCY_H

#include "spa/Conversion/Passes.h"
#include "spa/Conversion/SpaToGPU/LaunchContract.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::spa::gpu_kernel {

/// Whether the programmatic-launch option, `auto` resolved, turns the
/// launch on for `options.chip` (validated already: `true` below sm_90 is
/// refused by validateOptions).
bool programmaticLaunchEnabled(const ConvertSpaToGPUOptions &options);

/// With `enabled`, puts the wait and the trigger at the start of `kernel`
/// and marks `launch` (before it is attached); else nothing.
void applyProgrammaticLaunch(bool enabled, gpu::GPUFuncOp kernel,
                             KernelLaunch &launch);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_GRIDDEPENDENCY_H
