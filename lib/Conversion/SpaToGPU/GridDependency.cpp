//===- GridDependency.cpp - programmatic dependent launch -----------------===//
//
// The kernel side of programmatic-launch (GridDependency.h has the why).
//
//===----------------------------------------------------------------------===//

#include "GridDependency.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;

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
