//===- BackwardQueryAtomic.cpp - dQ by atomics (deterministic=false) ------===//
//
// The pieces BackwardQueryAtomic.h lists: the dK/dV kernel's per-tile dQ
// product and its bulk f32 reductions, the preprocess's zero fill and the
// convert kernel.
//
//===----------------------------------------------------------------------===//

#include "BackwardQueryAtomic.h"
#include "AsyncBarriers.h"
#include "BackwardKernels.h"
#include "InlinePtx.h"
#include "KernelSkeleton.h"
#include "MmaSync.h"
#include "StagedStores.h"
#include "Wgmma.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <optional>
#include <string>

using namespace mlir;

namespace mlir::spa::gpu_kernel {

MemRefType queryAccumulatorType(OpBuilder &b, const BackwardConfig &grad) {
  const KernelConfig &cfg = grad.base;
  int64_t columns = grad.dqPieceColumns;
  return MemRefType::get({cfg.batch, cfg.numQueryHeads, grad.dqAccumBlocks(),
                          cfg.headDim / columns, BackwardConfig::kDqBlockRows,
                          columns},
                         b.getF32Type());
}

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
  // swizzle needs); the staging ring after the dS^T tiles.
  Value whole = dynamicSharedBytes(b, grad.sharedBytes());
  int64_t offset = grad.mainloopSharedBytes();
  staging = memref::ViewOp::create(b, type, whole, e.index(offset),
                                   ValueRange{});
  offset += warpgroups * mBlocks * 64 * 64 * 2;
  // Named barrier 0 is the block's (gpu.barrier); 1 + w is warpgroup w's.
  reducer = QueryPieceReducer(b, k, whole, offset, warpgroups,
                              BackwardConfig::kDqStagingBuffers,
                              /*barrierBase=*/1, /*aligned=*/true);
  Value wg64 = arith::IndexCastOp::create(b, b.getI64Type(), reducer.warpgroup);
  Value descOffset =
      arith::MulIOp::create(b, wg64, i64Constant(b, (mBlocks * 64 * 128) >> 4));
  stagingDesc =
      arith::AddIOp::create(b, descriptor(b, staging, 64), descOffset);
}

void storeTransposedScoreGrads(
    ImplicitLocOpBuilder &b, const BackwardContext &k, int64_t tiles,
    Value keyBase, function_ref<Value(int64_t nt, int64_t r)> pair,
    function_ref<SmallVector<Value>(Value, Value, Value)> at, Value memref) {
  if (k.cfg.stmatrixStaging)
    return stageFragmentsByMatrix(b, k, tiles, keyBase, pair, at, memref);
  GpuArith e{b};
  // Thread (g, c) holds keys keyBase + g (+ 8) and queries 8 nt + 2c (+ 1):
  // one 4-byte word per row, in 16-byte chunk nt % 8 of M block nt / 8,
  // swizzled by the row (g, as keyBase is a multiple of 8).
  Value rowBase = e.add(keyBase, k.g);
  for (int64_t nt = 0; nt < tiles; ++nt) {
    Value chunk = arith::XOrIOp::create(b, e.index(nt % 8), k.g);
    Value column = e.add(e.mul(chunk, e.index(8)), e.mul(k.c, e.index(2)));
    for (int64_t r = 0; r < 2; ++r)
      vector::StoreOp::create(
          b, pair(nt, r), memref,
          at(e.index(nt / 8), e.add(rowBase, e.index(8 * r)), column),
          /*nontemporal=*/false, llvm::MaybeAlign(4));
  }
}

void storeRoundedScoreGradsT(ImplicitLocOpBuilder &b, const BackwardContext &k,
                             ArrayRef<Value> scoreGradsT, Value keyBase,
                             ValueRange prefix, Value memref) {
  auto halfTile = VectorType::get({2, 2}, k.cfg.elementType);
  SmallVector<Value> rounded;
  storeTransposedScoreGrads(
      b, k, int64_t(scoreGradsT.size()), keyBase,
      // Row 0 of a tile is asked for before row 1.
      [&](int64_t nt, int64_t r) -> Value {
        if (r == 0)
          rounded.push_back(
              arith::TruncFOp::create(b, halfTile, scoreGradsT[nt]));
        return vector::ExtractOp::create(b, rounded.back(),
                                         ArrayRef<int64_t>{r});
      },
      [&](Value mBlock, Value key, Value column) -> SmallVector<Value> {
        SmallVector<Value> indices(prefix);
        indices.append({mBlock, key, column});
        return indices;
      },
      memref);
}

