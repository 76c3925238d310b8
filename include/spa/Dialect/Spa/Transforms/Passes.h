//===- Passes.h - spa transformation passes ---------------------*- C++ -*-===//

#ifndef SPA_DIALECT_SPA_TRANSFORMS_PASSES_H
#define SPA_DIALECT_SPA_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "spa/Dialect/Spa/Transforms/PolicyOption.h"

namespace mlir {
class RewritePatternSet;
namespace spa {

#define GEN_PASS_DECL
#include "spa/Dialect/Spa/Transforms/Passes.h.inc"

/// The unit attribute -spa-outline-attention puts on the functions it
/// creates (and skips when run again).
constexpr const char kOutlinedAttrName[] = "spa.outlined";

/// Patterns expanding spa.band_bounds into arith + tensor.from_elements.
void populateExpandBandBoundsPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "spa/Dialect/Spa/Transforms/Passes.h.inc"

} // namespace spa
} // namespace mlir

#endif // SPA_DIALECT_SPA_TRANSFORMS_PASSES_H
