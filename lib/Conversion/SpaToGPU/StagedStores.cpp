//===- StagedStores.cpp - accumulator rows out via shared memory ---------===//

#include "StagedStores.h"
#include "AsyncBarriers.h"
#include "MmaSync.h"
#include "TensorMaps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

bool canStageRows(Value dest, int64_t width) {
  auto type = cast<MemRefType>(dest.getType());
  if (type.getRank() != 4 || type.getElementTypeBitWidth() != 16 || width % 64)
    return false;
  // An identity layout is contiguous: every row starts at a multiple of
  // `width` elements (also when the lengths are run-time values).
  if (type.getLayout().isIdentity())
    return true;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) ||
      strides.back() != 1 || ShapedType::isDynamic(offset) || offset % 8)
    return false;
  return llvm::all_of(ArrayRef<int64_t>(strides).drop_back(), [](int64_t s) {
    return !ShapedType::isDynamic(s) && s % 8 == 0;
  });
}

bool canStoreRowsByMap(Value dest, int64_t width) {
  return canStageRows(dest, width) && describableByTileMaps(dest);
}

/// The shared address (i64) of `memref[indices]`: its aligned pointer plus
/// the element offset its static strides give, in bytes.
static Value sharedElementAddress(ImplicitLocOpBuilder &b, Value memref,
                                  ValueRange indices) {
  GpuArith e{b};
  auto type = cast<MemRefType>(memref.getType());
  auto [strides, offset] = type.getStridesAndOffset();
  Value elements = e.index(offset);
  for (auto [index, stride] : llvm::zip_equal(indices, strides))
    elements = e.add(elements, e.mul(index, e.index(stride)));
  Value bytes = e.mul(elements, e.index(type.getElementTypeBitWidth() / 8));
  Value address =
      e.add(memref::ExtractAlignedPointerAsIndexOp::create(b, memref), bytes);
  return arith::IndexCastOp::create(b, b.getI64Type(), address);
}

void stageFragmentsByMatrix(
    ImplicitLocOpBuilder &b, const KernelContext &k, int64_t tiles,
    Value rowBase, function_ref<Value(int64_t t, int64_t r)> pair,
    function_ref<SmallVector<Value>(Value box, Value row, Value column)> at,
    Value staging) {
  assert(tiles % 2 == 0 && "stmatrix x4 takes two tiles a time");
  GpuArith e{b};
  // Lane l addresses row l % 8 of matrix l / 8: matrices 0, 1 are tile t's
  // rows g and g + 8, matrices 2, 3 tile t + 1's.
  Value matrix = e.div(k.lane, e.index(8));
  Value matrixRow = e.rem(k.lane, e.index(8));
  Value row = e.add(
      e.add(rowBase, e.mul(e.rem(matrix, e.index(2)), e.index(8))), matrixRow);
  // The lane's tile is t + laneTile (laneTile 0 or 1, t even): in box t / 8
  // at chunk (t % 8 + laneTile) ^ matrixRow = (t % 8) ^ laneChunk, as t % 8
  // is even.
  Value laneTile = e.div(matrix, e.index(2));
  Value laneChunk = arith::XOrIOp::create(b, laneTile, matrixRow);
  auto sharedPtr = LLVM::LLVMPointerType::get(b.getContext(), 3);
  auto word = [&](Value narrowPair) {
    Value asWord = vector::BitCastOp::create(
        b, VectorType::get({1}, b.getI32Type()), narrowPair);
    return vector::ExtractOp::create(b, asWord, ArrayRef<int64_t>{0})
        .getResult();
  };
  for (int64_t t = 0; t < tiles; t += 2) {
    Value chunk = arith::XOrIOp::create(b, e.index(t % 8), laneChunk);
    Value address = LLVM::IntToPtrOp::create(
        b, sharedPtr,
        sharedElementAddress(
            b, staging, at(e.index(t / 8), row, e.mul(chunk, e.index(8)))));
    NVVM::StMatrixOp::create(
        b, address,
        ValueRange{word(pair(t, 0)), word(pair(t, 1)), word(pair(t + 1, 0)),
                   word(pair(t + 1, 1))},
        NVVM::MMALayout::row,
        NVVM::LdStMatrixShapeAttr::get(b.getContext(), 8, 8),
        NVVM::LdStMatrixEltType::B16);
  }
}

void waitStagedStores(ImplicitLocOpBuilder &b, const KernelContext &k) {
  onLaneZero(b, k, [](ImplicitLocOpBuilder &ib) { waitStoreReads(ib); });
}

