//===- WaveStagger.h - the forward's first wave, started apart --*- C++ -*-===//
//
// wave-stagger-ns (spa/Planning/WaveStagger.h has the why): the serial
// sm_90a forward runs one work item a block, three blocks an SM at D = 128.
// When the list begins with waves of equal items, the blocks sharing an SM
// start, wait for their first tiles and store their outputs together, item
// after item. Slot s of the first wave (block b, s = b / SMs) sleeps
// s * delay before its first item, which breaks that lockstep once.
//
// Three steps: which kernel takes it and with what parameters (options and
// config, before the work list), the plan on the work list (which also
// pins the kernel's blocks an SM, .minnctapersm, to the count the slots
// assume), and the sleep in the kernel.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_WAVESTAGGER_H
#define SPA_LIB_CONVERSION_SPATOGPU_WAVESTAGGER_H

#include "KernelConfig.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::spa::gpu_kernel {

/// The ns a 64-key tile auto takes: about an H100 SM's time for one at
/// head dim D (wave time / tiles a block / blocks an SM at the SPEC
/// shapes), D * 11 / 2. Measured (docs/benchmarks.md): at D = 128 the
/// headline's 9-tile items gain 4.5-5% from 5000 to 8000 ns a slot and
/// nothing at 2000, 3600 or 9000; at D = 64 (5 tiles) 2000 ns gains 4.8%,
/// 3500 2.1%.
inline int64_t autoWaveStaggerNsPerTile(const KernelConfig &cfg) {
  return cfg.headDim * 11 / 2;
}

/// Sets cfg.staggerParams from wave-stagger-ns for a resolved forward
/// config (after the schedule and blocks-per-sm): the serial wgmma kernel
/// with a static work list and no split keys takes it; auto only with one
/// interval a head where the blocks an SM are known, and asks for two
/// waves of equal items; an explicit value on any list. Fails (located)
/// for an explicit value on another kernel form, or where the blocks an
/// SM are unknown or 1.
LogicalResult resolveWaveStagger(AttentionOp op,
                                 const ConvertSpaToGPUOptions &options,
                                 KernelConfig &cfg);

/// Plans cfg.waveStagger on the op's cost-sorted work list; where enabled,
/// pins cfg.minBlocksPerSM to the blocks an SM the slots assume.
void planWaveStagger(const std::vector<::spa::plan::WorkItem> &list,
                     const ::spa::plan::BandTable &table, KernelConfig &cfg);

/// In the kernel, before block `block`'s first item: slot s in [1, blocks
/// an SM) of the first wave sleeps s * delay ns.
void emitWaveStagger(ImplicitLocOpBuilder &b, Value block,
                     const KernelConfig &cfg);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_WAVESTAGGER_H
