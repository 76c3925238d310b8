//===- MmaSync.h - ldmatrix and mma.sync instruction helpers ----*- C++ -*-===//
//
// Warp-level tensor-core instructions of the sm_80 generation and the 2x2
// f32 accumulator tiles they produce. Fragment layouts are PTX's for
// mma.m16n8k16: lane = 4 g + c holds rows g and g + 8 and columns 2c, 2c + 1
// of each 8-column accumulator tile; element (r, i) of a tile is row
// g + 8r, column 2c + i.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_MMASYNC_H
#define SPA_LIB_CONVERSION_SPATOGPU_MMASYNC_H

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::spa::gpu_kernel {

/// Element (r, i) of a 2x2 f32 accumulator tile.
Value element(ImplicitLocOpBuilder &b, Value tile, int64_t r, int64_t i);
/// A 2x2 tile of `type` from four values in row-major order.
Value make2x2(ImplicitLocOpBuilder &b, ArrayRef<Value> values, Type type);
/// An f32 accumulator tile of zeros (a constant).
Value zeroAccumulatorTile(ImplicitLocOpBuilder &b);

/// Two f32 accumulator tiles (columns 0-7 and 8-15 of a 16-column block)
/// rounded to `elementType` and re-packed as the A fragment (vector<4x2>) of
/// an m16n8k16 product: P in O += P V, dS in the backward's products.
Value accumulatorsAsA(ImplicitLocOpBuilder &b, Value low, Value high,
                      Type elementType);

/// acc += a * b on tensor cores (m16n8k16), f16 or bf16 fragments.
Value mmaSync(ImplicitLocOpBuilder &b, Value a, Value bFrag, Value acc);
/// acc += a * b in tf32 (m16n8k8): `a` holds four and `bFrag` two f32 bit
/// patterns as i32.
Value mmaSyncTf32(ImplicitLocOpBuilder &b, ArrayRef<Value> a,
                  ArrayRef<Value> bFrag, Value acc);

/// ldmatrix of `tiles` 8x8 tiles of `elementType` at smem[row][col].
Value ldmatrix(ImplicitLocOpBuilder &b, Type elementType, Value smem,
               Value row, Value col, int64_t tiles, bool transpose);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_MMASYNC_H
