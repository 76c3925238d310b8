//===- BackwardQueryAtomic.cpp - dQ by atomics (deterministic=false) ------===//
//
// The pieces BackwardQueryAtomic.h lists: the dK/dV kernel's per-tile dQ
// product and its f32 atomics, the preprocess's zero fill and the convert
// kernel.
//
//===----------------------------------------------------------------------===//

#include "BackwardQueryAtomic.h"
#include "BackwardKernels.h"
#include "InlinePtx.h"
#include "KernelSkeleton.h"
#include "MmaSync.h"
#include "Wgmma.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <optional>
#include <string>

using namespace mlir;

namespace mlir::spa::gpu_kernel {

void AtomicQueryTile::setupSharedMemory(ImplicitLocOpBuilder &b) {
  const BackwardConfig &grad = k.grad;
  GpuArith e{b};
  int64_t warpgroups = grad.ownRows() / 64;
  int64_t mBlocks = grad.streamRows() / 64;
  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                              gpu::AddressSpace::Workgroup);
  auto type = MemRefType::get({warpgroups, mBlocks, 64, 64},
                              k.cfg.elementType, MemRefLayoutAttrInterface(),
                              workgroup);
  // After the mainloop's tiles (a multiple of 1024 bytes, as the 128-byte
  // swizzle needs).
  staging = memref::ViewOp::create(b, type,
                                   dynamicSharedBytes(b, grad.sharedBytes()),
                                   e.index(grad.mainloopSharedBytes()),
                                   ValueRange{});
  Value warpgroup = arith::IndexCastOp::create(b, b.getI64Type(),
                                               e.div(k.warp, e.index(4)));
  Value offset = arith::MulIOp::create(
      b, warpgroup, i64Constant(b, (mBlocks * 64 * 128) >> 4));
  stagingDesc =
      arith::AddIOp::create(b, descriptor(b, staging, 64), offset);
}

void AtomicQueryTile::stage(ImplicitLocOpBuilder &b,
                            ArrayRef<Value> scoreGradsT) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  auto halfTile = VectorType::get({2, 2}, cfg.elementType);
  // Thread (warp w, g, c) holds keys 16 (w % 4) + g (+ 8) of its
  // warpgroup's 64 and queries 8 nt + 2c (+ 1): one 4-byte word per row,
  // in 16-byte chunk nt % 8 of M block nt / 8, swizzled by the row (g).
  // Conflict-free: the 8 g of a store hit 8 different chunks.
  Value warpgroup = e.div(k.warp, e.index(4));
  Value keyBase = e.add(e.mul(e.rem(k.warp, e.index(4)), e.index(16)), k.g);
  for (auto [nt, tile] : llvm::enumerate(scoreGradsT)) {
    Value rounded = arith::TruncFOp::create(b, halfTile, tile);
    Value chunk = arith::XOrIOp::create(b, e.index(int64_t(nt) % 8), k.g);
    Value column = e.add(e.mul(chunk, e.index(8)), e.mul(k.c, e.index(2)));
    for (int64_t r = 0; r < 2; ++r) {
      Value pair = vector::ExtractOp::create(b, rounded, ArrayRef<int64_t>{r});
      vector::StoreOp::create(
          b, pair, staging,
          ValueRange{warpgroup, e.index(int64_t(nt) / 8),
                     e.add(keyBase, e.index(8 * r)), column},
          /*nontemporal=*/false, llvm::MaybeAlign(4));
    }
  }
  // Generic-proxy writes read by wgmma (async proxy), from every warp of
  // the warpgroup.
  ptxStatement(b, "fence.proxy.async.shared::cta;");
  gpu::BarrierOp::create(b);
}

int64_t AtomicQueryTile::chunks() const {
  return k.grad.streamRows() / 64 * (k.cfg.headDim / 64);
}

BackwardMainloop::Issued AtomicQueryTile::issueChunk(ImplicitLocOpBuilder &b,
                                                     int64_t j) {
  const BackwardConfig &grad = k.grad;
  int64_t blocks = k.cfg.headDim / 64;
  int64_t mb = j / blocks, nc = j % blocks;
  // A: M block mb of the staged tile (64 key rows of 128 bytes); B: column
  // block nc of own K ([D / 64][ownRows][64], this warpgroup's rows).
  Value a = advanceDescriptor(b, stagingDesc, mb * 64 * 128);
  Value bDesc = advanceDescriptor(b, mainloop.ownTileDescriptor(Operand::First),
                                  nc * grad.ownRows() * 128);
  return {issueTransposedSharedProduct(b, k.cfg.elementType, a, bDesc,
                                       /*kRows=*/64),
          true};
}

