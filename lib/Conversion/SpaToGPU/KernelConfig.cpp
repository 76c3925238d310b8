//===- KernelConfig.cpp - resolve GPU options against an op ---------------===//
//
// The one place where the GPU path decides what kernel an op gets: whether
// the shape can take the GPU path at all, wgmma or mma.sync, how many K/V
// stages, how wide an f32 key tile can be, and whether the tiles fit in
// shared memory. Each refusal is a located error naming the fix.
//
//===----------------------------------------------------------------------===//

#include "KernelConfig.h"
#include "BufferLayout.h"
#include "StagedStores.h"
#include "TensorMaps.h"
#include "WaveStagger.h"

#include "spa/Dialect/Spa/IR/PlanInterop.h"

#include "llvm/Support/Regex.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::spa;
using namespace mlir::spa::gpu_kernel;

StringRef mlir::spa::stringifyMmaKind(MmaKind kind) {
  switch (kind) {
  case MmaKind::Auto:
    return "auto";
  case MmaKind::MmaSync:
    return "mma.sync";
  case MmaKind::Wgmma:
    return "wgmma";
  }
  llvm_unreachable("unknown MmaKind");
}

StringRef mlir::spa::stringifyForwardSchedule(ForwardSchedule schedule) {
  switch (schedule) {
  case ForwardSchedule::Auto:
    return "auto";
  case ForwardSchedule::Overlap:
    return "overlap";
  case ForwardSchedule::Serial:
    return "serial";
  case ForwardSchedule::WarpSpecialized:
    return "ws";
  case ForwardSchedule::WarpSpecializedOverlap:
    return "ws-overlap";
  case ForwardSchedule::WarpSpecializedPingPong:
    return "ws-pingpong";
  }
  llvm_unreachable("unknown ForwardSchedule");
}

std::string
mlir::spa::gpu_kernel::validateOptions(const ConvertSpaToGPUOptions &options) {
  if (!llvm::is_contained({1, 2, 4, 8, 12}, options.warps) ||
      !llvm::is_contained({16, 32, 64, 128}, options.tileK))
    return "warps must be 1, 2, 4, 8 or 12 and tile-k 16, 32, 64 or 128; "
           "got warps = " +
           std::to_string(options.warps) +
           ", tile-k = " + std::to_string(options.tileK);
  if (options.stages < 0 || options.stages > 4)
    return "stages must be 0 (auto) to 4; got " +
           std::to_string(options.stages);
  if (options.blocksPerSM < 0 || options.blocksPerSM > kMaxBlocksPerSM)
    return "blocks-per-sm must be 0 (ptxas's choice) to " +
           std::to_string(kMaxBlocksPerSM) + "; got " +
           std::to_string(options.blocksPerSM);
  if (options.successorPrefetch < 0 ||
      options.successorPrefetch > kMaxSuccessorPrefetch)
    return "successor-prefetch must be 0 (off) to " +
           std::to_string(kMaxSuccessorPrefetch) + " work items; got " +
           std::to_string(options.successorPrefetch);
  if (options.scoreGradPrefetch < 0 ||
      options.scoreGradPrefetch > kMaxScoreGradPrefetch)
    return "score-grad-prefetch must be 0 (off) to " +
           std::to_string(kMaxScoreGradPrefetch) + " tiles; got " +
           std::to_string(options.scoreGradPrefetch);
  if (options.zeroTailItems < 0 || options.zeroTailItems > kMaxZeroTailItems)
    return "zero-tail-items must be 0 (auto) to " +
           std::to_string(kMaxZeroTailItems) + "; got " +
           std::to_string(options.zeroTailItems);
  if (options.zeroTailWithItems == AutoToggle::On && options.zeroTailItems > 1)
    return "zero-tail-with-items = true writes the zero tail from the blocks "
           "of the items with keys, zero-tail-items = " +
           std::to_string(options.zeroTailItems) +
           " from blocks of its own: use one of them";
  if (options.zeroTailSpread == AutoToggle::On &&
      options.zeroTailWithItems == AutoToggle::On)
    return "zero-tail-spread = true orders the zero tail's own blocks, "
           "zero-tail-with-items = true gives it none: use one of them";
  if (options.waveStaggerNs < -1 ||
      options.waveStaggerNs > kMaxWaveStaggerNsPerTile)
    return "wave-stagger-ns must be -1 (off), 0 (auto) or 1 to " +
           std::to_string(kMaxWaveStaggerNsPerTile) + " ns a key tile; got " +
           std::to_string(options.waveStaggerNs);
  if (!llvm::is_contained({0, 64, 128}, options.storedDqRows))
    return "stored-dq-rows must be 0 (auto), 64 or 128; got " +
           std::to_string(options.storedDqRows);
  SmallVector<StringRef> match;
  if (!llvm::Regex("^sm_([0-9]+)a?$").match(options.chip, &match))
    return "chip must look like sm_90a or sm_80; got '" + options.chip + "'";
  // Older chips lack the bf16 and tf32 mma.sync the kernel is built on: the
  // NVPTX backend would abort on them instead of reporting.
  unsigned version = 0;
  if (match[1].getAsInteger(10, version) || version < kMinChipVersion)
    return "chip must be sm_" + std::to_string(kMinChipVersion) +
           " or newer (the kernel needs bf16 and tf32 mma.sync); got '" +
           options.chip + "'";
  // Newer chips need a newer PTX ISA than the pipeline's +ptx80, and the
  // kernels are built and tested for sm_80 .. sm_90a only: the NVPTX backend
  // would end the process with an LLVM ERROR instead of reporting.
  if (!llvm::is_contained({80u, 86u, 87u, 89u, 90u}, version) ||
      (options.chip.back() == 'a' && version != 90))
    return "chip must be one of sm_80, sm_86, sm_87, sm_89, sm_90, sm_90a "
           "(the chips the kernels are built for); got '" +
           options.chip + "'";
  // griddepcontrol is an sm_90 instruction; ptxas would reject the kernel
  // only later, without the option's name.
  if (options.programmaticLaunch == AutoToggle::On && version < 90)
    return "programmatic-launch needs chip sm_90 or sm_90a (griddepcontrol); "
           "got '" +
           options.chip + "'";
  return "";
}

