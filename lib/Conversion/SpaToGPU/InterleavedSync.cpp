//===- InterleavedSync.cpp - claims and flags of the interleaved kernel ---===//

#include "InterleavedSync.h"
#include "AsyncBarriers.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

static constexpr int64_t kFlagKeys = BackwardConfig::kScoreGradTile;

int64_t gradSyncElements(const KernelConfig &cfg) {
  return 1 + cfg.batch * cfg.numKvHeads *
                 ((cfg.keyLen + kFlagKeys - 1) / kFlagKeys);
}

/// grad_sync's element of key tile j0 of (k.batchIdx, k.kvHead).
static Value flagIndex(ImplicitLocOpBuilder &b, const BackwardContext &k,
                       Value j0) {
  const KernelConfig &cfg = k.grad.base;
  GpuArith e{b};
  int64_t keyTiles = (cfg.keyLen + kFlagKeys - 1) / kFlagKeys;
  Value pair = e.add(e.mul(k.batchIdx, e.index(cfg.numKvHeads)), k.kvHead);
  return e.add(e.index(1), e.add(e.mul(pair, e.index(keyTiles)),
                                 e.div(j0, e.index(kFlagKeys))));
}

static Value atomicAdd(ImplicitLocOpBuilder &b, Value buffer, Value index,
                       int32_t value) {
  Value amount = arith::ConstantIntOp::create(b, b.getI32Type(), value);
  return memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, amount,
                                     buffer, ValueRange{index})
      .getResult();
}

Value claimBlockEntry(ImplicitLocOpBuilder &b, const BackwardContext &k,
                      Value slot) {
  GpuArith e{b};
  onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
    Value entry = atomicAdd(ib, k.gradSync, GpuArith{ib}.index(0), 1);
    memref::StoreOp::create(ib, entry, slot, ValueRange{GpuArith{ib}.index(0)});
  });
  gpu::BarrierOp::create(b);
  Value entry = memref::LoadOp::create(b, slot, ValueRange{e.index(0)});
  return arith::IndexCastOp::create(b, b.getIndexType(), entry);
}

void publishKeyTile(ImplicitLocOpBuilder &b, const BackwardContext &k,
                    Value j0) {
  onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
    // Every earlier write of the block (ordered before this thread by the
    // caller's barrier) performed at GPU scope before the flag.
    NVVM::MembarOp::create(ib, NVVM::MemScopeKind::GPU);
    atomicAdd(ib, k.gradSync, flagIndex(ib, k, j0), 1);
  });
}

void awaitKeyTile(ImplicitLocOpBuilder &b, const BackwardContext &k, Value j0) {
  Value index = flagIndex(b, k, j0);
  Value zero = arith::ConstantIntOp::create(b, b.getI32Type(), 0);
  scf::WhileOp::create(
      b, TypeRange{}, ValueRange{},
      [&](OpBuilder &nb, Location l, ValueRange) {
        ImplicitLocOpBuilder wb(l, nb);
        Value flag = atomicAdd(wb, k.gradSync, index, 0);
        Value unset =
            arith::CmpIOp::create(wb, arith::CmpIPredicate::eq, flag, zero);
        scf::ConditionOp::create(wb, unset, ValueRange{});
      },
      [&](OpBuilder &nb, Location l, ValueRange) {
        ImplicitLocOpBuilder wb(l, nb);
        NVVM::NanosleepOp::create(
            wb, arith::ConstantIntOp::create(wb, wb.getI32Type(), 64));
        scf::YieldOp::create(wb);
      });
  // The bulk copies that follow (async proxy) read what the flag published.
  NVVM::FenceProxyOp::create(b, NVVM::ProxyKind::async_global,
                             NVVM::SharedSpaceAttr());
}

void zeroGradSync(ImplicitLocOpBuilder &b, const BackwardContext &k,
                  Value gradSync, int64_t blocks) {
  const KernelConfig &cfg = k.grad.base;
  GpuArith e{b};
  int64_t elements = gradSyncElements(cfg);
  int64_t threads = blocks * cfg.threads();
  Value first = e.add(e.mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                            e.index(cfg.threads())),
                      blockThread(b, k));
  Value zero = arith::ConstantIntOp::create(b, b.getI32Type(), 0);
  scf::ForOp::create(
      b, first, e.index(elements), e.index(threads), ValueRange{},
      [&](OpBuilder &nb, Location l, Value at, ValueRange) {
        memref::StoreOp::create(nb, l, zero, gradSync, ValueRange{at});
        scf::YieldOp::create(nb, l);
      });
}

} // namespace mlir::spa::gpu_kernel