void AtomicQueryTile::stage(ImplicitLocOpBuilder &b,
                            ArrayRef<Value> scoreGradsT) {
  GpuArith e{b};
  // Keys 16 (w % 4) + g (+ 8) of the warpgroup's 64.
  Value keyBase = e.mul(e.rem(k.warp, e.index(4)), e.index(16));
  storeRoundedScoreGradsT(b, k, scoreGradsT, keyBase,
                          ValueRange{reducer.warpgroup}, staging);
  // Generic-proxy writes read by wgmma (async proxy), from every warp of
  // the warpgroup.
  fenceSharedForAsyncProxy(b);
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
  // Chunk 0 goes out before dK's product, so that its reduction is staged
  // while dK's is on the tensor cores.
  Issued first = issueChunk(b, 0);
  Issued dKIssued =
      mainloop.issueAccumulate(b, scoreGradsT, Operand::First, std::move(dK));
  SmallVector<SmallVector<Value>> done =
      mainloop.complete(b, {&dVIssued, &first}, 1);
  SmallVector<Value> dV = done[0];
  reduceChunk(b, done[1], 0, i0);
  std::optional<SmallVector<Value>> newK;
  for (int64_t j = 1; j < chunks(); ++j) {
    Issued next = issueChunk(b, j);
    if (!newK) {
      SmallVector<SmallVector<Value>> both =
          mainloop.complete(b, {&dKIssued, &next}, 0);
      newK = both[0];
      reduceChunk(b, both[1], j, i0);
    } else {
      reduceChunk(b, mainloop.complete(b, {&next}, 0).front(), j, i0);
    }
  }
  if (!newK)
    newK = mainloop.complete(b, {&dKIssued}, 0).front();
  return {*newK, dV};
}

QueryPieceReducer::QueryPieceReducer(ImplicitLocOpBuilder &b,
                                     const BackwardContext &k, Value whole,
                                     int64_t offset, int64_t warpgroups,
                                     int64_t buffers, int32_t barrierBase,
                                     bool aligned)
    : buffers(buffers), barrierBase(barrierBase), aligned(aligned) {
  GpuArith e{b};
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto ringType =
      MemRefType::get({warpgroups, buffers, BackwardConfig::kDqBlockRows,
                       k.grad.dqPieceColumns},
                      b.getF32Type(), MemRefLayoutAttrInterface(), workgroup);
  ring =
      memref::ViewOp::create(b, ringType, whole, e.index(offset), ValueRange{});
  warpgroup = e.div(k.warp, e.index(4));
  issuer = e.andi(e.cmp(P::eq, e.rem(k.warp, e.index(4)), e.index(0)),
                  e.cmp(P::eq, k.lane, e.index(0)));
}

void QueryPieceReducer::warpgroupBarrier(ImplicitLocOpBuilder &b) const {
  GpuArith e{b};
  Value id = arith::IndexCastOp::create(b, b.getI32Type(),
                                        e.add(warpgroup, e.index(barrierBase)));
  // bar.sync is barrier.sync.aligned: every thread of the warpgroup must
  // reach the same instruction, which the warp-specialised kernel's two
  // branches (a warpgroup that multiplied and one that skipped) do not.
  LLVM::InlineAsmOp::create(
      b, TypeRange{}, ValueRange{id},
      aligned ? "bar.sync $0, 128;" : "barrier.sync $0, 128;", "r", true, false,
      LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr(),
      ArrayAttr());
}

/// The swizzle of row x (0..63) of a dq_accum piece of `columns` columns
/// (BackwardQueryAtomic.h): conflict-free 8-byte stores of the accumulator
/// fragments (each half-warp's four rows in distinct 32-byte bank groups).
static Value pieceSwizzle(GpuArith &e, Value x, int64_t columns) {
  if (columns >= 32)
    return e.rem(x, e.index(4));
  return e.rem(e.div(x, e.index(2)), e.index(2));
}

