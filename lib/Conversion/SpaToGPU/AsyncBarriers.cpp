//===- AsyncBarriers.cpp - mbarriers in dynamic shared memory -------------===//

#include "AsyncBarriers.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

Value sharedBarrier(ImplicitLocOpBuilder &b, Value dynamicShared,
                    int64_t offset) {
  assert(offset % 8 == 0 && "an mbarrier is 8-byte aligned");
  Value base = arith::IndexCastOp::create(
      b, b.getI64Type(),
      memref::ExtractAlignedPointerAsIndexOp::create(b, dynamicShared));
  Value address = arith::AddIOp::create(
      b, base, arith::ConstantIntOp::create(b, b.getI64Type(), offset));
  return LLVM::IntToPtrOp::create(
      b, LLVM::LLVMPointerType::get(b.getContext(), /*addressSpace=*/3),
      address);
}

void initBarrier(ImplicitLocOpBuilder &b, Value barrier, int32_t arrivals) {
  NVVM::MBarrierInitOp::create(
      b, barrier, arith::ConstantIntOp::create(b, b.getI32Type(), arrivals),
      /*predicate=*/Value());
}

void fenceBarrierInit(ImplicitLocOpBuilder &b) {
  NVVM::FenceMbarrierInitOp::create(b);
}

void fenceSharedForAsyncProxy(ImplicitLocOpBuilder &b) {
  NVVM::FenceProxyOp::create(
      b, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(b.getContext(),
                                 NVVM::SharedSpace::shared_cta));
}

void arriveExpectingBytes(ImplicitLocOpBuilder &b, Value barrier,
                          int64_t bytes) {
  assert(bytes > 0 && bytes < (1 << 20) && "the tx-count range of PTX");
  NVVM::MBarrierArriveExpectTxOp::create(
      b, /*res=*/Type(), barrier,
      arith::ConstantIntOp::create(b, b.getI32Type(), bytes),
      NVVM::MemScopeKind::CTA, /*relaxed=*/false, /*predicate=*/Value());
}

void arriveExpectingBytes(ImplicitLocOpBuilder &b, Value barrier, Value bytes) {
  NVVM::MBarrierArriveExpectTxOp::create(
      b, /*res=*/Type(), barrier,
      arith::IndexCastOp::create(b, b.getI32Type(), bytes),
      NVVM::MemScopeKind::CTA, /*relaxed=*/false, /*predicate=*/Value());
}

void arriveBarrier(ImplicitLocOpBuilder &b, Value barrier) {
  NVVM::MBarrierArriveOp::create(b, /*res=*/Type(), barrier, /*count=*/Value());
}

void waitBarrier(ImplicitLocOpBuilder &b, Value barrier, Value parity) {
  // The op retries until the phase completes; the tick count only bounds
  // each try's suspension (CUTLASS's value).
  NVVM::MBarrierTryWaitParityOp::create(
      b, barrier, parity,
      arith::ConstantIntOp::create(b, b.getI32Type(), 0x989680));
}

void waitFirstPhaseAfterInit(ImplicitLocOpBuilder &b, Value barrier) {
  gpu::BarrierOp::create(b);
  waitBarrier(b, barrier, arith::ConstantIntOp::create(b, b.getI32Type(), 0));
}

void onFirstThread(ImplicitLocOpBuilder &b, const KernelContext &k,
                   function_ref<void(ImplicitLocOpBuilder &)> body,
                   Value when) {
  GpuArith e{b};
  Value first = e.andi(e.cmp(P::eq, k.warp, e.index(0)),
                       e.cmp(P::eq, k.lane, e.index(0)));
  if (when)
    first = e.andi(when, first);
  emitIf(b, first, body);
}

void onLaneZero(ImplicitLocOpBuilder &b, const KernelContext &k,
                function_ref<void(ImplicitLocOpBuilder &)> body) {
  GpuArith e{b};
  emitIf(b, e.cmp(P::eq, k.lane, e.index(0)), body);
}

TileRing::TileRing(ImplicitLocOpBuilder &b, int64_t stages)
    : stages(stages) {
  count = memref::AllocaOp::create(b, MemRefType::get({}, b.getI32Type()));
  memref::StoreOp::create(b, arith::ConstantIntOp::create(b, b.getI32Type(), 0),
                          count);
}

Value TileRing::taken(ImplicitLocOpBuilder &b) const {
  return GpuArith{b}.toIndex(memref::LoadOp::create(b, count));
}

void TileRing::take(ImplicitLocOpBuilder &b, Value c) const {
  GpuArith e{b};
  memref::StoreOp::create(
      b, arith::IndexCastOp::create(b, b.getI32Type(), e.add(c, e.index(1))),
      count);
}

void TileRing::waitFor(ImplicitLocOpBuilder &b, Value barriers,
                       Value c) const {
  GpuArith e{b};
  Value parity = arith::IndexCastOp::create(
      b, b.getI32Type(), e.rem(e.div(c, e.index(stages)), e.index(2)));
  waitBarrier(b, barrierAt(b, barriers, buffer(b, c)), parity);
}

void TileRing::waitForRelease(ImplicitLocOpBuilder &b, Value releases,
                              Value c) const {
  GpuArith e{b};
  Value parity = arith::IndexCastOp::create(
      b, b.getI32Type(),
      e.rem(e.add(e.div(c, e.index(stages)), e.index(1)), e.index(2)));
  waitBarrier(b, barrierAt(b, releases, buffer(b, c)), parity);
}

Value TileRing::buffer(ImplicitLocOpBuilder &b, Value c) const {
  GpuArith e{b};
  return e.rem(c, e.index(stages));
}

Value barrierAt(ImplicitLocOpBuilder &b, Value first, Value index) {
  Type i64 = b.getI64Type();
  Value address = arith::AddIOp::create(
      b, LLVM::PtrToIntOp::create(b, i64, first),
      arith::MulIOp::create(b, arith::IndexCastOp::create(b, i64, index),
                            arith::ConstantIntOp::create(b, i64, 8)));
  return LLVM::IntToPtrOp::create(b, first.getType(), address);
}

} // namespace mlir::spa::gpu_kernel