std::pair<SmallVector<Value>, SmallVector<Value>> AtomicQueryTile::finishTile(
    ImplicitLocOpBuilder &b, ArrayRef<Value> scoreGradsT, SmallVector<Value> dK,
    const BackwardMainloop::Issued &dVIssued, Value i0) {
  using Issued = BackwardMainloop::Issued;
  stage(b, scoreGradsT);
  // Chunk 0 goes out before dK's product, so that its atomics run while
  // dK's is on the tensor cores.
  Issued first = issueChunk(b, 0);
  Issued dKIssued =
      mainloop.issueAccumulate(b, scoreGradsT, Operand::First, std::move(dK));
  SmallVector<SmallVector<Value>> done =
      mainloop.complete(b, {&dVIssued, &first}, 1);
  SmallVector<Value> dV = done[0];
  addChunk(b, done[1], 0, i0);
  std::optional<SmallVector<Value>> newK;
  for (int64_t j = 1; j < chunks(); ++j) {
    Issued next = issueChunk(b, j);
    if (!newK) {
      SmallVector<SmallVector<Value>> both =
          mainloop.complete(b, {&dKIssued, &next}, 0);
      newK = both[0];
      addChunk(b, both[1], j, i0);
    } else {
      addChunk(b, mainloop.complete(b, {&next}, 0).front(), j, i0);
    }
  }
  if (!newK)
    newK = mainloop.complete(b, {&dKIssued}, 0).front();
  return {*newK, dV};
}

/// One inline-asm statement: `values` (f32) added at byte offsets
/// `offsets` from `address` (a generic address of global memory, as kernel
/// arguments are) by red.global.add.f32; one address register for all.
static void addAtOffsets(ImplicitLocOpBuilder &b, Value address,
                         ArrayRef<Value> values, ArrayRef<int64_t> offsets) {
  std::string ptx = "{\n.reg .u64 a;\ncvta.to.global.u64 a, $0;\n";
  std::string constraints = "l";
  for (auto [i, offset] : llvm::enumerate(offsets)) {
    ptx += "red.global.add.f32 [a+" + std::to_string(offset) + "], $" +
           std::to_string(i + 1) + ";\n";
    constraints += ",f";
  }
  ptx += "}";
  SmallVector<Value> operands = {address};
  operands.append(values.begin(), values.end());
  LLVM::InlineAsmOp::create(b, TypeRange{}, operands, ptx, constraints,
                            /*has_side_effects=*/true, false,
                            LLVM::tailcallkind::TailCallKind::None,
                            LLVM::AsmDialectAttr(), ArrayAttr());
}

void AtomicQueryTile::addChunk(ImplicitLocOpBuilder &b,
                               ArrayRef<Value> tiles, int64_t j, Value i0) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  Type i64 = b.getI64Type();
  int64_t blocks = cfg.headDim / 64;
  int64_t mb = j / blocks, nc = j % blocks;
  Value base = arith::IndexCastOp::create(
      b, i64,
      memref::ExtractAlignedPointerAsIndexOp::create(b, k.queryGradAccum));
  Value headRow = e.mul(
      e.add(e.mul(k.batchIdx, e.index(cfg.numQueryHeads)), k.head),
      e.index(cfg.queryLen));
  Value rowInBlock = e.add(
      e.add(i0, e.mul(e.rem(k.warp, e.index(4)), e.index(16))), k.g);
  for (int64_t r = 0; r < 2; ++r) {
    Value row = e.add(rowInBlock, e.index(64 * mb + 8 * r));
    // The lane's first column 64 nc + 2c of the row; then immediate
    // offsets.
    Value first = e.add(e.mul(e.add(headRow, row), e.index(cfg.headDim)),
                        e.add(e.index(64 * nc), e.mul(k.c, e.index(2))));
    Value address = arith::AddIOp::create(
        b, base,
        arith::IndexCastOp::create(b, i64, e.mul(first, e.index(4))));
    SmallVector<Value> values;
    SmallVector<int64_t> offsets;
    for (auto [t, tile] : llvm::enumerate(tiles))
      for (int64_t i = 0; i < 2; ++i) {
        values.push_back(element(b, tile, r, i));
        offsets.push_back((8 * int64_t(t) + i) * 4);
      }
    scf::IfOp::create(b, e.cmp(P::slt, row, e.index(cfg.queryLen)),
                      [&](OpBuilder &nb, Location l) {
                        ImplicitLocOpBuilder ib(l, nb);
                        addAtOffsets(ib, address, values, offsets);
                        scf::YieldOp::create(ib);
                      });
  }
}

