//===- ScoreGradStore.cpp - the stored dS of score-grads = store ----------===//

#include "ScoreGradStore.h"
#include "AsyncBarriers.h"
#include "BackwardQueryAtomic.h"
#include "KernelSkeleton.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <algorithm>

using namespace mlir;

namespace mlir::spa::gpu_kernel {

constexpr int64_t kTile = BackwardConfig::kScoreGradTile;
/// One warp's 16 rows of a staged 64 x 64 dS^T tile (16-bit elements).
constexpr int64_t kWarpRowsBytes = 16 * kTile * 2;

MemRefType scoreGradType(OpBuilder &b, const BackwardConfig &grad) {
  // At least one tile: a forced store where no row reaches a key writes
  // and reads nothing, but the launcher refuses a null (empty) buffer.
  return MemRefType::get(
      {std::max<int64_t>(grad.scoreGradTiles(), 1), kTile * kTile},
      grad.base.elementType);
}

Value alignedRangeBegin(IndexArith &e, Value begin, Value end) {
  Value nonEmpty = e.cmp(arith::CmpIPredicate::slt, begin, end);
  // begin >= 0: the unsigned division rounds down.
  Value aligned = e.mul(e.div(begin, e.index(kTile)), e.index(kTile));
  return e.select(nonEmpty, aligned, begin);
}

std::pair<Value, Value> alignedQueryRange(KeyTileGeometry &geometry, Value lo,
                                          Value hi, int side) {
  auto [begin, end] = geometry.queryRange(lo, hi, side);
  return {alignedRangeBegin(geometry.e, begin, end), end};
}

Value scoreGradTileIndex(ImplicitLocOpBuilder &b, const BackwardContext &k,
                         Value head, Value slot, int side, Value j0, Value i0,
                         Value firstRow) {
  const BackwardConfig &grad = k.grad;
  const KernelConfig &cfg = grad.base;
  GpuArith e{b};
  if (grad.compactScoreGrads) {
    // One lookup: the range's slot base, plus the key tile.
    Value entry = memref::LoadOp::create(
        b, k.scoreGradSlots,
        ValueRange{head, e.div(i0, e.index(kTile)), slot,
                   e.index(cfg.bidirectional && side < 0 ? 1 : 0)});
    Value batchFirst =
        e.mul(k.batchIdx, e.index(grad.scoreGradBatchTiles));
    return e.add(e.add(batchFirst, e.toIndex(entry)),
                 e.div(j0, e.index(kTile)));
  }
  Value range = slot;
  if (cfg.bidirectional)
    range = e.add(e.mul(slot, e.index(2)), e.index(side < 0 ? 1 : 0));
  Value index = e.add(e.mul(k.batchIdx, e.index(cfg.numQueryHeads)), head);
  index = e.add(e.mul(index, e.index(grad.scoreGradRanges())), range);
  index = e.add(e.mul(index, e.index(grad.scoreGradKeyTiles())),
                e.div(j0, e.index(kTile)));
  return e.add(e.mul(index, e.index(grad.scoreGradQueryTiles)),
               e.div(e.sub(i0, firstRow), e.index(kTile)));
}

Value scoreGradTileAddress(ImplicitLocOpBuilder &b, Value scratch, Value tile) {
  Type i64 = b.getI64Type();
  Value base = arith::IndexCastOp::create(
      b, i64, memref::ExtractAlignedPointerAsIndexOp::create(b, scratch));
  Value offset =
      arith::MulIOp::create(b, arith::IndexCastOp::create(b, i64, tile),
                            arith::ConstantIntOp::create(
                                b, i64, BackwardConfig::kScoreGradTileBytes));
  return arith::AddIOp::create(b, base, offset);
}

/// A generic i64 address as a global pointer, a shared index as a shared
/// pointer.
static Value globalPointer(ImplicitLocOpBuilder &b, Value address) {
  MLIRContext *ctx = b.getContext();
  return LLVM::AddrSpaceCastOp::create(
      b, LLVM::LLVMPointerType::get(ctx, 1),
      LLVM::IntToPtrOp::create(b, LLVM::LLVMPointerType::get(ctx, 0), address));
}
static Value sharedPointer(ImplicitLocOpBuilder &b, Value address) {
  Value address64 = arith::IndexCastOp::create(b, b.getI64Type(), address);
  return LLVM::IntToPtrOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext(), 3), address64);
}

void bulkStoreShared(ImplicitLocOpBuilder &b, Value to, Value from,
                     int64_t bytes) {
  NVVM::CpAsyncBulkSharedCTAToGlobalOp::create(
      b, globalPointer(b, to), sharedPointer(b, from),
      arith::ConstantIntOp::create(b, b.getI32Type(), bytes),
      /*l2CacheHint=*/Value(), /*byteMask=*/Value());
  NVVM::CpAsyncBulkCommitGroupOp::create(b);
}

void bulkLoadShared(ImplicitLocOpBuilder &b, Value to, Value from,
                    Value barrier, int64_t bytes) {
  // The destination is shared::cluster (a lone CTA is a cluster of one),
  // address space 7 in MLIR 22, as for the TMA tile loads.
  Value destination = LLVM::AddrSpaceCastOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext(), 7), sharedPointer(b, to));
  NVVM::CpAsyncBulkGlobalToSharedClusterOp::create(
      b, destination, globalPointer(b, from), barrier,
      arith::ConstantIntOp::create(b, b.getI32Type(), bytes),
      /*multicastMask=*/Value(), /*l2CacheHint=*/Value());
}

