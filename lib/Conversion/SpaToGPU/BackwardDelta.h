//===- BackwardDelta.h - Delta = rowsum(dO * O), a quad per row -*- C++ -*-===//
//
// The row statistic every backward product needs, written once for the two
// kernels that compute it: the preprocess kernel (deterministic = false,
// the first launch, before dkdv_dq, which has no dQ kernel to wait for) and
// the dQ kernel (deterministic: it runs first and writes Delta for the dK/dV
// kernel after it). A quad of
// lanes shares a row: lane c loads the 8-column chunks c, c + 4, ... of dO
// and O, sums their products in f32, and the quad adds its four partial
// sums by shuffles. Loads and sums are separate steps so that a kernel can
// keep the loads in flight across a wait (the dQ kernel's own-tile copies).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_BACKWARDDELTA_H
#define SPA_LIB_CONVERSION_SPATOGPU_BACKWARDDELTA_H

#include "BackwardMainloop.h"

namespace mlir::spa::gpu_kernel {

/// One lane's chunks of one row of O and dO (8 elements each), and whether
/// each chunk exists (the last group of four may be partial).
struct RowDotOperands {
  SmallVector<Value> out, outGrad, present;
};

/// Loads the chunks quadLane, quadLane + 4, ... of out[batch, head, row, :]
/// and outGrad[batch, head, row, :] (16-byte vector loads); absent chunks
/// load the row's last chunk and are dropped by sumRowDot. `row` must be
/// in bounds.
RowDotOperands loadRowDotOperands(ImplicitLocOpBuilder &b,
                                  const BackwardContext &k, Value out,
                                  Value head, Value row, Value quadLane);

/// The lane's partial sum (f32) of the loaded chunks' products.
Value sumRowDot(ImplicitLocOpBuilder &b, const RowDotOperands &operands);

/// The quad's four partial sums added by shuffles (every lane of the warp
/// must take part); each lane of the quad gets the row's Delta.
Value quadSum(ImplicitLocOpBuilder &b, Value partial);

/// delta[batch, head, row] = `delta`, written by the quad's lane 0 where
/// the row is below Nq (`rowExists`, an i1, when the caller has that test
/// already; null: tested here).
void storeRowDelta(ImplicitLocOpBuilder &b, const BackwardContext &k,
                   Value head, Value row, Value rowExists, Value delta);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_BACKWARDDELTA_H
