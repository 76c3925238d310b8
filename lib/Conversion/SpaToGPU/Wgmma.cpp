//===- Wgmma.cpp - warpgroup MMA instruction helpers (sm_90a) -------------===//
//
// Two products, shared by the forward and the backward: both operands in
// shared memory (S = Q K^T, S^T = K Q^T, ...) by nvvm.wgmma.mma_async; A from
// registers and an MN-major B (O += P V, dV += P^T dO, ...) as inline PTX,
// since MLIR 22's op takes A from shared memory only (pinned by
// test/Toolchain).
//
//===----------------------------------------------------------------------===//

#include "Wgmma.h"
#include "InlinePtx.h"
#include "MmaSync.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>
#include <string>

using namespace mlir;

namespace mlir::spa::gpu_kernel {

Value i64Constant(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIntOp::create(b, b.getI64Type(), v);
}

Value descriptor(ImplicitLocOpBuilder &b, Value tile, int64_t rows) {
  Value address = arith::IndexCastOp::create(
      b, b.getI64Type(),
      memref::ExtractAlignedPointerAsIndexOp::create(b, tile));
  Value start = arith::AndIOp::create(
      b, arith::ShRUIOp::create(b, address, i64Constant(b, 4)),
      i64Constant(b, 0x3FFF));
  uint64_t fixed = (uint64_t((rows * 128) >> 4) << 16) |
                   (uint64_t(1024 >> 4) << 32) | (uint64_t(1) << 62);
  return arith::OrIOp::create(b, start, i64Constant(b, int64_t(fixed)));
}

Value stageDescriptor(ImplicitLocOpBuilder &b, const KernelConfig &cfg,
                      Value desc, Value stage, int64_t width) {
  if (cfg.stages == 1)
    return desc;
  Value offset = arith::MulIOp::create(
      b, arith::IndexCastOp::create(b, b.getI64Type(), stage),
      i64Constant(b, cfg.tileBytes(cfg.tileK, width) >> 4));
  return arith::AddIOp::create(b, desc, offset);
}

Value advanceDescriptor(ImplicitLocOpBuilder &b, Value desc, int64_t bytes) {
  return bytes ? arith::AddIOp::create(b, desc, i64Constant(b, bytes >> 4))
               : desc;
}

SmallVector<Value> waitForAccumulators(ImplicitLocOpBuilder &b,
                                       ArrayRef<Value> values, int64_t pending,
                                       ArrayRef<Value> aWords) {
  return passThroughF32(
      b, "wgmma.wait_group.sync.aligned " + std::to_string(pending) + ";",
      values, aWords);
}

SmallVector<Value> toTiles(ImplicitLocOpBuilder &b, ArrayRef<Value> flat) {
  SmallVector<Value> tiles;
  for (size_t t = 0; t * 4 < flat.size(); ++t)
    tiles.push_back(make2x2(b, flat.slice(4 * t, 4), b.getF32Type()));
  return tiles;
}

void appendFlat(ImplicitLocOpBuilder &b, Value tile,
                SmallVectorImpl<Value> &flat) {
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t i = 0; i < 2; ++i)
      flat.push_back(element(b, tile, r, i));
}

/// One commit group of `steps` chained wgmma m64n{n}k16 with both operands
/// in shared memory, their descriptors from `stepDescriptors(k step)`
/// (built inside the loop, next to each instruction). The first step
/// ignores the accumulator (scale-d = 0) and starts from an undefined one: a
/// zero struct would be materialised by register moves the compiler may
/// place after the fence, and while an earlier product is still in flight
/// ptxas then serialises the two (warning C7517). With `init` (n / 2
/// accumulators) every step adds to it instead.
static SmallVector<Value> issueChainFromShared(
    ImplicitLocOpBuilder &b, Type elementType, int64_t n, int64_t steps,
    NVVM::MMALayout aLayout, NVVM::MMALayout bLayout,
    llvm::function_ref<std::pair<Value, Value>(int64_t)> stepDescriptors,
    ArrayRef<Value> init = {}) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  auto structType =
      LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(n / 2, f32));
  auto eltType =
      elementType.isF16() ? NVVM::WGMMATypes::f16 : NVVM::WGMMATypes::bf16;
  Value acc = LLVM::UndefOp::create(b, structType);
  for (auto [i, value] : llvm::enumerate(init))
    acc = LLVM::InsertValueOp::create(b, acc, value, int64_t(i));
  NVVM::WgmmaFenceAlignedOp::create(b);
  for (int64_t ks = 0; ks < steps; ++ks) {
    auto [a, bStep] = stepDescriptors(ks);
    acc = NVVM::WgmmaMmaAsyncOp::create(
        b, structType, acc, a, bStep, NVVM::MMAShapeAttr::get(ctx, 64, n, 16),
        NVVM::WGMMATypesAttr::get(ctx, eltType),
        NVVM::WGMMATypesAttr::get(ctx, eltType),
        NVVM::WGMMATypesAttr::get(ctx, NVVM::WGMMATypes::f32),
        NVVM::WGMMAScaleOutAttr::get(ctx, ks == 0 && init.empty()
                                              ? NVVM::WGMMAScaleOut::zero
                                              : NVVM::WGMMAScaleOut::one),
        NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one),
        NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one),
        NVVM::MMALayoutAttr::get(ctx, aLayout),
        NVVM::MMALayoutAttr::get(ctx, bLayout), NVVM::MMAIntOverflowAttr());
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  SmallVector<Value> flat;
  for (int64_t i = 0; i < n / 2; ++i)
    flat.push_back(LLVM::ExtractValueOp::create(b, acc, i));
  return flat;
}