/// Why the wgmma kernel cannot serve `cfg`, or an empty string.
static std::string wgmmaUnsupportedReason(KernelConfig cfg) {
  cfg.wgmma = true;
  if (cfg.warps != 4 && cfg.warps != 8 && cfg.warps != 12)
    return "it runs one, two or three warpgroups (warps = 4, 8 or 12), got "
           "warps = " +
           std::to_string(cfg.warps);
  if (cfg.tf32())
    return "f32 inputs take the tf32 mma.sync kernel";
  if (cfg.headDim % 64 || cfg.valueDim % 64)
    return "it needs D and Dv multiples of 64, got D = " +
           std::to_string(cfg.headDim) +
           ", Dv = " + std::to_string(cfg.valueDim);
  if (cfg.sharedBytes() > kMaxDynamicSharedBytes)
    return "its Q, K and V tiles need " + std::to_string(cfg.sharedBytes()) +
           " bytes of shared memory, more than the " +
           std::to_string(kMaxDynamicSharedBytes) + " a block can have" +
           (cfg.stages > 1 ? "; use fewer stages" : "");
  return "";
}

LogicalResult mlir::spa::gpu_kernel::readOpGeometry(
    BandedAttentionOpInterface op, Value value, KernelConfig &cfg) {
  if (op.hasPureTensorSemantics())
    return op->emitOpError("convert-spa-to-gpu expects buffers; bufferize "
                           "first (the spa-to-nvvm pipeline does)");
  BandsAttr bands = op.getBandTable();
  // A forward op with run-time lengths keeps its policy and the bounds
  // spa.band_bounds computes; the launcher evaluates the same closed form
  // per call (runtime/lengths.py).
  auto forward = dyn_cast<AttentionOp>(op.getOperation());
  BandPolicyAttr policy;
  if (!bands && forward && forward.getBandBounds())
    policy = dyn_cast<BandPolicyAttr>(forward.getBands());
  if (!bands && !policy)
    return op->emitOpError("the GPU path needs a concrete band table with a "
                           "static key length; run -spa-balance-bands");
  if (failed(checkBufferLayouts(op)))
    return failure();
  auto qType = cast<MemRefType>(op.getQuery().getType());
  auto kType = cast<MemRefType>(op.getKey().getType());
  cfg.elementType = qType.getElementType();
  cfg.batch = qType.getDimSize(0);
  cfg.numQueryHeads = qType.getDimSize(1);
  cfg.numKvHeads = kType.getDimSize(1);
  cfg.queryLen = qType.getDimSize(2);
  cfg.keyLen = kType.getDimSize(2);
  cfg.headDim = qType.getDimSize(3);
  cfg.valueDim = cast<MemRefType>(value.getType()).getDimSize(3);
  if (cfg.headDim % 16 || cfg.valueDim % 16 || cfg.headDim > 256 ||
      cfg.valueDim > 256)
    return op->emitOpError("the GPU path needs D and Dv multiples of 16, at "
                           "most 256; got D = ")
           << cfg.headDim << ", Dv = " << cfg.valueDim;
  cfg.bidirectional =
      (bands ? bands.getMode() : policy.getMode()) == BandMode::Bidirectional;
  cfg.scaleLog2 = op.getEffectiveScale() * M_LOG2E;
  cfg.dynamicLengths =
      ShapedType::isDynamic(cfg.queryLen) || ShapedType::isDynamic(cfg.keyLen);
  if (policy) {
    if (!cfg.dynamicLengths)
      return op->emitOpError("the GPU path needs a concrete band table when "
                             "the lengths are static; run -spa-balance-bands");
    cfg.slots =
        cast<ShapedType>(forward.getBandBounds().getType()).getDimSize(1);
    return success();
  }
  for (const auto &head : toPlanTable(bands).heads)
    cfg.slots = std::max<int64_t>(cfg.slots, head.size());
  return success();
}