/// A side-effecting PTX statement of the issuing thread with i64 ("l") and
/// i32 ("r") operands.
static void issuerPtx(ImplicitLocOpBuilder &b, StringRef ptx,
                      ValueRange operands, StringRef constraints) {
  LLVM::InlineAsmOp::create(b, TypeRange{}, operands, ptx, constraints, true,
                            false, LLVM::tailcallkind::TailCallKind::None,
                            LLVM::AsmDialectAttr(), ArrayAttr());
}

/// `bytes` f32 from shared address `from` (i32) added to the global memory
/// at generic address `to` (i64) by the bulk copy engine.
static void bulkReduce(ImplicitLocOpBuilder &b, Value to, Value from,
                       Value bytes) {
  issuerPtx(b,
            "{\n.reg .u64 g;\ncvta.to.global.u64 g, $0;\n"
            "cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 "
            "[g], [$1], $2;\n}",
            ValueRange{to, from, bytes}, "l,r,r");
}

void QueryPieceReducer::reducePiece(ImplicitLocOpBuilder &b,
                                    const BackwardContext &k,
                                    ArrayRef<Value> tiles, int64_t buffer,
                                    Value rowStart, Value column,
                                    int64_t readsInFlight) const {
  emitIf(b, issuer, [&](ImplicitLocOpBuilder &ib) {
    NVVM::CpAsyncBulkWaitGroupOp::create(ib, readsInFlight, ib.getUnitAttr());
  });
  warpgroupBarrier(b);
  Value shift = stagePiece(b, k, tiles, buffer, rowStart);
  // Generic-proxy writes read by the bulk copy engine (async proxy).
  fenceSharedForAsyncProxy(b);
  warpgroupBarrier(b);
  emitIf(b, issuer, [&](ImplicitLocOpBuilder &ib) {
    issuePiece(ib, k, warpgroup, buffer, rowStart, shift, column);
  });
}

Value QueryPieceReducer::stagePiece(ImplicitLocOpBuilder &b,
                                    const BackwardContext &k,
                                    ArrayRef<Value> tiles, int64_t buffer,
                                    Value rowStart) const {
  int64_t columns = k.grad.dqPieceColumns;
  constexpr int64_t kRows = BackwardConfig::kDqBlockRows;
  GpuArith e{b};
  // Staged row x holds query row rowStart + x, stored as row (rowStart +
  // x) % 64 of its dq_accum block (the block's swizzle).
  Value shift = e.rem(rowStart, e.index(kRows));
  Value rowBase = e.add(e.mul(e.rem(k.warp, e.index(4)), e.index(16)), k.g);
  for (int64_t r = 0; r < 2; ++r) {
    Value x = e.add(rowBase, e.index(8 * r));
    Value h = pieceSwizzle(e, e.rem(e.add(x, shift), e.index(kRows)), columns);
    for (auto [t, tile] : llvm::enumerate(tiles)) {
      Value group = arith::XOrIOp::create(b, e.index(int64_t(t)), h);
      Value col = e.add(e.mul(group, e.index(8)), e.mul(k.c, e.index(2)));
      Value pair = vector::ExtractOp::create(b, tile, ArrayRef<int64_t>{r});
      vector::StoreOp::create(b, pair, ring,
                              ValueRange{warpgroup, e.index(buffer), x, col},
                              /*nontemporal=*/false, llvm::MaybeAlign(8));
    }
  }
  return shift;
}