SmallVector<Value> issueSharedProduct(ImplicitLocOpBuilder &b,
                                      Type elementType, Value aDesc,
                                      int64_t aRows, Value bDesc,
                                      int64_t bRows, int64_t width) {
  // Both operands K-major (layouts row and col).
  return issueChainFromShared(
      b, elementType, bRows, width / 16, NVVM::MMALayout::row,
      NVVM::MMALayout::col, [&](int64_t ks) {
        int64_t inBlock = (ks % 4) * 32; // 16 columns of 2 bytes
        // A's descriptor first (sequenced: argument order is unspecified).
        Value a = advanceDescriptor(b, aDesc, (ks / 4) * aRows * 128 + inBlock);
        Value bStep =
            advanceDescriptor(b, bDesc, (ks / 4) * bRows * 128 + inBlock);
        return std::make_pair(a, bStep);
      });
}

SmallVector<Value> issueTransposedSharedProduct(ImplicitLocOpBuilder &b,
                                                Type elementType, Value aDesc,
                                                Value bDesc, int64_t kRows) {
  constexpr int64_t kN = 64; // one swizzled block: LBO is never used
  // 16 rows of 128 bytes per k step, in both operands. Layout col for A and
  // row for B: the transpose bits (MN-major).
  return issueChainFromShared(
      b, elementType, kN, kRows / 16, NVVM::MMALayout::col,
      NVVM::MMALayout::row, [&](int64_t ks) {
        Value a = advanceDescriptor(b, aDesc, ks * 2048);
        Value bStep = advanceDescriptor(b, bDesc, ks * 2048);
        return std::make_pair(a, bStep);
      });
}

SmallVector<Value> issueTransposedSharedAccumulate(ImplicitLocOpBuilder &b,
                                                   Type elementType,
                                                   Value aDesc, Value bDesc,
                                                   int64_t kRows,
                                                   ArrayRef<Value> acc) {
  assert(acc.size() == 32 && "one m64n64 accumulator");
  return issueChainFromShared(
      b, elementType, /*n=*/64, kRows / 16, NVVM::MMALayout::col,
      NVVM::MMALayout::row,
      [&](int64_t ks) {
        Value a = advanceDescriptor(b, aDesc, ks * 2048);
        Value bStep = advanceDescriptor(b, bDesc, ks * 2048);
        return std::make_pair(a, bStep);
      },
      acc);
}

SmallVector<Value> issueScores(ImplicitLocOpBuilder &b,
                               const KernelConfig &cfg, Value qDesc,
                               Value kDesc, Value stage) {
  Value kStage = stageDescriptor(b, cfg, kDesc, stage, cfg.headDim);
  return issueSharedProduct(b, cfg.elementType, qDesc, cfg.tileQ(), kStage,
                            cfg.tileK, cfg.headDim);
}

SmallVector<Value> packAsA(ImplicitLocOpBuilder &b, Type elementType,
                           ArrayRef<Value> tiles) {
  Type i32 = b.getI32Type();
  auto halfType = VectorType::get({2, 2}, elementType);
  auto pairWord = [&](Value tile, int64_t r) {
    Value pair = vector::ExtractOp::create(b, tile, ArrayRef<int64_t>{r});
    Value word =
        vector::BitCastOp::create(b, VectorType::get({1}, i32), pair);
    return vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0})
        .getResult();
  };
  SmallVector<Value> words;
  for (size_t ks = 0; 2 * ks + 1 < tiles.size(); ++ks) {
    Value low = arith::TruncFOp::create(b, halfType, tiles[2 * ks]);
    Value high = arith::TruncFOp::create(b, halfType, tiles[2 * ks + 1]);
    words.append({pairWord(low, 0), pairWord(low, 1), pairWord(high, 0),
                  pairWord(high, 1)});
  }
  return words;
}

