//===- MainloopSm90Overlap.cpp - the overlapped wgmma ring (sm_90a) -------===//
//
// The factory of forward-schedule = overlap (the class: MainloopSm90Overlap.h).
//
//===----------------------------------------------------------------------===//

#include "MainloopSm90Overlap.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

std::unique_ptr<Mainloop> createMainloopSm90Overlap(KernelContext &k) {
  return std::make_unique<MainloopSm90Overlap>(k);
}

} // namespace mlir::spa::gpu_kernel