/// The forward's own checks on top of the shared geometry.
static LogicalResult readShapes(AttentionOp op, KernelConfig &cfg) {
  if (failed(readOpGeometry(op, op.getValue(), cfg)))
    return failure();
  Type elt = cfg.elementType;
  if (!elt.isF16() && !elt.isBF16() && !elt.isF32())
    return op.emitOpError("the GPU path supports f16, bf16 (tensor cores) "
                          "and f32 (tf32 tensor cores); got ")
           << elt;
  if (cfg.batch == 0 || cfg.queryLen == 0)
    return op.emitOpError("empty batch or query sequence");
  cfg.withLse = op.getOutputs().size() == 2;
  return success();
}

/// What the kernel's size is bounded by: its bounds table travels in the
/// launch contract, it stores lengths in i32 tables, and it builds its work
/// list (one block each) at compile time. Checked before the list is built.
static LogicalResult checkKernelSizes(AttentionOp op, const KernelConfig &cfg) {
  if (cfg.slots > kMaxSlotsPerHead) {
    BandsAttr bands = op.getBandTable();
    int64_t head = 0;
    while (static_cast<int64_t>(bands.getHeadIntervals(head).size()) !=
           cfg.slots)
      ++head;
    return op.emitOpError()
           << "head " << head << " has " << cfg.slots
           << " intervals, more than the " << kMaxSlotsPerHead
           << " per head the GPU launch contract carries; merge intervals or "
              "use the CPU pipeline";
  }
  // Run-time lengths: the launcher checks them and counts the items per
  // call (runtime/lengths.py).
  if (cfg.dynamicLengths)
    return success();
  constexpr int64_t i32Max = std::numeric_limits<int32_t>::max();
  if (cfg.queryLen > i32Max || cfg.keyLen > i32Max)
    return op.emitOpError()
           << "Nq = " << cfg.queryLen << " and Nk = " << cfg.keyLen
           << " must be at most " << i32Max
           << ": the GPU kernel's band and work tables are i32";
  int64_t items = ::spa::plan::countWorkItems(cfg.batch, cfg.numQueryHeads,
                                              cfg.queryLen, cfg.tileQ());
  if (items > ::spa::plan::kMaxWorkItems) {
    InFlightDiagnostic diag = op.emitOpError();
    diag << "B x Hq x query tiles = " << cfg.batch << " x " << cfg.numQueryHeads
         << " x " << cfg.queryTiles() << " = ";
    if (items == std::numeric_limits<int64_t>::max())
      diag << "more than 2^63";
    else
      diag << items;
    diag << " work items, more than the " << ::spa::plan::kMaxWorkItems
         << " (2^22) the GPU kernel takes: it launches one block per item "
            "and lists them in a constant built at compile time; split the "
            "batch or the sequence over several calls";
    return diag;
  }
  return success();
}