void bulkPrefetchL2(ImplicitLocOpBuilder &b, Value from, int64_t bytes) {
  NVVM::CpAsyncBulkPrefetchOp::create(
      b, globalPointer(b, from),
      arith::ConstantIntOp::create(b, b.getI32Type(), bytes),
      /*l2CacheHint=*/Value());
}

void ScoreGradWriter::setupSharedMemory(ImplicitLocOpBuilder &b) {
  const BackwardConfig &grad = k.grad;
  GpuArith e{b};
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto type = MemRefType::get({BackwardConfig::kScoreGradStagingBuffers,
                               grad.streamRows() / 64, grad.ownRows(), 64},
                              k.cfg.elementType, MemRefLayoutAttrInterface(),
                              workgroup);
  // After the mainloop's tiles (a multiple of 1024 bytes, as the 128-byte
  // swizzle needs).
  Value whole = dynamicSharedBytes(b, grad.sharedBytes());
  staging = memref::ViewOp::create(
      b, type, whole,
      e.index(grad.mainloopSharedBytes() + grad.atomicQuerySharedBytes()),
      ValueRange{});
  written = memref::AllocaOp::create(b, MemRefType::get({}, b.getI32Type()));
  memref::StoreOp::create(b, arith::ConstantIntOp::create(b, b.getI32Type(), 0),
                          written);
}

void ScoreGradWriter::write(ImplicitLocOpBuilder &b,
                            ArrayRef<Value> scoreGradsT,
                            function_ref<Value(ImplicitLocOpBuilder &)> tile) {
  GpuArith e{b};
  Value count = memref::LoadOp::create(b, written);
  Value buffer = e.rem(e.toIndex(count),
                       e.index(BackwardConfig::kScoreGradStagingBuffers));
  memref::StoreOp::create(
      b,
      arith::AddIOp::create(b, count,
                            arith::ConstantIntOp::create(b, b.getI32Type(), 1)),
      written);
  // Keys 16 w + g (+ 8) of the warpgroup's 64 (warps = 4).
  storeRoundedScoreGradsT(b, k, scoreGradsT, e.mul(k.warp, e.index(16)),
                          ValueRange{buffer}, staging);
  // Generic-proxy writes read by the bulk copy engine (async proxy).
  fenceSharedForAsyncProxy(b);
  auto copy = [&](ImplicitLocOpBuilder &ib, Value firstByte, int64_t bytes) {
    GpuArith ie{ib};
    Value index = tile(ib);
    Value from = ie.add(
        memref::ExtractAlignedPointerAsIndexOp::create(ib, staging),
        ie.add(ie.mul(buffer, ie.index(BackwardConfig::kScoreGradTileBytes)),
               firstByte));
    Value to = arith::AddIOp::create(
        ib, scoreGradTileAddress(ib, k.scoreGrad, index),
        arith::IndexCastOp::create(ib, ib.getI64Type(), firstByte));
    bulkStoreShared(ib, to, from, bytes);
  };
  if (k.grad.scoreGradWarpStores) {
    // The warp's 16 key rows are 2048 contiguous bytes of the tile (two
    // whole swizzle atoms), stored as they sit: once its own lanes' writes
    // are fenced, the warp needs nobody else's.
    NVVM::SyncWarpOp::create(
        b, arith::ConstantIntOp::create(b, b.getI32Type(), -1));
    onLaneZero(b, k, [&](ImplicitLocOpBuilder &ib) {
      GpuArith ie{ib};
      copy(ib, ie.mul(k.warp, ie.index(kWarpRowsBytes)), kWarpRowsBytes);
    });
    return;
  }
  // Every warp's rows are in the tile before thread 0 copies it whole.
  gpu::BarrierOp::create(b);
  onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
    copy(ib, GpuArith{ib}.index(0), BackwardConfig::kScoreGradTileBytes);
  });
}

/// `body` on the thread that issues this kernel's dS copies: lane 0 of
/// every warp with score-grad-warp-stores (bulk groups are per thread),
/// thread 0 otherwise.
void ScoreGradWriter::onIssuingThreads(
    ImplicitLocOpBuilder &b, function_ref<void(ImplicitLocOpBuilder &)> body) {
  if (k.grad.scoreGradWarpStores)
    return onLaneZero(b, k, body);
  onFirstThread(b, k, body);
}

void ScoreGradWriter::release(ImplicitLocOpBuilder &b) {
  // The newest copy may still read its buffer: the next tile writes the
  // other one.
  onIssuingThreads(b, [&](ImplicitLocOpBuilder &ib) {
    NVVM::CpAsyncBulkWaitGroupOp::create(
        ib, BackwardConfig::kScoreGradStagingBuffers - 1, ib.getUnitAttr());
  });
}

void ScoreGradWriter::drain(ImplicitLocOpBuilder &b) {
  onIssuingThreads(b, [&](ImplicitLocOpBuilder &ib) {
    NVVM::CpAsyncBulkWaitGroupOp::create(ib, 0, UnitAttr());
    // interleaved-dq: other blocks read these tiles once the item's flag
    // is set (InterleavedSync.h): the async proxy's writes, complete now,
    // ordered before the generic proxy's barrier and flag.
    if (k.gradSync)
      NVVM::FenceProxyOp::create(ib, NVVM::ProxyKind::async_global,
                                 NVVM::SharedSpaceAttr());
  });
}

} // namespace mlir::spa::gpu_kernel
