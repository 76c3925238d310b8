//===- WaveStagger.cpp - the forward's first wave, started apart ----------===//
//
// Implementation of WaveStagger.h.
//
//===----------------------------------------------------------------------===//

#include "WaveStagger.h"
#include "KernelContext.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <string>

using namespace mlir;
namespace plan = ::spa::plan;

namespace mlir::spa::gpu_kernel {
namespace {

/// The blocks an SM of the configurations whose occupancy was read from
/// ptxas (H100, 2026-12-06): the serial kernel with TMA, 4 warps, tile-k
/// 64 and 16-bit operands takes 149-151 registers at D = Dv = 128 with one
/// K and one V buffer (3 blocks; 48 KiB of shared memory each) and 95 at
/// D = Dv = 64 with one or two (5 blocks by registers; at most 41 KiB
/// each, 5 fit an SM); 0 elsewhere.
int64_t knownBlocksPerSM(const KernelConfig &cfg) {
  if (!cfg.wgmma || !cfg.tensorMaps || cfg.overlap || cfg.warpSpecialized ||
      cfg.warps != 4 || cfg.tileK != 64 ||
      cfg.elementType.getIntOrFloatBitWidth() != 16 ||
      cfg.headDim != cfg.valueDim)
    return 0;
  if (cfg.headDim == 128 && cfg.stages == 1)
    return 3;
  if (cfg.headDim == 64 && cfg.stages <= 2)
    return 5;
  return 0;
}

/// Why `cfg` has no first wave of one-item blocks to stagger, or "".
std::string whyNoFirstWave(const KernelConfig &cfg) {
  if (!cfg.wgmma)
    return "the mma.sync kernel";
  if (cfg.persistent())
    return "the persistent warp-specialised schedule";
  if (cfg.overlap)
    return "forward-schedule = overlap";
  if (cfg.dynamicLengths)
    return "run-time lengths (no static work list)";
  if (cfg.splitKeys != 1)
    return "split-keys = " + std::to_string(cfg.splitKeys);
  return "";
}

} // namespace

LogicalResult resolveWaveStagger(AttentionOp op,
                                 const ConvertSpaToGPUOptions &options,
                                 KernelConfig &cfg) {
  int64_t request = options.waveStaggerNs;
  if (request == -1)
    return success();
  // The serial wgmma kernel, one work item a block from a static list: the
  // slots are block indices.
  std::string missing = whyNoFirstWave(cfg);
  int64_t known = knownBlocksPerSM(cfg);
  int64_t blocks = cfg.minBlocksPerSM > 0 ? cfg.minBlocksPerSM : known;
  if (request == 0) {
    // Auto: where measured (one interval a head: exclusive_equal's equal
    // items), at the occupancy measured.
    if (missing.empty() && known > 0 && blocks == known && cfg.slots == 1)
      cfg.staggerParams = {kStreamingMultiprocessors, blocks,
                           autoWaveStaggerNsPerTile(cfg),
                           /*minEqualWaves=*/2};
    return success();
  }
  if (!missing.empty())
    return op.emitOpError("wave-stagger-ns = ")
           << request
           << " applies to the serial sm_90a kernel (one work item a block "
              "from a static work list, split-keys = 1); got "
           << missing << "; use wave-stagger-ns = 0 (auto) or -1 (off)";
  if (blocks == 0)
    return op.emitOpError("wave-stagger-ns = ")
           << request
           << " needs the blocks an SM of the first wave: set blocks-per-sm "
              "(known without it only for the serial kernel with TMA, 4 "
              "warps, tile-k 64, 16-bit operands and D = Dv = 128 at stages "
              "1 or D = Dv = 64 at stages 1 or 2); got tma = "
           << (cfg.tensorMaps ? "true" : "false") << ", warps = " << cfg.warps
           << ", tile-k = " << cfg.tileK << ", stages = " << cfg.stages << ", "
           << cfg.elementType.getIntOrFloatBitWidth()
           << "-bit operands, D = " << cfg.headDim << ", Dv = " << cfg.valueDim;
  if (blocks < 2)
    return op.emitOpError("wave-stagger-ns = ")
           << request
           << " staggers the blocks that share an SM; blocks-per-sm = 1 "
              "leaves none to stagger; use blocks-per-sm >= 2 or "
              "wave-stagger-ns = -1";
  cfg.staggerParams = {kStreamingMultiprocessors, blocks, request,
                       /*minEqualWaves=*/0};
  return success();
}

void planWaveStagger(const std::vector<plan::WorkItem> &list,
                     const plan::BandTable &table, KernelConfig &cfg) {
  if (cfg.staggerParams.blocksPerSM == 0)
    return;
  cfg.waveStagger = plan::planWaveStagger(list, table, cfg.queryLen, cfg.keyLen,
                                          cfg.tileShape(), cfg.staggerParams);
  if (cfg.waveStagger.enabled())
    cfg.minBlocksPerSM = cfg.waveStagger.blocksPerSM;
}

void emitWaveStagger(ImplicitLocOpBuilder &b, Value block,
                     const KernelConfig &cfg) {
  const plan::WaveStagger &stagger = cfg.waveStagger;
  if (!stagger.enabled())
    return;
  GpuArith e{b};
  Value slot = e.div(block, e.index(stagger.numSMs));
  Value late = e.andi(e.cmp(P::sge, slot, e.index(1)),
                      e.cmp(P::slt, slot, e.index(stagger.blocksPerSM)));
  scf::IfOp::create(b, late, [&](OpBuilder &nb, Location loc) {
    ImplicitLocOpBuilder ib(loc, nb);
    GpuArith ie{ib};
    // At most (blocksPerSM - 1) * delay <= nanosleep's 1 ms: fits an i32.
    Value ns = arith::IndexCastOp::create(
        ib, ib.getI32Type(), ie.mul(slot, ie.index(stagger.slotDelayNs)));
    NVVM::NanosleepOp::create(ib, ns);
    scf::YieldOp::create(ib);
  });
}

} // namespace mlir::spa::gpu_kernel
