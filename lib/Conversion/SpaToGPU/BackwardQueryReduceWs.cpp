//===- BackwardQueryReduceWs.cpp - dQ fused into the ws dK/dV kernel ------===//
//
// The pieces BackwardQueryReduceWs.h describes: the exchange tiles of dS^T,
// the per-warpgroup dQ product and its reduction into dq_accum.
//
//===----------------------------------------------------------------------===//

#include "BackwardQueryReduceWs.h"
#include "AsyncBarriers.h"
#include "InlinePtx.h"
#include "KernelSkeleton.h"
#include "Wgmma.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

int64_t WarpSpecializedQueryTile::exchangeBytes() const {
  return k.grad.ownRows() * k.grad.streamRows() * 2;
}

void WarpSpecializedQueryTile::setupSharedMemory(ImplicitLocOpBuilder &b,
                                                 Value whole) {
  const BackwardConfig &grad = k.grad;
  assert(grad.atomicQuery && grad.warpSpecialized && grad.streamRows() == 64 &&
         grad.ownRows() == 128 &&
         (k.cfg.headDim == 64 || k.cfg.headDim == 128) &&
         grad.dqPieceColumns == 64 && "resolveBackwardSchedule admits this");
  GpuArith e{b};
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  // After the mainloop's tiles (a multiple of 1024 bytes, as the 128-byte
  // swizzle needs); the staging buffers after the exchange tiles.
  int64_t offset = grad.mainloopSharedBytes();
  exchangeTiles = memref::ViewOp::create(
      b,
      MemRefType::get({BackwardConfig::kWsScoreGradBuffers,
                       grad.streamRows() / 64, grad.ownRows(), 64},
                      k.cfg.elementType, MemRefLayoutAttrInterface(),
                      workgroup),
      whole, e.index(offset), ValueRange{});
  offset += BackwardConfig::kWsScoreGradBuffers * exchangeBytes();
  reducer = QueryPieceReducer(b, k, whole, offset, grad.ownRows() / 64,
                              BackwardConfig::kWsDqStagingBuffers,
                              kStagingBarrierBase, /*aligned=*/false);
}

void WarpSpecializedQueryTile::computeDescriptors(ImplicitLocOpBuilder &b,
                                                  Value ownKeyTile,
                                                  Value ownKeyDesc) {
  const BackwardConfig &grad = k.grad;
  Value warpgroup =
      arith::IndexCastOp::create(b, b.getI64Type(), reducer.warpgroup);
  auto times = [&](int64_t bytes) {
    return arith::MulIOp::create(b, warpgroup, i64Constant(b, bytes >> 4))
        .getResult();
  };
  exchangeDesc = descriptor(b, exchangeTiles, grad.ownRows());
  if (exchange()) {
    // A: all 128 keys of the tile; B: own K's column block w, keys 0..127.
    keyDesc =
        arith::AddIOp::create(b, descriptor(b, ownKeyTile, grad.ownRows()),
                              times(grad.ownRows() * 128));
    return;
  }
  // A: the warpgroup's 64 key rows; B: its 64 keys of own K.
  exchangeDesc = arith::AddIOp::create(b, exchangeDesc, times(64 * 128));
  keyDesc = ownKeyDesc;
}

Value WarpSpecializedQueryTile::inBuffer(ImplicitLocOpBuilder &b, Value desc,
                                         Value c) {
  GpuArith e{b};
  Value buffer = arith::IndexCastOp::create(
      b, b.getI64Type(),
      e.rem(c, e.index(BackwardConfig::kWsScoreGradBuffers)));
  return arith::AddIOp::create(
      b, desc,
      arith::MulIOp::create(b, buffer, i64Constant(b, exchangeBytes() >> 4)));
}

/// barrier.sync / barrier.arrive without .aligned: the exchange's and the
/// hand-off's barriers are reached from two places (a warpgroup that
/// multiplied and one that skipped), which bar.sync
/// (barrier.sync.aligned) does not allow. `id` is a constant or, with
/// `warpgroup`, base + warpgroup.
static void namedBarrier(ImplicitLocOpBuilder &b, StringRef op, int32_t id,
                         int32_t threads, Value warpgroup = Value()) {
  std::string count = ", " + std::to_string(threads) + ";";
  if (!warpgroup) {
    ptxStatement(b, ("barrier." + op + " " + std::to_string(id) + count).str());
    return;
  }
  GpuArith e{b};
  Value at = arith::IndexCastOp::create(b, b.getI32Type(),
                                        e.add(warpgroup, e.index(id)));
  LLVM::InlineAsmOp::create(b, TypeRange{}, ValueRange{at},
                            ("barrier." + op + " $0" + count).str(), "r", true,
                            false, LLVM::tailcallkind::TailCallKind::None,
                            LLVM::AsmDialectAttr(), ArrayAttr());
}