void QueryPieceReducer::issuePiece(ImplicitLocOpBuilder &ib,
                                   const BackwardContext &k, Value group,
                                   int64_t buffer, Value rowStart, Value shift,
                                   Value column) const {
  const BackwardConfig &grad = k.grad;
  const KernelConfig &cfg = k.cfg;
  Type i32 = ib.getI32Type(), i64 = ib.getI64Type();
  int64_t columns = grad.dqPieceColumns;
  constexpr int64_t kRows = BackwardConfig::kDqBlockRows;
  GpuArith ie{ib};
  Value ringBase = arith::IndexCastOp::create(
      ib, i64, memref::ExtractAlignedPointerAsIndexOp::create(ib, ring));
  int64_t bufferBytes = kRows * columns * 4;
  Value source = arith::AddIOp::create(
      ib, ringBase,
      arith::IndexCastOp::create(
          ib, i64,
          ie.mul(ie.add(ie.mul(group, ie.index(buffers)), ie.index(buffer)),
                 ie.index(bufferBytes))));
  Value accumBase = arith::IndexCastOp::create(
      ib, i64,
      memref::ExtractAlignedPointerAsIndexOp::create(ib, k.queryGradAccum));
  // Block qb of (batch, head), piece column / P: 64 x P contiguous f32.
  Value pieceColumn = ie.div(column, ie.index(columns));
  Value qb = ie.div(rowStart, ie.index(kRows));
  Value headBlocks =
      ie.mul(ie.add(ie.mul(k.batchIdx, ie.index(cfg.numQueryHeads)), k.head),
             ie.index(grad.dqAccumBlocks()));
  auto pieceAddress = [&](Value block, Value row) {
    Value index = ie.add(ie.mul(ie.add(ie.mul(ie.add(headBlocks, block),
                                              ie.index(cfg.headDim / columns)),
                                       pieceColumn),
                                ie.index(kRows)),
                         row);
    return arith::AddIOp::create(
        ib, accumBase,
        arith::IndexCastOp::create(ib, i64,
                                   ie.mul(index, ie.index(columns * 4))));
  };
  auto toI32 = [&](Value v) {
    return arith::TruncIOp::create(ib, i32, v).getResult();
  };
  // Staged rows [0, 64 - shift) -> block qb rows [shift, 64); rows [64 -
  // shift, 64) -> block qb + 1 rows [0, shift).
  Value head = ie.sub(ie.index(kRows), shift);
  Value rowBytes = ie.index(columns * 4);
  bulkReduce(ib, pieceAddress(qb, shift), toI32(source),
             arith::IndexCastOp::create(ib, i32, ie.mul(head, rowBytes)));
  scf::IfOp::create(
      ib, ie.cmp(P::sgt, shift, ie.index(0)), [&](OpBuilder &tb, Location tl) {
        ImplicitLocOpBuilder jb(tl, tb);
        GpuArith je{jb};
        Value tailSource = arith::AddIOp::create(
            jb, source,
            arith::IndexCastOp::create(jb, i64, je.mul(head, rowBytes)));
        bulkReduce(
            jb, pieceAddress(je.add(qb, je.index(1)), je.index(0)),
            toI32(tailSource),
            arith::IndexCastOp::create(jb, i32, je.mul(shift, rowBytes)));
        scf::YieldOp::create(jb);
      });
  NVVM::CpAsyncBulkCommitGroupOp::create(ib);
}

void AtomicQueryTile::reduceChunk(ImplicitLocOpBuilder &b,
                                  ArrayRef<Value> tiles, int64_t j, Value i0) {
  GpuArith e{b};
  int64_t blocks = k.cfg.headDim / 64;
  int64_t mb = j / blocks, nc = j % blocks;
  int64_t columns = k.grad.dqPieceColumns;
  int64_t pieces = 64 / columns;
  Value rowStart = e.add(i0, e.index(64 * mb));
  for (int64_t piece = 0; piece < pieces; ++piece) {
    // A step has an even number of pieces (BackwardConfig): the buffer of
    // piece p of every step is p % 2. The buffer was last read by the
    // reduction of piece p - 2: at most one group (piece p - 1's) may
    // still be reading.
    int64_t p = j * pieces + piece;
    reducer.reducePiece(b, k, tiles.slice(piece * (columns / 8), columns / 8),
                        p % BackwardConfig::kDqStagingBuffers, rowStart,
                        e.index(64 * nc + columns * piece),
                        /*readsInFlight=*/1);
  }
}

void AtomicQueryTile::drain(ImplicitLocOpBuilder &b) { reducer.drain(b); }

