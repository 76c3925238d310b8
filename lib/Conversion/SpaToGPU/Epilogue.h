//===- Epilogue.h - normalise and store a work item's rows ------*- C++ -*-===//
//
// After the last key tile: row sums reduced over the quad, O / l stored to
// the output in the element type (rows past Nq skipped), and the
// log-sum-exp (natural log; -inf for rows without keys) for the backward
// pass. NaN and Inf propagate: only rows the bands give no key are zeroed.
// Serves both MMA generations (2x2 accumulator tiles).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_EPILOGUE_H
#define SPA_LIB_CONVERSION_SPATOGPU_EPILOGUE_H

#include "KernelContext.h"

namespace mlir::spa::gpu_kernel {

/// `state` is the key loops' carried state: m (2 rows), l (2 rows), then the
/// Dv / 8 accumulator tiles of O. Which rows have keys follows from the
/// head's intervals (the band geometry). With `staging` (the mainloop's
/// Mainloop::epilogueStaging) O goes out through it in 16-byte row chunks
/// (StagedStores.h) where the output's layout allows.
void emitEpilogue(ImplicitLocOpBuilder &b, const KernelContext &k,
                  ArrayRef<Value> state, Value staging = Value());

/// Whether the query at absolute `position` reaches a key under head
/// k.head's intervals (k.bounds, k.keyLen).
Value rowHasKeys(ImplicitLocOpBuilder &b, const KernelContext &k,
                 Value position);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_EPILOGUE_H
