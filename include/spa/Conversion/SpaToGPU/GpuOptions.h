//===- GpuOptions.h - enums of the GPU kernel options -----------*- C++ -*-===//
//
// Value types of `convert-spa-to-gpu`'s options. The options themselves are
// declared once, in spa/Conversion/Passes.td (the generated
// `ConvertSpaToGPUOptions` struct is the typed form every front end fills).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_CONVERSION_SPATOGPU_GPUOPTIONS_H
#define SPA_CONVERSION_SPATOGPU_GPUOPTIONS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"

namespace mlir::spa {

/// Which tensor-core instructions the generated kernel uses.
enum class MmaKind {
  Auto,    ///< wgmma where the chip and shape allow, else mma.sync
  MmaSync, ///< ldmatrix + mma.sync (sm_80 and later; tf32 for f32)
  Wgmma,   ///< cp.async + wgmma (sm_90a, f16/bf16)
};

/// The spelling in options and launch metadata ("auto", "mma.sync",
/// "wgmma").
llvm::StringRef stringifyMmaKind(MmaKind kind);

/// How the sm_90a dK/dV kernel of a gradient op is scheduled.
enum class BackwardSchedule {
  Auto,            ///< warp-specialised where it applies, else classic
  WarpSpecialized, ///< a TMA producer warp and two consumer warpgroups
  Classic,         ///< every warp computes; block barriers around the ring
};

/// Where the dQ kernel of a gradient op takes dS from.
enum class ScoreGrads {
  Auto,      ///< store where it applies and measured faster, else recompute
  Recompute, ///< it recomputes S and dP per tile pair (three products a tile)
  Store,     ///< the dK/dV kernel stores each tile pair's dS in a scratch
             ///< and the dQ kernel runs one product a tile over it
};

/// How the scratch of the stored dS (score-grads = store) is laid out.
enum class ScoreGradLayout {
  Auto,    ///< the layout measured on the GPU (padded until compact is)
  Padded,  ///< every (head, interval, side, key tile) gets the most query
           ///< tiles any key tile's walk has: a closed form, no table
  Compact, ///< only the visited tile pairs, found through a table of slot
           ///< bases per (head, query tile, interval, side)
};

/// An option whose default depends on the kernel or the chip: `auto` turns
/// it on where it was measured faster, `true` asks for it (an error where
/// it cannot be had), `false` turns it off. Used by shared-stream-lse,
/// shared-stream-delta and programmatic-launch.
enum class AutoToggle {
  Auto, ///< the option's own rule (its values list says which)
  On,   ///< "true"
  Off,  ///< "false"
};

/// The values of both staged-statistic options (shared-stream-lse,
/// shared-stream-delta: whether the classic wgmma dK/dV kernel takes one
/// statistic of its query rows through shared memory, a copy a tile ahead,
/// or by a global load a tile), for the pass (Passes.td) and the pipelines
/// (Pipelines.h): one list, so their spellings and help cannot drift apart.
inline llvm::cl::ValuesClass stagedStreamStatValues() {
  return llvm::cl::values(
      clEnumValN(AutoToggle::Auto, "auto",
                 "where the classic wgmma dK/dV kernel is generated and "
                 "stores dS or recomputes at D = Dv = 128 (deterministic, "
                 "warps 4, tile-k 64), and the bytes cost no block an SM"),
      clEnumValN(AutoToggle::On, "true",
                 "always; an error where that kernel is not the one "
                 "generated (mma.sync, backward-schedule = ws)"),
      clEnumValN(AutoToggle::Off, "false", "a global load a tile"));
}

/// The values of zero-tail-with-items (who writes the zero rows of a work
/// list's tail), for the pass and the pipelines.
inline llvm::cl::ValuesClass zeroTailWithItemsValues() {
  return llvm::cl::values(
      clEnumValN(AutoToggle::Auto, "auto",
                 "blocks of its own, until the form below is measured on a "
                 "GPU (docs/benchmarks.md)"),
      clEnumValN(AutoToggle::On, "true",
                 "the blocks of the items with keys, in the kernels that "
                 "run one item a block; an error with zero-tail-items > 1"),
      clEnumValN(AutoToggle::Off, "false",
                 "blocks of their own after the items with keys "
                 "(zero-tail-items a block)"));
}

/// The values of zero-tail-spread (where the zero tail's own blocks sit in
/// the launch order), for the pass and the pipelines.
inline llvm::cl::ValuesClass zeroTailSpreadValues() {
  return llvm::cl::values(
      clEnumValN(AutoToggle::Auto, "auto",
                 "last, until the spread order is measured on a GPU "
                 "(docs/benchmarks.md)"),
      clEnumValN(AutoToggle::On, "true",
                 "spread evenly among the blocks of the items with keys "
                 "after the first wave; an error with "
                 "zero-tail-with-items = true"),
      clEnumValN(AutoToggle::Off, "false",
                 "last: after every block of the items with keys"));
}

/// The values of programmatic-launch, for the pass and the pipelines.
inline llvm::cl::ValuesClass programmaticLaunchValues() {
  return llvm::cl::values(
      clEnumValN(AutoToggle::Auto, "auto",
                 "on for chip sm_90a (measured faster there, "
                 "docs/benchmarks.md), off for the other chips"),
      clEnumValN(AutoToggle::On, "true",
                 "on; an error below sm_90 (no griddepcontrol)"),
      clEnumValN(AutoToggle::Off, "false",
                 "off: plain launches, no griddepcontrol"));
}

/// How the sm_90a forward kernel orders its key tiles' products (spelled
/// as in the options by stringifyForwardSchedule).
enum class ForwardSchedule {
  Auto,    ///< the schedule measured fastest for the shape
  Overlap, ///< S of tile t issued with P V of tile t - 1 (FlashAttention-3's
           ///< in-warpgroup overlap; wgmma, TMA, a ring of >= 2 stages)
  Serial,  ///< each tile's products one after the other
  WarpSpecialized, ///< a TMA producer warp feeding the consumer warpgroups
                   ///< through a K/V ring on mbarriers (no block barrier)
  WarpSpecializedOverlap,  ///< both: the producer warp, and the consumers'
                           ///< S of tile t issued with P V of tile t - 1
  WarpSpecializedPingPong, ///< WarpSpecializedOverlap with two consumer
                           ///< warpgroups taking turns to issue their
                           ///< products (FlashAttention-3's ping-pong: one's
                           ///< softmax runs under the other's wgmma)
};

/// The option's spelling of `schedule` ("auto", "overlap", "serial", "ws",
/// "ws-overlap", "ws-pingpong").
llvm::StringRef stringifyForwardSchedule(ForwardSchedule schedule);

} // namespace mlir::spa

