//===- Passes.h - spa conversion passes -------------------------*- C++ -*-===//

#ifndef SPA_CONVERSION_PASSES_H
#define SPA_CONVERSION_PASSES_H

#include "spa/Conversion/SpaToGPU/SpaToGPU.h"
#include "spa/Conversion/SpaToLinalg/SpaToLinalg.h"

namespace mlir::spa {
#define GEN_PASS_REGISTRATION
#include "spa/Conversion/Passes.h.inc"
} // namespace mlir::spa

#endif // SPA_CONVERSION_PASSES_H