void QueryPieceReducer::drain(ImplicitLocOpBuilder &b) const {
  emitIf(b, issuer, [&](ImplicitLocOpBuilder &ib) {
    NVVM::CpAsyncBulkWaitGroupOp::create(ib, 0, UnitAttr());
  });
}

void zeroQueryAccumulator(ImplicitLocOpBuilder &b, const BackwardContext &k,
                          Value accum, int64_t blocks) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  auto type = cast<MemRefType>(accum.getType());
  int64_t quads = type.getNumElements() / 4; // D is a multiple of 64
  int64_t threads = blocks * cfg.threads();
  Value flat = memref::CollapseShapeOp::create(
      b, accum, ArrayRef<ReassociationIndices>{{0, 1, 2, 3, 4, 5}});
  Value tid = e.add(
      e.mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
            e.index(cfg.threads())),
      e.add(e.mul(k.warp, e.index(32)), k.lane));
  auto quad = VectorType::get({4}, b.getF32Type());
  Value zeros =
      arith::ConstantOp::create(b, DenseElementsAttr::get(quad, 0.0f));
  scf::ForOp::create(
      b, e.index(0), e.index((quads + threads - 1) / threads), e.index(1),
      ValueRange{}, [&](OpBuilder &nb, Location l, Value n, ValueRange) {
        ImplicitLocOpBuilder ib(l, nb);
        GpuArith ie{ib};
        Value at = ie.add(tid, ie.mul(n, ie.index(threads)));
        scf::IfOp::create(ib, ie.cmp(P::slt, at, ie.index(quads)),
                          [&](OpBuilder &tb, Location tl) {
                            ImplicitLocOpBuilder jb(tl, tb);
                            GpuArith je{jb};
                            vector::StoreOp::create(
                                jb, zeros, flat,
                                ValueRange{je.mul(at, je.index(4))},
                                /*nontemporal=*/false, llvm::MaybeAlign(16));
                            scf::YieldOp::create(jb);
                          });
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
  Value tid = blockThread(b, k);
  Value chunk = e.add(e.mul(block, e.index(cfg.threads())), tid);
  Value col = e.mul(e.rem(chunk, e.index(chunksPerRow)), e.index(8));
  Value rowIdx = e.div(chunk, e.index(chunksPerRow));
  Value row = e.rem(rowIdx, e.index(cfg.queryLen));
  Value bh = e.div(rowIdx, e.index(cfg.queryLen));
  Value head = e.rem(bh, e.index(cfg.numQueryHeads));
  Value batch = e.div(bh, e.index(cfg.numQueryHeads));
  auto wide = VectorType::get({8}, b.getF32Type());
  auto narrow = VectorType::get({8}, cfg.elementType);
  emitIf(
      b, e.cmp(P::slt, chunk, e.index(chunks)), [&](ImplicitLocOpBuilder &ib) {
        GpuArith ie{ib};
        // The eight columns are one swizzled group of a piece row (the
        // layout of BackwardQueryAtomic.h).
        int64_t columns = grad.dqPieceColumns;
        Value x = ie.rem(row, ie.index(BackwardConfig::kDqBlockRows));
        Value h = pieceSwizzle(ie, x, columns);
        Value group = arith::XOrIOp::create(
            ib, ie.div(ie.rem(col, ie.index(columns)), ie.index(8)), h);
        Value sum = vector::LoadOp::create(
            ib, wide, accum,
            ValueRange{batch, head,
                       ie.div(row, ie.index(BackwardConfig::kDqBlockRows)),
                       ie.div(col, ie.index(columns)), x,
                       ie.mul(group, ie.index(8))},
            false, llvm::MaybeAlign(32));
        SmallVector<Value> at = {batch, head, row, col};
        Value scale = arith::ConstantOp::create(
            ib, DenseElementsAttr::get(wide, float(grad.scale)));
        Value scaled = arith::MulFOp::create(ib, sum, scale);
        vector::StoreOp::create(ib,
                                arith::TruncFOp::create(ib, narrow, scaled),
                                dest, at, false, llvm::MaybeAlign(16));
      });
  gpu::ReturnOp::create(b);
  return func;
}

} // namespace mlir::spa::gpu_kernel
