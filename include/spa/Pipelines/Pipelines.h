//===- Pipelines.h - registered spa pass pipelines --------------*- C++ -*-===//
//
// The two pipelines every front end compiles with (spa-opt, spa-run,
// spa-cuda-compile, the Python bindings), built by adding passes with typed
// options as upstream's gpu-lower-to-nvvm-pipeline does. Their options
// structs are the one typed description of what a user can set: tools parse
// their flags into them (`parseGpuPipelineOptions`), Python passes its
// keyword arguments as the same option text.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PIPELINES_PIPELINES_H
#define SPA_PIPELINES_PIPELINES_H

#include "spa/Conversion/SpaToGPU/SpaToGPU.h"
#include "spa/Dialect/Spa/Transforms/PolicyOption.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir::spa {

/// Options of `spa-to-llvm-cpu`.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  PassOptions::Option<PolicyOverride> policy{
      *this, "policy",
      llvm::cl::desc("Override every op's band policy (see -spa-balance-bands)")};
  PassOptions::Option<int64_t> tileQ{
      *this, "tile-q", llvm::cl::desc("Query rows per work item"),
      llvm::cl::init(32)};
  PassOptions::Option<int64_t> tileK{
      *this, "tile-k", llvm::cl::desc("Key columns per inner tile"),
      llvm::cl::init(64)};
  PassOptions::Option<bool> staticTiles{
      *this, "static-tiles",
      llvm::cl::desc("convert-spa-to-linalg's static-tile form (the one "
                     "spa.iree gives IREE), here to test it on the JIT"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> vectorLanes{
      *this, "vector-lanes",
      llvm::cl::desc("f32 lanes of the vector form of spa.attention and "
                     "spa.attention_grad (query rows or keys per work item, "
                     "per block; tile-q and tile-k then only shape the band "
                     "plan): -1 = from the host CPU (16 with AVX-512F, 8 "
                     "with AVX2 or AVX, else 4), 0 = the scalar linalg form, "
                     "else a power of two from 2 to 64"),
      llvm::cl::init(-1)};
  PassOptions::Option<unsigned> threads{
      *this, "threads",
      llvm::cl::desc("Threads running spa.attention's work items (OpenMP, "
                     "vector form): 0 = the OpenMP runtime's default "
                     "(OMP_NUM_THREADS, else every core), 1 = no OpenMP"),
      llvm::cl::init(0)};

  /// vector-lanes with -1 resolved for the host CPU.
  int64_t resolvedVectorLanes() const;
};

/// Options of `spa-to-nvvm`: the kernel options of `convert-spa-to-gpu`
/// plus what the pipeline around it needs.
struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  PassOptions::Option<PolicyOverride> policy{
      *this, "policy",
      llvm::cl::desc("Override every op's band policy (see -spa-balance-bands)")};
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("Target GPU (sm_90a, sm_80, ...)"),
      llvm::cl::init("sm_90a")};
  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<int64_t> warps{
      *this, "warps",
      llvm::cl::desc("Warps per block (16 query rows each): 1, 2, 4, 8"),
      llvm::cl::init(4)};
  PassOptions::Option<int64_t> tileK{
      *this, "tile-k", llvm::cl::desc("Keys per key tile: 16, 32, 64, 128"),
      llvm::cl::init(64)};
  PassOptions::Option<MmaKind> mma{
      *this, "mma", llvm::cl::desc("Matrix instructions"),
      llvm::cl::init(MmaKind::Auto),
      llvm::cl::values(
          clEnumValN(MmaKind::Auto, "auto",
                     "wgmma where chip and shape allow, else mma.sync"),
          clEnumValN(MmaKind::MmaSync, "mma.sync", "any sm_80+"),
          clEnumValN(MmaKind::Wgmma, "wgmma", "sm_90a, f16/bf16"))};
  PassOptions::Option<int64_t> stages{
      *this, "stages",
      llvm::cl::desc("wgmma kernel: K/V tile buffers (1 to 4; 0: auto)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> deterministic{
      *this, "deterministic",
      llvm::cl::desc("Gradient ops: false adds dQ by f32 atomics from the "
                     "dK/dV kernel (wgmma only; not bitwise reproducible)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> tma{
      *this, "tma",
      llvm::cl::desc("wgmma kernels (forward and backward): tiles by TMA "
                     "from tensor maps encoded per call (false: cp.async)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> tmaStores{
      *this, "tma-stores",
      llvm::cl::desc("wgmma kernels with staged epilogues: rows out by TMA "
                     "bulk tensor stores (false: 16-byte row stores)"),
      llvm::cl::init(true)};
  PassOptions::Option<BackwardSchedule> backwardSchedule{
      *this, "backward-schedule",
      llvm::cl::desc("Gradient ops on sm_90a: the dK/dV kernel's schedule"),
      llvm::cl::init(BackwardSchedule::Auto),
      llvm::cl::values(
          clEnumValN(BackwardSchedule::Auto, "auto",
                     "warp-specialised where it applies, else classic"),
          clEnumValN(BackwardSchedule::WarpSpecialized, "ws",
                     "TMA producer warp + two consumer warpgroups"),
          clEnumValN(BackwardSchedule::Classic, "classic",
                     "every warp computes"))};
  PassOptions::Option<ScoreGrads> scoreGrads{
      *this, "score-grads",
      llvm::cl::desc("Gradient ops: where the dQ kernel takes dS from"),
      llvm::cl::init(ScoreGrads::Auto),
      llvm::cl::values(
          clEnumValN(ScoreGrads::Auto, "auto",
                     "store where it applies and measured faster"),
          clEnumValN(ScoreGrads::Recompute, "recompute",
                     "the dQ kernel recomputes S and dP"),
          clEnumValN(ScoreGrads::Store, "store",
                     "the dK/dV kernel stores dS; dQ is one product"))};
  PassOptions::Option<int64_t> storedDqRows{
      *this, "stored-dq-rows",
      llvm::cl::desc("Gradient ops with score-grads = store: query rows of "
                     "a dq_stored work item, 64 or 128 (0: auto)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> successorPrefetch{
      *this, "successor-prefetch",
      llvm::cl::desc("Attention and gradient ops on sm_90a: work items "
                     "ahead whose own tiles each block sends to L2 (0: "
                     "off)"),
      llvm::cl::init(0)};
  PassOptions::Option<AutoToggle> sharedStreamLse{
      *this, "shared-stream-lse",
      llvm::cl::desc("Gradient ops, classic wgmma dK/dV kernel: each query "
                     "tile's lse into shared memory with the tile"),
      llvm::cl::init(AutoToggle::Auto), stagedStreamStatValues()};
  PassOptions::Option<int64_t> zeroTailItems{
      *this, "zero-tail-items",
      llvm::cl::desc("Attention and gradient ops: zero-tail work items a "
                     "block writes (0: auto, 1: one each, at most 64)"),
      llvm::cl::init(0)};
  PassOptions::Option<AutoToggle> zeroTailWithItems{
      *this, "zero-tail-with-items",
      llvm::cl::desc("Attention and gradient ops, one item a block: the "
                     "zero tail's rows written by the blocks of the items "
                     "with keys"),
      llvm::cl::init(AutoToggle::Auto), zeroTailWithItemsValues()};
  PassOptions::Option<AutoToggle> zeroTailSpread{
      *this, "zero-tail-spread",
      llvm::cl::desc("Attention and gradient ops, one item a block: the "
                     "zero tail's own blocks spread among the blocks of "
                     "the items with keys instead of last"),
      llvm::cl::init(AutoToggle::Auto), zeroTailSpreadValues()};
  PassOptions::Option<AutoToggle> sharedStreamDelta{
      *this, "shared-stream-delta",
      llvm::cl::desc("Gradient ops, classic wgmma dK/dV kernel: each query "
                     "tile's Delta into shared memory with the tile"),
      llvm::cl::init(AutoToggle::Auto), stagedStreamStatValues()};
  PassOptions::Option<int64_t> scoreGradPrefetch{
      *this, "score-grad-prefetch",
      llvm::cl::desc("Gradient ops with score-grads = store: dS tiles the "
                     "dq_stored kernel prefetches into L2 ahead of its "
                     "product (0: off)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> stmatrixStaging{
      *this, "stmatrix-staging",
      llvm::cl::desc("wgmma kernels: staged accumulator rows written with "
                     "stmatrix (false: 4-byte shared stores)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> scoreGradWarpStores{
      *this, "score-grad-warp-stores",
      llvm::cl::desc("Gradient ops with score-grads = store: each warp "
                     "sends its dS rows to the scratch (no block barrier "
                     "a tile)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> interleavedDq{
      *this, "interleaved-dq",
      llvm::cl::desc("Gradient ops with score-grads = store: the dq_stored "
                     "items in the dK/dV kernel's launch, each after the "
                     "items whose dS it reads (dS from L2)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> interleavedDqStages{
      *this, "interleaved-dq-stages",
      llvm::cl::desc("interleaved-dq: stages of the dQ blocks' ring (2 to "
                     "4)"),
      llvm::cl::init(4)};
  PassOptions::Option<int64_t> interleavedDqLag{
      *this, "interleaved-dq-lag",
      llvm::cl::desc("interleaved-dq: dK/dV items between the last one a "
                     "dQ item reads from and the dQ item"),
      llvm::cl::init(256)};
  PassOptions::Option<int64_t> waveStaggerNs{
      *this, "wave-stagger-ns",
      llvm::cl::desc("Attention ops, serial sm_90a kernel: ns a key tile "
                     "by which the first wave's co-resident blocks start "
                     "apart (0: auto, -1: off, at most 10000)"),
      llvm::cl::init(0)};
  PassOptions::Option<AutoToggle> programmaticLaunch{
      *this, "programmatic-launch",
      llvm::cl::desc("Every kernel: griddepcontrol wait and trigger at the "
                     "start, launched with programmatic stream "
                     "serialization"),
      llvm::cl::init(AutoToggle::Auto), programmaticLaunchValues()};
  PassOptions::Option<ScoreGradLayout> scoreGradLayout{
      *this, "score-grad-layout",
      llvm::cl::desc("Gradient ops with score-grads = store: the dS "
                     "scratch's layout"),
      llvm::cl::init(ScoreGradLayout::Auto),
      llvm::cl::values(
          clEnumValN(ScoreGradLayout::Auto, "auto",
                     "padded until compact is measured on the GPU"),
          clEnumValN(ScoreGradLayout::Padded, "padded",
                     "Q query-tile slots per key tile (closed form)"),
          clEnumValN(ScoreGradLayout::Compact, "compact",
                     "the visited tile pairs only, through a table"))};
  PassOptions::Option<int64_t> splitKeys{
      *this, "split-keys",
      llvm::cl::desc("Attention ops: blocks sharing each work item's key "
                     "tiles, merged by a combine kernel (1: no split)"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> blocksPerSM{
      *this, "blocks-per-sm",
      llvm::cl::desc("Attention ops: blocks of the forward kernel an SM "
                     "should hold (.minnctapersm; 0: ptxas's choice)"),
      llvm::cl::init(0)};
  PassOptions::Option<ForwardSchedule> forwardSchedule{
      *this, "forward-schedule",
      llvm::cl::desc("Attention ops on sm_90a: the order of a key tile's "
                     "products"),
      llvm::cl::init(ForwardSchedule::Auto),
      llvm::cl::values(
          clEnumValN(ForwardSchedule::Auto, "auto",
                     "the schedule measured fastest for the shape"),
          clEnumValN(ForwardSchedule::Overlap, "overlap",
                     "Q K^T of tile t with P V of tile t - 1"),
          clEnumValN(ForwardSchedule::Serial, "serial",
                     "each tile's products one after the other"),
          clEnumValN(ForwardSchedule::WarpSpecialized, "ws",
                     "a TMA producer warp and consumer warpgroups"),
          clEnumValN(ForwardSchedule::WarpSpecializedOverlap, "ws-overlap",
                     "ws with the consumers' products overlapped"),
          clEnumValN(ForwardSchedule::WarpSpecializedPingPong, "ws-pingpong",
                     "ws-overlap, the two consumer warpgroups taking turns "
                     "to issue"))};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("gpu.binary payload: bin (cubin), isa (PTX), fatbin"),
      llvm::cl::init("bin")};

  /// The `convert-spa-to-gpu` options these select.
  ConvertSpaToGPUOptions kernelOptions() const;
};

/// Parses option text ("chip=sm_80 warps=8 mma=wgmma") into `options`; on a
/// bad name or value returns failure with the parser's message in `error`.
LogicalResult parseGpuPipelineOptions(StringRef text,
                                      GpuPipelineOptions &options,
                                      std::string &error);
LogicalResult parseCpuPipelineOptions(StringRef text,
                                      CpuPipelineOptions &options,
                                      std::string &error);

/// The front half of `spa-to-nvvm`: balance bands for the kernel's tile
/// shape, bufferize, generate the kernel (`convert-spa-to-gpu`).
void buildGpuKernelPipeline(OpPassManager &pm,
                            const GpuPipelineOptions &options);
/// The back half: upstream NVVM lowering and gpu-module-to-binary in
/// `options.format`.
void buildGpuBinaryPipeline(OpPassManager &pm,
                            const GpuPipelineOptions &options);

/// The CPU pipeline: balance bands, lower to linalg, bufferize, lower to
/// loops and to the LLVM dialect (`spa-opt --spa-to-llvm-cpu
/// --dump-pass-pipeline` prints it).
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers `spa-to-llvm-cpu` and `spa-to-nvvm` with the global registry.
void registerSpaPipelines();

} // namespace mlir::spa

#endif // SPA_PIPELINES_PIPELINES_H
