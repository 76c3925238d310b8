//===- SpaToLinalg.h - spa attention ops -> linalg/scf ---------*- C++ -*-===//

#ifndef SPA_CONVERSION_SPATOLINALG_SPATOLINALG_H
#define SPA_CONVERSION_SPATOLINALG_SPATOLINALG_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace spa {

#define GEN_PASS_DECL_CONVERTSPATOLINALG
#include "spa/Conversion/Passes.h.inc"

/// The lowering's options (the pass's TableGen options, as a struct for
/// pipelines and patterns).
struct SpaToLinalgOptions {
  int64_t tileQ = 32;
  int64_t tileK = 64;
  /// Every tile tile-q x tile-k: inputs padded, edge keys masked (the form
  /// IREE compiles; forward only).
  bool staticTiles = false;
  /// > 0: spa.attention in the CPU vector form (VectorAttention.cpp): work
  /// items of this many query rows, one f32 vector, in an scf.forall,
  /// blocks of as many keys computed in registers (tile-q, tile-k and
  /// static-tiles then apply to spa.attention_grad only). A power of two
  /// from 2 to 64; 0: the linalg form.
  int64_t vectorLanes = 0;
};

/// Patterns lowering tensor-level spa.attention and spa.attention_grad to
/// linalg/scf.
void populateSpaToLinalgPatterns(RewritePatternSet &patterns,
                                 const SpaToLinalgOptions &options = {});

} // namespace spa
} // namespace mlir

#endif // SPA_CONVERSION_SPATOLINALG_SPATOLINALG_H