/// Picks wgmma or mma.sync and the number of K/V stages.
static LogicalResult chooseMma(AttentionOp op,
                               const ConvertSpaToGPUOptions &options,
                               KernelConfig &cfg) {
  bool sm90a = options.chip == "sm_90a";
  std::string reason = wgmmaUnsupportedReason(cfg);
  if (options.mma == MmaKind::Wgmma) {
    if (!sm90a)
      return op.emitOpError("mma = wgmma needs chip = sm_90a, got ")
             << options.chip;
    if (!reason.empty())
      return op.emitOpError("the wgmma kernel does not apply: ") << reason;
    cfg.wgmma = true;
  } else if (options.mma == MmaKind::Auto) {
    cfg.wgmma = sm90a && reason.empty();
  }
  if (cfg.wgmma && options.stages == 0) {
    // A second K/V buffer where three blocks still fit on an SM (measured:
    // D = 64 gains 7-9%; at D = 128 the 80 KiB ring leaves room for two
    // blocks only and loses 15%, see docs/benchmarks.md).
    // With blocks-per-sm, that many blocks must still fit.
    KernelConfig ring = cfg;
    ring.stages = 2;
    int64_t blocks = std::max<int64_t>(3, options.blocksPerSM);
    cfg.stages = ring.residentSharedBytes(blocks) <= kSharedBytesPerSM ? 2 : 1;
  }
  if (!cfg.wgmma && options.stages > 1) {
    InFlightDiagnostic diag = op.emitOpError("stages = ");
    diag << options.stages << " needs the wgmma kernel (the mma.sync kernel "
         << "copies synchronously); ";
    if (options.mma == MmaKind::MmaSync)
      diag << "mma = mma.sync was asked for";
    else if (!sm90a)
      diag << "wgmma needs chip = sm_90a, got " << options.chip;
    else
      diag << "wgmma does not apply: " << reason;
    return diag;
  }
  return success();
}

/// Shared-memory budget of the mma.sync kernels (static, 48 KiB). f32 tiles
/// take twice the bytes: narrower key tiles until they fit (the tf32 kernel
/// is the slow path; its tile is reported in the launch metadata).
static LogicalResult fitStaticShared(AttentionOp op, KernelConfig &cfg) {
  while (cfg.tf32() && cfg.sharedBytes() > kMaxStaticSharedBytes &&
         cfg.tileK > 16)
    cfg.tileK /= 2;
  if (cfg.tf32() && cfg.sharedBytes() > kMaxStaticSharedBytes)
    return op.emitOpError()
           << "the f32 (tf32) kernel's shared tile needs " << cfg.sharedBytes()
           << " bytes even with tile-k = " << cfg.tileK
           << ", more than the 48 KiB of static shared memory; use fewer "
              "warps";
  if (!cfg.wgmma && cfg.sharedBytes() > kMaxStaticSharedBytes)
    return op.emitOpError()
           << "the kernel's shared tile needs " << cfg.sharedBytes()
           << " bytes, more than the 48 KiB of static shared memory; use "
              "fewer warps or a smaller tile-k";
  return success();
}

/// forward-schedule: the overlapped ring needs the wgmma kernel, TMA loads
/// and a ring of at least two K/V tiles (the V tile of t - 1 stays while
/// t's arrives); stages = 0 takes three, so that the copy of tile t + 2
/// has a whole tile's compute to land. Auto keeps the serial schedule.
/// forward-schedule = ws: the wgmma kernel with TMA loads; stages = 0 takes
/// as many K/V stages (2 to 4) as fit beside the other blocks of the SM.
/// What every TMA-fed schedule needs: the wgmma kernel and tensor maps for
/// q, k and v; `schedule` names the option value in the messages.
static LogicalResult requireWgmmaWithMaps(AttentionOp op,
                                          const ConvertSpaToGPUOptions &options,
                                          const KernelConfig &cfg,
                                          StringRef schedule, StringRef why) {
  if (!cfg.wgmma)
    return op.emitOpError("forward-schedule = ")
           << schedule << " needs the wgmma kernel (chip = sm_90a, f16/bf16, "
           << (schedule == "ws" ? "warps 4, 8 or 12" : "warps 4 or 8")
           << ", D and Dv multiples of 64, mma = auto or wgmma); use "
              "forward-schedule = auto or serial";
  if (!options.tma || !cfg.tensorMaps)
    return op.emitOpError("forward-schedule = ")
           << schedule
           << " needs TMA tile loads (tma = true and q, k, v in layouts a "
              "tensor map describes)"
           << why;
  return success();
}

