//===- Softmax.h - online softmax of one key tile ---------------*- C++ -*-===//
//
// Masks (edge tiles only), scales and exponentiates one tile of scores held
// in 2x2 accumulator tiles (either MMA generation) and updates the running
// row max and sum, base 2 with log2(e) folded into the scale. Each lane holds
// two rows (g and g + 8); row reductions run over the lane's quad.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_SOFTMAX_H
#define SPA_LIB_CONVERSION_SPATOGPU_SOFTMAX_H

#include "KernelContext.h"

namespace mlir::spa::gpu_kernel {

struct SoftmaxStep {
  SmallVector<Value> probs; ///< tileK / 8 tiles of 2x2 f32
  SmallVector<Value> m, l;  ///< new row max and sum, rows g and g + 8
  SmallVector<Value> alpha; ///< factor for the old O rows
};

/// One online-softmax step for the key tile at `j0` of `range`, from the row
/// state `m`, `l`.
SoftmaxStep softmaxStep(ImplicitLocOpBuilder &b, const KernelContext &k,
                        Value j0, const KeyRange &range,
                        ArrayRef<Value> scores, ArrayRef<Value> m,
                        ArrayRef<Value> l);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_SOFTMAX_H
