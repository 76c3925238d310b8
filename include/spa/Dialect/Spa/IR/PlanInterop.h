//===- PlanInterop.h - spa attributes <-> planning library ------*- C++ -*-===//
//
// Converts between the IR's band attributes and the MLIR-free planning
// library's types, so that validation and every policy formula have one
// implementation.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_DIALECT_SPA_IR_PLANINTEROP_H
#define SPA_DIALECT_SPA_IR_PLANINTEROP_H

#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Planning/BandPlan.h"

namespace mlir::spa {
::spa::plan::BandMode toPlanMode(BandMode mode);
BandMode fromPlanMode(::spa::plan::BandMode mode);
::spa::plan::PolicyKind toPlanKind(BandPolicyKind kind);
std::optional<BandPolicyKind> fromPlanKind(::spa::plan::PolicyKind kind);
::spa::plan::BandTable toPlanTable(BandsAttr bands);
BandsAttr fromPlanTable(MLIRContext *context,
                        const ::spa::plan::BandTable &table);
} // namespace mlir::spa

#endif // SPA_DIALECT_SPA_IR_PLANINTEROP_H