/// The V tile of key tile t - 1 stays while tile t arrives.
static LogicalResult requireTwoStages(AttentionOp op,
                                      const ConvertSpaToGPUOptions &options,
                                      StringRef schedule) {
  if (options.stages != 1)
    return success();
  return op.emitOpError("forward-schedule = ")
         << schedule
         << " needs stages >= 2 (the V tile of key tile t - 1 stays in "
            "shared memory while tile t arrives); got stages = 1";
}

static LogicalResult
chooseWarpSpecialized(AttentionOp op, const ConvertSpaToGPUOptions &options,
                      KernelConfig &cfg) {
  KernelConfig ws = cfg;
  ws.warpSpecialized = true;
  ws.pingPong =
      options.forwardSchedule == ForwardSchedule::WarpSpecializedPingPong;
  ws.overlap = ws.pingPong || options.forwardSchedule ==
                                  ForwardSchedule::WarpSpecializedOverlap;
  StringRef name = ws.pingPong  ? "ws-pingpong"
                   : ws.overlap ? "ws-overlap"
                                : "ws";
  if (failed(requireWgmmaWithMaps(op, options, cfg, name,
                                  ": its producer warp issues them")) ||
      (ws.overlap && failed(requireTwoStages(op, options, name))))
    return failure();
  if (ws.pingPong && cfg.warps != 8)
    return op.emitOpError("forward-schedule = ws-pingpong takes turns "
                          "between two consumer warpgroups: it needs "
                          "warps = 8; got warps = ")
           << cfg.warps;
  if (options.splitKeys > 1)
    return op.emitOpError("forward-schedule = ")
           << name << " does not take split-keys > 1 (the split kernel's "
           << "partial epilogue is built for the serial schedules); got "
           << "split-keys = " << options.splitKeys;
  int64_t blocks = warpSpecializedBudget(cfg.warps).blocksPerSM;
  auto fits = [&](const KernelConfig &c) {
    return c.sharedBytes() <= kMaxDynamicSharedBytes &&
           blocks * c.sharedBytes() <= kSharedBytesPerSM;
  };
  if (options.stages == 0) {
    ws.stages = 2;
    for (int64_t stages = 4; stages > 2; --stages) {
      KernelConfig more = ws;
      more.stages = stages;
      if (fits(more)) {
        ws.stages = stages;
        break;
      }
    }
  }
  if (!fits(ws)) {
    InFlightDiagnostic diag = op.emitOpError("forward-schedule = ws with ");
    diag << ws.stages << " K/V stages needs " << ws.sharedBytes()
         << " bytes of shared memory a block";
    if (blocks > 1)
      diag << ", " << blocks * ws.sharedBytes() << " for the " << blocks
           << " blocks an SM runs with warps = " << cfg.warps << ",";
    return diag << " more than the "
                << (blocks > 1 ? kSharedBytesPerSM : kMaxDynamicSharedBytes)
                << " " << (blocks > 1 ? "an SM" : "a block")
                << " has; use fewer stages or a smaller tile-k";
  }
  cfg = ws;
  return success();
}