void WarpSpecializedQueryTile::stage(ImplicitLocOpBuilder &b,
                                     ArrayRef<Value> words, Value c) {
  GpuArith e{b};
  Value buffer = e.rem(c, e.index(BackwardConfig::kWsScoreGradBuffers));
  // Warp w's 16 keys are rows 16 w .. of the 128 (64 a warpgroup).
  auto pairType = VectorType::get({2}, k.cfg.elementType);
  auto wordType = VectorType::get({1}, b.getI32Type());
  Value zeros;
  if (words.empty())
    zeros = arith::ConstantOp::create(
        b, DenseElementsAttr::get(pairType, b.getZeroAttr(k.cfg.elementType)));
  auto pair = [&](int64_t nt, int64_t r) -> Value {
    // packAsA puts tile nt's row r in word 2 nt + r.
    if (words.empty())
      return zeros;
    return vector::BitCastOp::create(
        b, pairType,
        vector::BroadcastOp::create(b, wordType, words[2 * nt + r]));
  };
  storeTransposedScoreGrads(
      b, k, k.grad.streamRows() / 8, e.mul(k.warp, e.index(16)), pair,
      [&](Value mBlock, Value key, Value column) -> SmallVector<Value> {
        return {buffer, mBlock, key, column};
      },
      exchangeTiles);
  // Generic-proxy writes read by wgmma (async proxy).
  fenceSharedForAsyncProxy(b);
  if (exchange())
    namedBarrier(b, "sync", kExchangeBarrier, 256);
  else
    reducer.warpgroupBarrier(b);
}

BackwardMainloop::Issued
WarpSpecializedQueryTile::issue(ImplicitLocOpBuilder &b, Value c) {
  return {issueTransposedSharedProduct(b, k.cfg.elementType,
                                       inBuffer(b, exchangeDesc, c), keyDesc,
                                       /*kRows=*/exchange() ? 128 : 64),
          true};
}

Value WarpSpecializedQueryTile::pieceColumn(ImplicitLocOpBuilder &b,
                                            Value warpgroup) {
  GpuArith e{b};
  return exchange() ? e.mul(warpgroup, e.index(64)) : e.index(0);
}

void WarpSpecializedQueryTile::reduce(ImplicitLocOpBuilder &b,
                                      ArrayRef<Value> tiles, Value i0) {
  // The writer has finished reading the buffer (its previous piece).
  namedBarrier(b, "sync", kEmptyBarrierBase, kHandOffThreads,
               reducer.warpgroup);
  reducer.stagePiece(b, k, tiles, /*buffer=*/0, i0);
  // Generic-proxy writes read by the bulk copy engine (async proxy).
  fenceSharedForAsyncProxy(b);
  namedBarrier(b, "arrive", kFullBarrierBase, kHandOffThreads,
               reducer.warpgroup);
}

void WarpSpecializedQueryTile::writePieces(ImplicitLocOpBuilder &b, Value i0,
                                           ArrayRef<Value> writes) {
  GpuArith e{b};
  auto when = [&](Value write, function_ref<void(ImplicitLocOpBuilder &)> f) {
    emitIf(b, write, [&](ImplicitLocOpBuilder &ib) { f(ib); });
  };
  Value firstLane = e.cmp(P::eq, k.lane, e.index(0));
  // Both buffers are free (the last tile's reductions have read them)
  // before either piece is waited for, so that neither warpgroup waits
  // behind the other's piece.
  for (auto [w, write] : llvm::enumerate(writes))
    when(write, [&](ImplicitLocOpBuilder &ib) {
      namedBarrier(ib, "arrive", kEmptyBarrierBase + int32_t(w),
                   kHandOffThreads);
    });
  Value shift = e.rem(i0, e.index(BackwardConfig::kDqBlockRows));
  for (auto [w, write] : llvm::enumerate(writes))
    when(write, [&](ImplicitLocOpBuilder &ib) {
      namedBarrier(ib, "sync", kFullBarrierBase + int32_t(w), kHandOffThreads);
      GpuArith ie{ib};
      Value group = ie.index(int64_t(w));
      Value column = pieceColumn(ib, group);
      emitIf(ib, firstLane, [&](ImplicitLocOpBuilder &lb) {
        reducer.issuePiece(lb, k, group, /*buffer=*/0, i0, shift, column);
      });
    });
  emitIf(b, firstLane, [&](ImplicitLocOpBuilder &ib) {
    NVVM::CpAsyncBulkWaitGroupOp::create(ib, 0, ib.getUnitAttr());
  });
}

void WarpSpecializedQueryTile::drainWriter(ImplicitLocOpBuilder &b) {
  onLaneZero(b, k, [&](ImplicitLocOpBuilder &ib) {
    NVVM::CpAsyncBulkWaitGroupOp::create(ib, 0, UnitAttr());
  });
}

} // namespace mlir::spa::gpu_kernel