/// Every field of the generated `ConvertSpaToGPUOptions` (Passes.td), for
/// the holders of the same options that fill the struct (the pass itself,
/// the pipelines' options): `X(field)` once per field, so that an option
/// added to Passes.td and here reaches the kernels from every front end
/// (a copy missed in one of two hand-written lists once left an option
/// silently ignored by the pass).
#define SPA_GPU_KERNEL_OPTION_FIELDS(X)                                        \
  X(warps)                                                                     \
  X(tileK)                                                                     \
  X(mma)                                                                       \
  X(stages)                                                                    \
  X(chip)                                                                      \
  X(deterministic)                                                             \
  X(tma)                                                                       \
  X(tmaStores)                                                                 \
  X(backwardSchedule)                                                          \
  X(scoreGrads)                                                                \
  X(forwardSchedule)                                                           \
  X(splitKeys)                                                                 \
  X(blocksPerSM)                                                               \
  X(storedDqRows)                                                              \
  X(scoreGradPrefetch)                                                         \
  X(scoreGradWarpStores)                                                       \
  X(interleavedDq)                                                             \
  X(interleavedDqLag)                                                          \
  X(interleavedDqStages)                                                       \
  X(stmatrixStaging)                                                           \
  X(successorPrefetch)                                                         \
  X(sharedStreamLse)                                                           \
  X(sharedStreamDelta)                                                         \
  X(zeroTailItems)                                                             \
  X(zeroTailWithItems)                                                         \
  X(zeroTailSpread)                                                            \
  X(waveStaggerNs)                                                             \
  X(programmaticLaunch)                                                        \
  X(scoreGradLayout)

#endif // SPA_CONVERSION_SPATOGPU_GPUOPTIONS_H