/// forward-schedule = auto takes the warp-specialised kernel where it
/// measured faster on the H200 (docs/benchmarks.md, "The warp-specialised
/// forward on every SPEC benchmark shape"): D = Dv = 128, causal, heads of
/// two or more intervals (local_plus_band's local window and far band:
/// 2-13% faster at N = 4096-16384, five shapes; its producer runs the K/V
/// ring across a work item's ranges, where the serial kernel refills it at
/// each), static lengths of 4096 rows or more, tile-k 64, stages and
/// split-keys left to their defaults. Single-interval tables tie or lose
/// (dense causal 29% slower), D = 64 loses 18-27%; the other cases are
/// unmeasured and keep the serial kernel.
static bool autoTakesWarpSpecialized(const ConvertSpaToGPUOptions &options,
                                     const KernelConfig &cfg) {
  constexpr int64_t kMinRows = 4096;
  return options.forwardSchedule == ForwardSchedule::Auto && cfg.wgmma &&
         cfg.tensorMaps && cfg.headDim == 128 && cfg.valueDim == 128 &&
         !cfg.bidirectional && cfg.slots >= 2 && !cfg.dynamicLengths &&
         cfg.queryLen >= kMinRows && cfg.keyLen >= kMinRows &&
         cfg.tileK == 64 && options.stages == 0 && options.splitKeys == 1 &&
         options.blocksPerSM == 0;
}

static LogicalResult
chooseForwardSchedule(AttentionOp op, const ConvertSpaToGPUOptions &options,
                      KernelConfig &cfg) {
  // Three warpgroups share one ring only under a producer that releases
  // its stages by mbarrier; the serial and overlapped schedules are built
  // (and verified) for one or two.
  if (cfg.warps == 12 &&
      options.forwardSchedule != ForwardSchedule::WarpSpecialized)
    return op.emitOpError("warps = 12 (three consumer warpgroups) is the "
                          "warp-specialised forward's: it needs "
                          "forward-schedule = ws; got forward-schedule = ")
           << stringifyForwardSchedule(options.forwardSchedule);
  if (options.forwardSchedule == ForwardSchedule::WarpSpecialized ||
      options.forwardSchedule == ForwardSchedule::WarpSpecializedOverlap ||
      options.forwardSchedule == ForwardSchedule::WarpSpecializedPingPong ||
      autoTakesWarpSpecialized(options, cfg))
    return chooseWarpSpecialized(op, options, cfg);
  if (options.forwardSchedule != ForwardSchedule::Overlap)
    return success();
  // The order of the checks is the messages' (pinned by the invalid tests).
  if (!cfg.wgmma)
    return requireWgmmaWithMaps(op, options, cfg, "overlap", "");
  if (failed(requireTwoStages(op, options, "overlap")) ||
      failed(requireWgmmaWithMaps(op, options, cfg, "overlap", "")))
    return failure();
  KernelConfig overlapped = cfg;
  overlapped.overlap = true;
  overlapped.stages = options.stages == 0 ? 3 : options.stages;
  if (overlapped.sharedBytes() > kMaxDynamicSharedBytes)
    return op.emitOpError("forward-schedule = overlap with ")
           << overlapped.stages << " K/V stages needs "
           << overlapped.sharedBytes()
           << " bytes of shared memory, more than the "
           << kMaxDynamicSharedBytes << " a block has; use fewer stages, "
           << "fewer warps or a smaller tile-k";
  cfg = overlapped;
  return success();
}

/// Shared memory an SM of `chip` has for resident blocks (the CUDA
/// programming guide's per-SM capacity: 228 KiB on sm_90, 164 KiB on sm_80
/// and sm_87, 100 KiB on sm_86 and sm_89).
static int64_t sharedBytesPerSM(StringRef chip) {
  if (chip.starts_with("sm_90"))
    return kSharedBytesPerSM;
  if (chip == "sm_80" || chip == "sm_87")
    return 164 * 1024;
  return 100 * 1024;
}

