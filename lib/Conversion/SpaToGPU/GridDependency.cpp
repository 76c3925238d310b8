//===- GridDependency.cpp - programmatic dependent launch -----------------===//
//
// The kernel side of programmatic-launch (GridDependency.h has the why).
//
//===----------------------------------------------------------------------===//

#include "GridDependency.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;

bool mlir::spa::gpu_kernel::programmaticLaunchEnabled(
    const ConvertSpaToGPUOptions &options) {
  switch (options.programmaticLaunch) {
  case AutoToggle::On:
    return true;
  case AutoToggle::Off:
    return false;
  case AutoToggle::Auto:
    // Measured on sm_90a only (its wgmma kernels); sm_90's mma.sync
    // kernels could take it too, unmeasured.
    return options.chip == "sm_90a";
  }
  llvm_unreachable("unknown programmatic-launch value");
}

void mlir::spa::gpu_kernel::applyProgrammaticLaunch(bool enabled,
                                                    gpu::GPUFuncOp kernel,
                                                    KernelLaunch &launch) {
  if (!enabled)
    return;
  OpBuilder b = OpBuilder::atBlockBegin(&kernel.getBody().front());
  Location loc = kernel.getLoc();
  NVVM::GriddepcontrolOp::create(b, loc, NVVM::GridDepActionKind::wait);
  NVVM::GriddepcontrolOp::create(b, loc,
                                 NVVM::GridDepActionKind::launch_dependents);
  launch.programmaticLaunch = true;
}