SmallVector<Value> packProbabilities(ImplicitLocOpBuilder &b,
                                     const KernelConfig &cfg,
                                     ArrayRef<Value> probs) {
  return packAsA(b, cfg.elementType, probs.take_front(cfg.tileK / 8));
}

/// The PTX of one register-A wgmma m64n{kN}k16 over `n` accumulators:
/// operands $0..$n-1 accumulators, then four P words, the V descriptor and a
/// predicate word (scale-d). `fence`: P and O registers were just written.
static std::string registerAWgmmaPtx(int64_t kN, int64_t n, StringRef types,
                                     bool fence) {
  std::string ptx = "{\n.reg .pred p;\n";
  if (fence)
    ptx += "wgmma.fence.sync.aligned;\n";
  ptx += "setp.ne.b32 p, $" + std::to_string(2 * n + 5) + ", 0;\n";
  ptx += "wgmma.mma_async.sync.aligned.m64n" + std::to_string(kN) +
         "k16.f32." + types.str() + "." + types.str() + " {";
  for (int64_t i = 0; i < n; ++i)
    ptx += (i ? ", $" : "$") + std::to_string(i);
  ptx += "}, {";
  for (int64_t i = 0; i < 4; ++i)
    ptx += (i ? ", $" : "$") + std::to_string(2 * n + i);
  ptx += "}, $" + std::to_string(2 * n + 4) + ", p, 1, 1, 1;\n}";
  return ptx;
}

SmallVector<Value> issueRegisterAProduct(ImplicitLocOpBuilder &b,
                                         Type elementType, Value bDesc,
                                         int64_t bRows, int64_t width,
                                         ArrayRef<Value> words,
                                         SmallVector<Value> flat) {
  Type i32 = b.getI32Type();
  Type f32 = b.getF32Type();
  // One wgmma as wide as the operand (N up to 256): a 128-wide B read as
  // two m64n64k16 halves costs twice the instructions and A-register reads
  // for the same products. Its 64-column blocks are bRows * 128 bytes
  // apart, which the leading byte offset of a descriptor built for bRows
  // rows (`descriptor`) states (MN-major); the accumulator order of one
  // m64n{2x}k16 is that of two m64n{x}k16 side by side, so `flat` keeps
  // its layout.
  assert(width % 64 == 0 && "B is a whole number of swizzled blocks");
  const int64_t kN = std::min<int64_t>(width, 256); // columns per wgmma
  assert(width % kN == 0 && "B splits into whole wgmma widths");
  StringRef types = elementType.isF16() ? "f16" : "bf16";
  Value one = arith::ConstantIntOp::create(b, i32, 1);
  int64_t n = kN / 2; // accumulator values per wgmma
  auto structType = LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(n, f32));
  std::string constraints;
  for (int64_t i = 0; i < n; ++i)
    constraints += (i ? ",=f" : "=f");
  for (int64_t i = 0; i < n; ++i)
    constraints += "," + std::to_string(i);
  constraints += ",r,r,r,r,l,r";
  for (int64_t ks = 0; ks < bRows / 16; ++ks) {
    ArrayRef<Value> aWords = words.slice(4 * ks, 4);
    for (int64_t nc = 0; nc < width / kN; ++nc) {
      std::string ptx =
          registerAWgmmaPtx(kN, n, types, /*fence=*/ks == 0 && nc == 0);
      // 16 rows of 128 bytes per k step; kN columns = kN / 64 blocks.
      Value bStep = advanceDescriptor(
          b, bDesc, nc * (kN / 64) * bRows * 128 + ks * 16 * 128);
      SmallVector<Value> operands(flat.begin() + nc * n,
                                  flat.begin() + (nc + 1) * n);
      operands.append(aWords.begin(), aWords.end());
      operands.push_back(bStep);
      operands.push_back(one);
      Value result =
          LLVM::InlineAsmOp::create(b, structType, operands, ptx, constraints,
                                    true, false,
                                    LLVM::tailcallkind::TailCallKind::None,
                                    LLVM::AsmDialectAttr(), ArrayAttr())
              .getRes();
      for (int64_t i = 0; i < n; ++i)
        flat[nc * n + i] = LLVM::ExtractValueOp::create(b, result, i);
    }
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  return flat;
}

SmallVector<Value> issueValues(ImplicitLocOpBuilder &b,
                               const KernelConfig &cfg, Value vDesc,
                               ArrayRef<Value> words, SmallVector<Value> flat,
                               Value stage) {
  Value vStage = stageDescriptor(b, cfg, vDesc, stage, cfg.valueDim);
  return issueRegisterAProduct(b, cfg.elementType, vStage, cfg.tileK,
                               cfg.valueDim, words, std::move(flat));
}

} // namespace mlir::spa::gpu_kernel
