//===- BackwardKernels.h - the kernels of a gradient op ---------*- C++ -*-===//
//
// A spa.attention_grad becomes two launches (deterministic), in this order:
//
//   dq          one block per (batch, query head, query tile): Delta[b, h, i]
//               = sum_d dO[b, h, i, d] O[b, h, i, d] of its rows (f32
//               scratch, written for dkdv), then the forward's key ranges;
//               dQ in f32 registers (BackwardQuery.cpp)
//   dkdv        one block per (batch, key/value head, key tile): every query
//               head of the group, interval and side, over the query tiles
//               that reach the key tile; dK and dV in f32 registers, written
//               once (BackwardKeyValue.cpp)
//
// No atomics: every output element is written by exactly one block. With
// deterministic = false a preprocess kernel computes Delta (and zeroes the
// f32 dQ scratch), the dK/dV kernel adds dQ by atomics, and a convert
// kernel writes dQ (BackwardQueryAtomic.h). With score-grads = store the
// launches are preprocess (Delta), dkdv (which also stores each tile
// pair's dS) and dq_stored (one product a tile pair; ScoreGradStore.h);
// with interleaved-dq the last two run as one launch, dkdv_dq_stored
// (BackwardInterleaved.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_BACKWARDKERNELS_H
#define SPA_LIB_CONVERSION_SPATOGPU_BACKWARDKERNELS_H

#include "BackwardMainloop.h"

#include <string>

namespace mlir::spa::gpu_kernel {

/// Arguments: output, output_grad, delta [, dq_accum (zeroed here)]: the
/// first launch with deterministic = false (with dq_accum) and with
/// score-grads = store (without).
gpu::GPUFuncOp buildPreprocessKernel(OpBuilder &moduleBuilder, Location loc,
                                     StringRef name, ArrayRef<Type> argTypes,
                                     const BackwardConfig &grad);

/// Arguments: query, key, value, log_sum_exp, output_grad, delta,
/// key_grad, value_grad [, dq_accum (deterministic = false)], bounds
/// [Hq][slots][2], work [items][3] (batch, key/value head, key tile).
gpu::GPUFuncOp buildKeyValueGradKernel(OpBuilder &moduleBuilder, Location loc,
                                       StringRef name, ArrayRef<Type> argTypes,
                                       const BackwardConfig &grad);

/// The warp-specialised form (grad.warpSpecialized; BackwardKeyValueWs.cpp),
/// with the dK/dV kernel's arguments plus the four tensor maps;
/// buildKeyValueGradKernel dispatches to it.
gpu::GPUFuncOp buildKeyValueGradKernelWs(OpBuilder &moduleBuilder, Location loc,
                                         StringRef name,
                                         ArrayRef<Type> argTypes,
                                         const BackwardConfig &grad);

/// Arguments: query, key, value, log_sum_exp, output_grad, delta (written
/// here), output, query_grad, bounds, work [items][3] (batch, query head,
/// query tile).
gpu::GPUFuncOp buildQueryGradKernel(OpBuilder &moduleBuilder, Location loc,
                                    StringRef name, ArrayRef<Type> argTypes,
                                    const BackwardConfig &grad);

/// score-grads = store (BackwardQueryStored.cpp). Arguments: key,
/// score_grad, query_grad, bounds, work [items][3] (batch, query head,
/// query tile), key_map (the key tiles' tensor map).
gpu::GPUFuncOp buildStoredQueryGradKernel(OpBuilder &moduleBuilder,
                                          Location loc, StringRef name,
                                          ArrayRef<Type> argTypes,
                                          const BackwardConfig &grad);

/// One kernel's work for its block, apart from the function shell: binds
/// the kernel's arguments (in its own order, as its build does) and emits
/// what a block of it does. The interleaved kernel runs two of them in one
/// shell, each block doing one body's work (BackwardInterleaved.cpp).
class BackwardBlockBody {
public:
  virtual ~BackwardBlockBody() = default;
  virtual BackwardContext &context() = 0;
  virtual void bindArgs(ValueRange args) = 0;
  /// The block's work list entry is blockItemIndex(context()).
  virtual void emit(ImplicitLocOpBuilder &b) = 0;
};

/// The classic dK/dV kernel's body (not the warp-specialised one).
std::unique_ptr<BackwardBlockBody>
createKeyValueGradBody(const BackwardConfig &grad);
/// The dq_stored kernel's body.
std::unique_ptr<BackwardBlockBody>
createStoredQueryGradBody(const BackwardConfig &grad);

/// interleaved-dq (BackwardInterleaved.cpp): the dK/dV kernel's blocks and
/// the dq_stored kernel's in one launch. Arguments, by `names`: the dK/dV
/// kernel's (its work list replaced) plus query_grad and grad_sync; `work`
/// is [dK/dV items + dQ items + entries][3]: the two lists, then the order
/// of claims (column 0: < keyValueBlocks a dK/dV block, else
/// keyValueBlocks + a dq_stored block); the dq_stored kernel's key map is
/// the dK/dV kernel's (both 64 rows).
gpu::GPUFuncOp buildInterleavedGradKernel(
    OpBuilder &moduleBuilder, Location loc, StringRef name,
    ArrayRef<Type> argTypes, ArrayRef<std::string> names,
    const BackwardConfig &keyValueGrad, const BackwardConfig &storedQueryGrad,
    int64_t keyValueItems, int64_t queryItems, int64_t keyValueBlocks);

/// The interleaved kernel's dynamic shared memory: the larger body's, then
/// (at claimSlotOffset) the i32 through which a block's claim is shared.
int64_t interleavedSharedBytes(const BackwardConfig &keyValueGrad,
                               const BackwardConfig &storedQueryGrad);
int64_t claimSlotOffset(const BackwardConfig &keyValueGrad,
                        const BackwardConfig &storedQueryGrad);

/// Binds the arguments both product kernels (dK/dV, dQ) start with:
/// query, key, value, log_sum_exp, output_grad, delta. Returns the rest.
ValueRange bindGradientInputs(BackwardContext &k, ValueRange args);

/// Binds the dK/dV kernel's arguments (the classic and the warp-specialised
/// kernel take the same): the inputs, key_grad, value_grad, dq_accum
/// (deterministic = false), bounds, work, then the tensor maps.
void bindKeyValueGradArgs(BackwardContext &k, ValueRange args);

/// The dK/dV kernels' work item: block x's row of the work list
/// (blockItemIndex, kept in k.blockItem with the row in k.blockEntry) gives
/// k.batchIdx and k.kvHead; returns the key tile's first key j0.
Value loadKeyTileWorkItem(ImplicitLocOpBuilder &b, BackwardContext &k);

/// The dQ kernels' work item: block x's row of the work list (kept as
/// loadKeyTileWorkItem keeps it) gives
/// k.batchIdx, k.head, k.i0 (query tile of grad.ownRows() rows), k.kvHead
/// and k.firstPos (the position of row i0).
void loadQueryTileWorkItem(ImplicitLocOpBuilder &b, BackwardContext &k);

/// The kernel function shell every backward kernel starts from: a gpu.func
/// marked as kernel with its known block size; `b` is placed in its entry
/// block and the thread ids (lane, warp, g, c) of `k` are set.
gpu::GPUFuncOp beginBackwardKernel(OpBuilder &moduleBuilder, Location loc,
                                   StringRef name, ArrayRef<Type> argTypes,
                                   BackwardContext &k, OpBuilder &body);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_BACKWARDKERNELS_H