void zeroQueryAccumulatorRow(ImplicitLocOpBuilder &b, const BackwardContext &k,
                             Value accum, Value row, Value valid) {
  const KernelConfig &cfg = k.cfg;
  auto quad = VectorType::get({4}, b.getF32Type());
  scf::IfOp::create(b, valid, [&](OpBuilder &nb, Location l) {
    ImplicitLocOpBuilder ib(l, nb);
    GpuArith ie{ib};
    Value zeros =
        arith::ConstantOp::create(ib, DenseElementsAttr::get(quad, 0.0f));
    // D is a multiple of 64 on the wgmma path: D / 16 rounds a lane.
    for (int64_t j = 0; j < cfg.headDim / 16; ++j) {
      Value col = ie.add(ie.index(16 * j), ie.mul(k.c, ie.index(4)));
      vector::StoreOp::create(ib, zeros, accum,
                              ValueRange{k.batchIdx, k.head, row, col},
                              /*nontemporal=*/false, llvm::MaybeAlign(16));
    }
    scf::YieldOp::create(ib);
  });
}

gpu::GPUFuncOp buildQueryConvertKernel(OpBuilder &moduleBuilder, Location loc,
                                       StringRef name, ArrayRef<Type> argTypes,
                                       const BackwardConfig &grad) {
  BackwardContext k(grad);
  const KernelConfig &cfg = grad.base;
  OpBuilder body(moduleBuilder.getContext());
  gpu::GPUFuncOp func =
      beginBackwardKernel(moduleBuilder, loc, name, argTypes, k, body);
  ImplicitLocOpBuilder b(loc, body);
  GpuArith e{b};
  Value accum = func.getArgument(0);
  Value dest = func.getArgument(1);
  // Chunk = ((batch Hq + head) Nq + row) (D / 8) + column / 8.
  int64_t chunksPerRow = cfg.headDim / 8;
  int64_t chunks =
      cfg.batch * cfg.numQueryHeads * cfg.queryLen * chunksPerRow;
  Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value tid = e.add(e.mul(k.warp, e.index(32)), k.lane);
  Value chunk = e.add(e.mul(block, e.index(cfg.threads())), tid);
  Value col = e.mul(e.rem(chunk, e.index(chunksPerRow)), e.index(8));
  Value rowIdx = e.div(chunk, e.index(chunksPerRow));
  Value row = e.rem(rowIdx, e.index(cfg.queryLen));
  Value bh = e.div(rowIdx, e.index(cfg.queryLen));
  Value head = e.rem(bh, e.index(cfg.numQueryHeads));
  Value batch = e.div(bh, e.index(cfg.numQueryHeads));
  auto wide = VectorType::get({8}, b.getF32Type());
  auto narrow = VectorType::get({8}, cfg.elementType);
  scf::IfOp::create(
      b, e.cmp(P::slt, chunk, e.index(chunks)), [&](OpBuilder &nb, Location l) {
        ImplicitLocOpBuilder ib(l, nb);
        SmallVector<Value> at = {batch, head, row, col};
        Value sum = vector::LoadOp::create(ib, wide, accum, at, false,
                                           llvm::MaybeAlign(16));
        Value scale = arith::ConstantOp::create(
            ib, DenseElementsAttr::get(wide, float(grad.scale)));
        Value scaled = arith::MulFOp::create(ib, sum, scale);
        vector::StoreOp::create(ib,
                                arith::TruncFOp::create(ib, narrow, scaled),
                                dest, at, false, llvm::MaybeAlign(16));
        scf::YieldOp::create(ib);
      });
  gpu::ReturnOp::create(b);
  return func;
}

} // namespace mlir::spa::gpu_kernel
