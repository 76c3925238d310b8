//===- Wgmma.h - warpgroup MMA instruction helpers (sm_90a) -----*- C++ -*-===//
//
// wgmma operand descriptors, issue and wait. Tiles live in shared memory in
// the layout a TMA copy with 128-byte swizzling would produce: the tile is
// split into blocks of 64 columns (128 bytes of f16/bf16 per row), and in
// row r the 16-byte chunk c of a block is stored at chunk c ^ (r % 8). A
// matrix descriptor describes such a block by its start address, the stride
// between 8-row groups (SBO = 1024 bytes) and the stride between 64-column
// blocks (LBO = rows * 128 bytes), with swizzle mode 1 (128 B).
//
// Accumulator element i of an m64nNk16 wgmma is (row g + 8 ((i % 4) / 2),
// column 8 (i / 4) + 2c + i % 2): tile i / 4 of the mma.sync 2x2 layout, so
// the softmax and epilogue serve both generations.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_WGMMA_H
#define SPA_LIB_CONVERSION_SPATOGPU_WGMMA_H

#include "KernelConfig.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::spa::gpu_kernel {

Value i64Constant(ImplicitLocOpBuilder &b, int64_t v);

/// Descriptor of the first 64-column block of a swizzled tile of `rows`.
Value descriptor(ImplicitLocOpBuilder &b, Value tile, int64_t rows);
/// Descriptor of ring buffer `stage` of a K or V tile `width` wide.
Value stageDescriptor(ImplicitLocOpBuilder &b, const KernelConfig &cfg,
                      Value desc, Value stage, int64_t width);
/// `desc` advanced by `bytes` (a multiple of 16 inside the tile).
Value advanceDescriptor(ImplicitLocOpBuilder &b, Value desc, int64_t bytes);

/// wgmma.wait_group `pending` (at most `pending` commit groups still in
/// flight) with every accumulator value passed through the same asm
/// statement: the compiler cannot read an accumulator before the wait. Only
/// the values of groups committed before the last `pending` may be passed.
/// `aWords`: the register A operands of the groups waited for. A wgmma
/// reads them asynchronously, but the compiler sees them read at the issue
/// and may give their register to a value defined before the wait (the next
/// tile's P); ptxas then serialises every wgmma of the kernel (C7513).
/// Passing them here keeps them live, in their registers, until the wait.
SmallVector<Value> waitForAccumulators(ImplicitLocOpBuilder &b,
                                       ArrayRef<Value> values,
                                       int64_t pending = 0,
                                       ArrayRef<Value> aWords = {});

/// Flat accumulators <-> 2x2 tiles (four values a tile).
SmallVector<Value> toTiles(ImplicitLocOpBuilder &b, ArrayRef<Value> flat);
void appendFlat(ImplicitLocOpBuilder &b, Value tile,
                SmallVectorImpl<Value> &flat);

/// Issues A B^T as one commit group: A the swizzled K-major tile of
/// `aRows` rows at `aDesc` (this warpgroup's 64 rows), B the swizzled
/// K-major tile of `bRows` rows at `bDesc` (N = bRows), both `width`
/// columns wide (K); width / 16 wgmma m64n{bRows}k16. Returns bRows / 2
/// accumulators, valid only after a wait.
SmallVector<Value> issueSharedProduct(ImplicitLocOpBuilder &b,
                                      Type elementType, Value aDesc,
                                      int64_t aRows, Value bDesc,
                                      int64_t bRows, int64_t width);

/// Issues D = A B as one commit group with both operands MN-major
/// (transposed) swizzled tiles in shared memory, starting from zero: A at
/// `aDesc` (64 M columns x kRows K rows, 128 bytes a row), B at `bDesc`
/// (64 N columns x kRows K rows); kRows / 16 wgmma m64n64k16. Returns 32
/// accumulators, valid only after a wait.
SmallVector<Value> issueTransposedSharedProduct(ImplicitLocOpBuilder &b,
                                                Type elementType, Value aDesc,
                                                Value bDesc, int64_t kRows);

/// The same adding to `acc` (32 accumulators): acc += A B.
SmallVector<Value> issueTransposedSharedAccumulate(ImplicitLocOpBuilder &b,
                                                   Type elementType,
                                                   Value aDesc, Value bDesc,
                                                   int64_t kRows,
                                                   ArrayRef<Value> acc);

/// Issues acc += A B as one commit group: A as packed words (packAsA, K =
/// bRows), B the swizzled tile of `bRows` rows at `bDesc` read MN-major
/// (N = width, one wgmma m64n{width}k16 a k step up to 256 columns;
/// `bDesc` must come from `descriptor` with bRows rows, whose leading byte
/// offset is the stride between B's 64-column blocks); `flat` holds width / 2
/// accumulators. Returns them, valid only after a wait.
SmallVector<Value> issueRegisterAProduct(ImplicitLocOpBuilder &b,
                                         Type elementType, Value bDesc,
                                         int64_t bRows, int64_t width,
                                         ArrayRef<Value> words,
                                         SmallVector<Value> flat);

/// f32 accumulator tiles (columns 8 t ..) as wgmma A fragments, rounded to
/// `elementType`: 4 words (2 elements each) per 16 columns.
SmallVector<Value> packAsA(ImplicitLocOpBuilder &b, Type elementType,
                           ArrayRef<Value> tiles);

/// Issues S = Q K^T for the K tile in ring buffer `stage` as one commit
/// group: D / 16 wgmma m64n{tileK}k16, both operands from shared memory
/// (K-major). Returns the accumulators, valid only after a wait.
SmallVector<Value> issueScores(ImplicitLocOpBuilder &b,
                               const KernelConfig &cfg, Value qDesc,
                               Value kDesc, Value stage);

/// P as wgmma A fragments: 4 words (2 x f16/bf16 each) per 16 keys.
SmallVector<Value> packProbabilities(ImplicitLocOpBuilder &b,
                                     const KernelConfig &cfg,
                                     ArrayRef<Value> probs);

/// Issues O += P V (P as packed words, O flat in the accumulator order) for
/// the V tile in ring buffer `stage` as one commit group; returns the
/// accumulators, valid only after a wait.
SmallVector<Value> issueValues(ImplicitLocOpBuilder &b,
                               const KernelConfig &cfg, Value vDesc,
                               ArrayRef<Value> words, SmallVector<Value> flat,
                               Value stage);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_WGMMA_H
