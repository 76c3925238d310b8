//===- MmaSync.cpp - ldmatrix and mma.sync instruction helpers ------------===//
//
// f16 goes through nvgpu.mma.sync; MLIR 22's nvgpu lowering cannot type bf16
// operands, so bf16 and tf32 call nvvm.mma.sync with the fragments repacked
// as i32 words (docs/gpu-toolchain.md; pinned by test/Toolchain).
//
//===----------------------------------------------------------------------===//

#include "MmaSync.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

Value element(ImplicitLocOpBuilder &b, Value v, int64_t r, int64_t i) {
  return vector::ExtractOp::create(b, v, ArrayRef<int64_t>{r, i});
}

Value make2x2(ImplicitLocOpBuilder &b, ArrayRef<Value> values, Type type) {
  return vector::FromElementsOp::create(b, VectorType::get({2, 2}, type),
                                        values);
}

Value zeroAccumulatorTile(ImplicitLocOpBuilder &b) {
  return arith::ConstantOp::create(
      b, DenseElementsAttr::get(VectorType::get({2, 2}, b.getF32Type()), 0.0f));
}

Value accumulatorsAsA(ImplicitLocOpBuilder &b, Value low, Value high,
                      Type elementType) {
  auto halfType = VectorType::get({2, 2}, elementType);
  Value lowTile = arith::TruncFOp::create(b, halfType, low);
  Value highTile = arith::TruncFOp::create(b, halfType, high);
  SmallVector<Value> aElems;
  for (Value tile : {lowTile, highTile})
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t i = 0; i < 2; ++i)
        aElems.push_back(element(b, tile, r, i));
  return vector::FromElementsOp::create(
      b, VectorType::get({4, 2}, elementType), aElems);
}

/// acc += a * b by nvvm.mma.sync m16n8k{k}: A as four and B as two i32
/// words in PTX's fragment layouts, C/D as the 2x2 f32 tile.
static Value mmaWords(ImplicitLocOpBuilder &b, ArrayRef<Value> a,
                      ArrayRef<Value> bFrag, Value acc, int64_t k,
                      NVVM::MMATypes type) {
  SmallVector<Value> cValues;
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t i = 0; i < 2; ++i)
      cValues.push_back(element(b, acc, r, i));
  Type f32 = b.getF32Type();
  auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                     {f32, f32, f32, f32});
  Value result = NVVM::MmaOp::create(
      b, resultType, a, bFrag, cValues, ArrayRef<int64_t>{16, 8, k},
      std::nullopt, std::nullopt, std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> parts;
  for (int64_t i = 0; i < 4; ++i)
    parts.push_back(LLVM::ExtractValueOp::create(b, result, i));
  return make2x2(b, parts, f32);
}

Value mmaSync(ImplicitLocOpBuilder &b, Value a, Value bFrag, Value acc) {
  Type elt = cast<VectorType>(a.getType()).getElementType();
  if (elt.isF16())
    return nvgpu::MmaSyncOp::create(b, a, bFrag, acc,
                                    ArrayRef<int64_t>{16, 8, 16});
  Type i32 = b.getI32Type();
  auto packRows = [&](Value fragment, int64_t rows) {
    SmallVector<Value> words;
    for (int64_t r = 0; r < rows; ++r) {
      Value pair = vector::ExtractOp::create(b, fragment, ArrayRef<int64_t>{r});
      Value word =
          vector::BitCastOp::create(b, VectorType::get({1}, i32), pair);
      words.push_back(vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0}));
    }
    return words;
  };
  return mmaWords(b, packRows(a, 4), packRows(bFrag, 2), acc, 16,
                  NVVM::MMATypes::bf16);
}

/// The tensor cores read the upper 19 bits of each f32 (tf32 precision,
/// relative error about 2^-11 per operand).
Value mmaSyncTf32(ImplicitLocOpBuilder &b, ArrayRef<Value> a,
                  ArrayRef<Value> bFrag, Value acc) {
  return mmaWords(b, a, bFrag, acc, 8, NVVM::MMATypes::tf32);
}

Value ldmatrix(ImplicitLocOpBuilder &b, Type elementType, Value smem,
               Value row, Value col, int64_t tiles, bool transpose) {
  auto type = VectorType::get({tiles, 2}, elementType);
  return nvgpu::LdMatrixOp::create(b, type, smem, ValueRange{row, col},
                                   b.getBoolAttr(transpose),
                                   b.getI32IntegerAttr(tiles));
}

} // namespace mlir::spa::gpu_kernel
