//===- ScheduleWorkItems.cpp - dynamic OpenMP schedule for work items -----===//
//
// -spa-schedule-work-items: after -convert-scf-to-openmp, every omp.wsloop
// without a schedule takes schedule(dynamic, 1), so threads balance work
// items of unequal cost (see the pass description in Passes.td).
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"

namespace mlir::spa {
#define GEN_PASS_DEF_SPASCHEDULEWORKITEMS
#include "spa/Dialect/Spa/Transforms/Passes.h.inc"
} // namespace mlir::spa

using namespace mlir;

namespace {

struct ScheduleWorkItemsPass
    : public spa::impl::SpaScheduleWorkItemsBase<ScheduleWorkItemsPass> {
  void runOnOperation() override {
    getOperation()->walk([](omp::WsloopOp loop) {
      if (loop.getScheduleKind())
        return;
      OpBuilder b(loop);
      Value chunk = arith::ConstantIntOp::create(b, loop.getLoc(),
                                                 b.getI32Type(), 1);
      loop.setScheduleKind(omp::ClauseScheduleKind::Dynamic);
      loop.getScheduleChunkMutable().assign(chunk);
    });
  }
};

} // namespace