/// blocks-per-sm = n: ptxas budgets registers for n blocks an SM
/// (.minnctapersm). The serial kernels are latency-bound per work item
/// (Nsight Compute, docs/benchmarks.md "Where the forward waits"), and at
/// D = 128 their 152 registers hold 3 blocks an SM where shared memory has
/// room for 4. The n blocks' shared memory must fit an SM and each thread
/// keep 64 registers; the warp-specialised schedules move registers by
/// setmaxnreg for their own count of blocks.
static LogicalResult applyBlocksPerSM(AttentionOp op,
                                      const ConvertSpaToGPUOptions &options,
                                      KernelConfig &cfg) {
  int64_t blocks = options.blocksPerSM;
  if (blocks == 0)
    return success();
  if (cfg.warpSpecialized)
    return op.emitOpError("blocks-per-sm does not apply to the "
                          "warp-specialised schedules (their producer and "
                          "consumers split the registers of ")
           << warpSpecializedBudget(cfg.warps).blocksPerSM
           << " blocks an SM by setmaxnreg); got blocks-per-sm = " << blocks;
  int64_t registers = kRegistersPerSM / (blocks * cfg.threads());
  if (registers < kMinRegistersPerThread)
    return op.emitOpError("blocks-per-sm = ")
           << blocks << " of " << cfg.threads() << " threads leaves "
           << registers << " registers a thread (" << kRegistersPerSM
           << " an SM), fewer than the " << kMinRegistersPerThread
           << " the kernel needs; use fewer blocks or warps";
  int64_t shared = cfg.residentSharedBytes(blocks);
  int64_t available = sharedBytesPerSM(options.chip);
  if (shared > available)
    return op.emitOpError("blocks-per-sm = ")
           << blocks << " needs " << shared << " bytes of shared memory an SM ("
           << cfg.sharedBytes() << " a block and "
           << kReservedSharedBytesPerBlock
           << " the system keeps), more than the " << available << " an "
           << options.chip << " SM has; use fewer blocks, stages or a "
           << "smaller tile-k";
  cfg.minBlocksPerSM = blocks;
  return success();
}

FailureOr<KernelConfig>
mlir::spa::gpu_kernel::resolveKernelConfig(AttentionOp op,
                                           const ConvertSpaToGPUOptions &options) {
  KernelConfig cfg;
  cfg.warps = options.warps;
  cfg.tileK = options.tileK;
  cfg.stages = std::max<int64_t>(options.stages, 1); // 0 (auto): chooseMma
  if (failed(readShapes(op, cfg)) || failed(checkKernelSizes(op, cfg)) ||
      failed(chooseMma(op, options, cfg)) || failed(fitStaticShared(op, cfg)))
    return failure();
  // TMA loads where Q, K and V can be described by maps (the layouts the
  // GPU path admits always can; f32 never takes wgmma). Decided after the
  // stages: the barriers' few bytes must not change that choice.
  cfg.tensorMaps = options.tma && cfg.wgmma &&
                   describableByTileMaps(ValueRange{
                       op.getQuery(), op.getKey(), op.getValue()});
  if (cfg.tensorMaps && cfg.sharedBytes() > kMaxDynamicSharedBytes)
    cfg.tensorMaps = false;
  if (failed(chooseForwardSchedule(op, options, cfg)) ||
      failed(applyBlocksPerSM(op, options, cfg)))
    return failure();
  if (options.splitKeys < 1 || options.splitKeys > kMaxSplitKeys)
    return op.emitOpError("split-keys must be 1 to ")
           << kMaxSplitKeys << "; got " << options.splitKeys;
  if (options.splitKeys > 1 && cfg.dynamicLengths)
    return op.emitOpError("split-keys > 1 needs static lengths (its scratch "
                          "buffers are sized at compile time); got Nq, Nk "
                          "known at run time");
  cfg.splitKeys = options.splitKeys;
  // Where the output's layout allows (strided views may not); otherwise the
  // threads' row stores, silently: both write the same bytes. The
  // run-time-length kernel's view of O has run-time strides: it stores
  // from registers (canStageRows).
  cfg.storesByMap = options.tmaStores && cfg.stagesEpilogue() &&
                    cfg.splitKeys == 1 && !cfg.dynamicLengths &&
                    canStoreRowsByMap(op.getOutput(), cfg.valueDim);
  cfg.stmatrixStaging = options.stmatrixStaging && cfg.wgmma;
  cfg.successorPrefetch = options.successorPrefetch;
  cfg.zeroItemsPerBlock = resolveZeroTailItems(options);
  cfg.zeroTailWithItemsAsked = resolveZeroTailWithItems(options);
  cfg.zeroTailSpreadAsked = resolveZeroTailSpread(options);
  if (failed(resolveWaveStagger(op, options, cfg)))
    return failure();
  return cfg;
}