void storeRowsStaged(ImplicitLocOpBuilder &b, const KernelContext &k,
                     ArrayRef<Value> acc, ArrayRef<Value> rowScale,
                     Value staging, Value dest, Value batch, Value head,
                     Value tileFirstRow, Value limit, Value map) {
  assert(acc.size() % 8 == 0 && "whole 64-column boxes (canStageRows)");
  GpuArith e{b};
  // The warp's 16 rows: staging rows 16 warp.., output rows from there.
  Value stagingRow = e.mul(k.warp, e.index(16));
  Value firstRow = e.add(tileFirstRow, stagingRow);
  Type f32 = b.getF32Type();
  Type narrowType = cast<MemRefType>(dest.getType()).getElementType();
  auto swizzled = [&](Value chunk, Value row) {
    Value phase = e.rem(row, e.index(8));
    return e.mul(arith::XOrIOp::create(b, chunk, phase), e.index(8));
  };
  auto narrowPair = [&](int64_t t, int64_t r) -> Value {
    Value v0 = e.fmul(element(b, acc[t], r, 0), rowScale[r]);
    Value v1 = e.fmul(element(b, acc[t], r, 1), rowScale[r]);
    Value pair = vector::FromElementsOp::create(b, VectorType::get({2}, f32),
                                                ValueRange{v0, v1});
    return arith::TruncFOp::create(b, VectorType::get({2}, narrowType), pair);
  };
  // Fragments in: row g + 8r, columns 8t + 2c, + 1 (t's chunk t % 8 of box
  // t / 8). Every row of the 16 is written, those past the limit too.
  if (k.cfg.stmatrixStaging) {
    stageFragmentsByMatrix(
        b, k, int64_t(acc.size()), stagingRow, narrowPair,
        [](Value box, Value row, Value column) -> SmallVector<Value> {
          return {box, row, column};
        },
        staging);
  } else {
    for (int64_t r = 0; r < 2; ++r) {
      Value row = e.add(stagingRow, e.add(k.g, e.index(8 * r)));
      for (int64_t t = 0; t < int64_t(acc.size()); ++t) {
        Value narrow = narrowPair(t, r);
        Value col =
            e.add(swizzled(e.index(t % 8), row), e.mul(k.c, e.index(2)));
        vector::StoreOp::create(b, narrow, staging,
                                ValueRange{e.index(t / 8), row, col}, false,
                                llvm::MaybeAlign(4));
      }
    }
  }
  int64_t width = 8 * int64_t(acc.size());
  if (map) {
    // Each lane's staging writes reach the copy engine, then lane 0 sends
    // the 16 rows (the map's box) out.
    fenceSharedForAsyncProxy(b);
    NVVM::SyncWarpOp::create(
        b, arith::ConstantIntOp::create(b, b.getI32Type(), -1));
    onLaneZero(b, k, [&](ImplicitLocOpBuilder &ib) {
      storeRowsByMap(ib, map, staging, stagingRow, batch, head, firstRow,
                     width);
    });
    return;
  }
  NVVM::SyncWarpOp::create(b,
                           arith::ConstantIntOp::create(b, b.getI32Type(), -1));
  // Chunks out: 8 lanes a row, 4 rows a pass, 4 passes a box.
  auto chunkType = VectorType::get({8}, narrowType);
  Value chunk = e.rem(k.lane, e.index(8));
  int64_t boxes = width / 64;
  for (int64_t box = 0; box < boxes; ++box)
    for (int64_t pass = 0; pass < 4; ++pass) {
      Value i = e.add(e.index(4 * pass), e.div(k.lane, e.index(8)));
      Value row = e.add(stagingRow, i);
      Value data = vector::LoadOp::create(
          b, chunkType, staging,
          ValueRange{e.index(box), row, swizzled(chunk, row)}, false,
          llvm::MaybeAlign(16));
      Value out = e.add(firstRow, i);
      emitIf(
          b, e.cmp(P::slt, out, limit), [&](ImplicitLocOpBuilder &ib) {
            GpuArith ie{ib};
            Value col = ie.add(ie.index(64 * box), ie.mul(chunk, ie.index(8)));
            vector::StoreOp::create(ib, data, dest,
                                    ValueRange{batch, head, out, col}, false,
                                    llvm::MaybeAlign(16));
          });
    }
}

} // namespace mlir::spa::gpu_kernel
