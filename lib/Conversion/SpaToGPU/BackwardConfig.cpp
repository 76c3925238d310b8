//===- BackwardConfig.cpp - resolve GPU options for a gradient op ---------===//
//
// The backward's counterpart of KernelConfig.cpp: what a spa.attention_grad
// needs to take the GPU path and the tile shapes of its kernels. Each
// refusal is a located error naming the fix.
//
//===----------------------------------------------------------------------===//

#include "BackwardConfig.h"
#include "StagedStores.h"
#include "TensorMaps.h"

#include "spa/Dialect/Spa/IR/PlanInterop.h"
#include "spa/Planning/GradWorkList.h"
#include "spa/Planning/ScoreGradTiles.h"
#include "spa/Planning/WorkList.h"

#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::spa;
using namespace mlir::spa::gpu_kernel;

StringRef mlir::spa::gpu_kernel::backwardKernelRole(BackwardKernel kernel) {
  switch (kernel) {
  case BackwardKernel::Preprocess:
    return "preprocess";
  case BackwardKernel::KeyValue:
    return "dkdv";
  case BackwardKernel::Query:
    return "dq";
  case BackwardKernel::KeyValueQuery:
    return "dkdv_dq";
  case BackwardKernel::QueryConvert:
    return "dq_convert";
  case BackwardKernel::QueryStored:
    return "dq_stored";
  case BackwardKernel::Interleaved:
    return "dkdv_dq_stored";
  }
  llvm_unreachable("unknown backward kernel");
}

/// Shapes, element type, mode and scale of the op; fails on what the
/// backward kernels do not take.
static LogicalResult readGradShapes(AttentionGradOp op, KernelConfig &cfg) {
  if (failed(readOpGeometry(op, op.getValue(), cfg)))
    return failure();
  Type elt = cfg.elementType;
  if (elt.isF32())
    return op.emitOpError("f32 gradients are not supported on the GPU yet "
                          "(the backward kernels take f16 and bf16); use the "
                          "CPU pipeline or f16/bf16 inputs");
  if (!elt.isF16() && !elt.isBF16())
    return op.emitOpError("the GPU backward kernels take f16 and bf16; got ")
           << elt;
  if (cfg.batch == 0 || cfg.queryLen == 0 || cfg.keyLen == 0)
    return op.emitOpError("the GPU backward kernels need a non-empty batch, "
                          "query and key sequence; got B = ")
           << cfg.batch << ", Nq = " << cfg.queryLen << ", Nk = " << cfg.keyLen;
  cfg.withLse = true;
  return success();
}

/// The loops, tables and work lists the kernels are bounded by (checked
/// before any table is built), and the shared-memory budget.
static LogicalResult checkGradSizes(AttentionGradOp op,
                                    const BackwardConfig &grad) {
  const KernelConfig &cfg = grad.base;
  if (cfg.slots > kMaxSlotsPerHead)
    return op.emitOpError()
           << "a head has " << cfg.slots << " intervals, more than the "
           << kMaxSlotsPerHead
           << " per head the GPU launch contract carries; merge intervals or "
              "use the CPU pipeline";
  constexpr int64_t i32Max = std::numeric_limits<int32_t>::max();
  if (cfg.queryLen > i32Max || cfg.keyLen > i32Max)
    return op.emitOpError()
           << "Nq = " << cfg.queryLen << " and Nk = " << cfg.keyLen
           << " must be at most " << i32Max
           << ": the GPU kernels' band and work tables are i32";
  int64_t queryItems = ::spa::plan::countWorkItems(
      cfg.batch, cfg.numQueryHeads, cfg.queryLen, grad.ownRows());
  int64_t keyItems = ::spa::plan::countKeyTileWorkItems(
      cfg.batch, cfg.numKvHeads, cfg.keyLen, grad.keyValueConfig().ownRows());
  // The preprocess grid has fewer blocks than B x Hq x Nq / 4 <= 2^22 x Tq.
  for (auto [what, items] : {std::pair{"B x Hq x query tiles", queryItems},
                             std::pair{"B x Hkv x key tiles", keyItems}})
    if (items > ::spa::plan::kMaxWorkItems)
      return op.emitOpError()
             << what << " = "
             << (items == std::numeric_limits<int64_t>::max()
                     ? std::string("more than 2^63")
                     : std::to_string(items))
             << " work items, more than the " << ::spa::plan::kMaxWorkItems
             << " (2^22) a GPU backward kernel takes: it launches one block "
                "per item from a list built at compile time; split the batch "
                "or the sequence over several calls";
  // dq_convert's grid needs no check of its own: with at most 2^22 query
  // tiles of >= 64 rows, B Hq Nq D / 8 / threads stays below 2^27 blocks.
  int64_t sharedBytes = std::max(grad.keyValueConfig().sharedBytes(),
                                 grad.queryConfig().sharedBytes());
  if (grad.storeScoreGrads)
    sharedBytes = std::max(sharedBytes,
                           grad.storedQueryConfig().storedQuerySharedBytes());
  if (sharedBytes > kMaxDynamicSharedBytes)
    return op.emitOpError()
           << "the backward kernels' shared tiles need " << sharedBytes
           << " bytes, more than the " << kMaxDynamicSharedBytes
           << " a block can have; use fewer warps or a smaller tile-k";
  return success();
}

/// mma = auto: wgmma on sm_90a for the shapes it was verified on (warps 4
/// or 8, D and Dv 64 or 128; docs/gpu.md, "wgmma backward check") when its
/// tiles fit a block, else mma.sync.
static bool autoTakesWgmma(const ConvertSpaToGPUOptions &options,
                           BackwardConfig grad) {
  const KernelConfig &cfg = grad.base;
  auto verifiedWidth = [](int64_t d) { return d == 64 || d == 128; };
  if (options.chip != "sm_90a" || (cfg.warps != 4 && cfg.warps != 8) ||
      !verifiedWidth(cfg.headDim) || !verifiedWidth(cfg.valueDim))
    return false;
  grad.base.wgmma = true;
  return grad.sharedBytes() <= kMaxDynamicSharedBytes;
}

/// deterministic = false: the widest dQ piece (64, 32, 16 columns) whose
/// staging ring keeps the most blocks an SM can hold by registers (the
/// dK/dV kernel runs at the 255-register cap: two blocks of 4 warps, one of
/// 8), so that the bulk reductions cost no occupancy where one narrower
/// piece avoids it; 16 columns where nothing fits (the size check follows).
/// A step's pieces must be even in number (the ring alternates two
/// buffers).
static int64_t dqPieceColumns(BackwardConfig grad) {
  const KernelConfig &cfg = grad.base;
  int64_t chunks = grad.streamRows() / 64 * (cfg.headDim / 64);
  for (int64_t blocks = std::max<int64_t>(1, 65536 / (cfg.threads() * 256));
       blocks >= 1; --blocks) {
    // Each resident block also takes 1 KB the system keeps.
    int64_t budget = std::min<int64_t>(kMaxDynamicSharedBytes,
                                       kSharedBytesPerSM / blocks -
                                           kReservedSharedBytesPerBlock);
    for (int64_t columns : {64, 32, 16}) {
      grad.dqPieceColumns = columns;
      if (chunks * (64 / columns) % 2 == 0 && grad.sharedBytes() <= budget)
        return columns;
    }
  }
  return 16;
}

/// Blocks of the dK/dV kernel an SM holds: by its shared memory, at most
/// what its registers allow at the 255-register cap it runs at.
static int64_t keyValueBlocksPerSM(const BackwardConfig &grad) {
  BackwardConfig kv = grad.keyValueConfig();
  int64_t byRegisters =
      std::max<int64_t>(1, kRegistersPerSM / (kv.base.threads() * 256));
  int64_t bytes = kv.sharedBytes() + kReservedSharedBytesPerBlock;
  return std::min(byRegisters, kSharedBytesPerSM / bytes);
}

/// shared-stream-lse and shared-stream-delta = auto (`staged`: the flag of
/// either), on a configuration resolved without it: on for the classic
/// wgmma dK/dV kernel where both were measured (H100, docs/benchmarks.md;
/// gradients bitwise equal): the one that stores dS (lse, step 7f, the
/// headline's dK/dV 0.256 -> 0.222 ms; Delta after it, step 7g, 0.2225 ->
/// 0.2060 ms and tile_balanced -7.1%) and the deterministic recomputing one
/// at D = Dv = 128, warps 4, tile-k 64 (both together, step 7j: dK/dV -2.4
/// to -13%, backward -3.7 to -8.4% on the five SPEC rows auto recomputes;
/// the lse alone had read -1.4/-2.5% there, noise); where its bytes change
/// nothing else (the blocks an SM, the TMA loads, the atomic dQ piece
/// width). Elsewhere (D = 64's classic kernel, the atomic one) unmeasured:
/// the global loads stay.
static bool autoStagesStreamStat(const BackwardConfig &grad,
                                 bool BackwardConfig::*staged) {
  const KernelConfig &cfg = grad.base;
  bool recomputingAt128 = !grad.storeScoreGrads && !grad.atomicQuery &&
                          cfg.headDim == 128 && cfg.valueDim == 128 &&
                          cfg.warps == 4 && cfg.tileK == 64;
  if (!cfg.wgmma || grad.warpSpecialized ||
      !(grad.storeScoreGrads || recomputingAt128))
    return false;
  BackwardConfig with = grad;
  with.*staged = true;
  if (with.sharedBytes() > kMaxDynamicSharedBytes ||
      with.keyValueConfig().sharedBytes() > kMaxDynamicSharedBytes ||
      keyValueBlocksPerSM(with) < keyValueBlocksPerSM(grad))
    return false;
  return !grad.atomicQuery || dqPieceColumns(with) == grad.dqPieceColumns;
}

/// shared-stream-lse / shared-stream-delta = true (`which`: "lse" or
/// "delta") asked of a configuration: only the classic wgmma dK/dV kernel
/// stages its query rows' statistics (the warp-specialised one's producer
/// stages both itself), and only within the shared memory a block has.
static LogicalResult checkStagedStreamStat(AttentionGradOp op,
                                           const BackwardConfig &grad,
                                           StringRef which) {
  const KernelConfig &cfg = grad.base;
  if (cfg.wgmma && !grad.warpSpecialized &&
      grad.keyValueConfig().sharedBytes() <= kMaxDynamicSharedBytes)
    return success();
  std::string statistic = which == "lse" ? "lse" : "Delta";
  return op.emitOpError("shared-stream-")
         << which
         << " applies to the classic wgmma dK/dV kernel (chip = sm_90a, "
            "mma = wgmma or auto taking it, backward-schedule = classic, "
            "its tiles and the "
         << statistic << " within " << kMaxDynamicSharedBytes
         << " bytes of shared memory); got " << (cfg.wgmma ? "" : "mma.sync, ")
         << (grad.warpSpecialized ? "the warp-specialised dK/dV kernel, " : "")
         << grad.keyValueConfig().sharedBytes() << " bytes; use shared-stream-"
         << which << " = false";
}

/// backward-schedule = auto takes the warp-specialised dK/dV kernel where
/// it measured faster on the H200 (docs/benchmarks.md, "Steps toward the
/// backward target", steps 6b and 6c): D = Dv = 64 (B=2 H=16 N=16384
/// local_plus_band: dK/dV 1.206 -> 1.063 ms), and with deterministic =
/// false, where the fused form (dQ formed in the consumers, reduced by a
/// writer warp) beat the classic atomic kernel at both widths (backward
/// 0.874 -> 0.567 ms at the headline shape, 1.804 -> 1.598 at D = 64
/// N = 16384 local_plus_band). At D = 128 deterministic it measured
/// 0.2-3% slower (its 128-key tiles reach more band-edge tiles), so the
/// classic kernel stays there.
static bool autoTakesWarpSpecialized(const BackwardConfig &grad) {
  return (grad.base.headDim == 64 && grad.base.valueDim == 64) ||
         grad.atomicQuery;
}

/// What the TMA-fed wgmma kernels of the backward (the warp-specialised
/// dK/dV kernel, the stored-dS pair) need first: a located error's "needs
/// ..." text, empty when both hold.
static std::string missingWgmmaTma(const BackwardConfig &grad) {
  if (!grad.base.wgmma)
    return "the wgmma backward (chip = sm_90a, mma = auto or wgmma, "
           "f16/bf16)";
  if (!grad.tensorMaps)
    return "TMA loads (tma = true and buffers a tensor map describes)";
  return "";
}

/// score-grads = auto takes the stored dS where it measured faster on the
/// H200 (docs/benchmarks.md, "Backward step 7"): D = Dv = 128, backward
/// -4.8% at B=2 H=16 N=8192 exclusive_equal, -8.5% at B=1 H=32 N=16384,
/// -1.1% at local_plus_band N=8192; at D = 64 the warp-specialised
/// recomputing kernels stay faster (+10% stored at local_plus_band N =
/// 16384). The scratch is bounded by kAutoScoreGradScratchBytes (checked
/// once its layout is known): longer sequences recompute in bounded memory.
static bool autoTakesStoredScoreGrads(const BackwardConfig &grad) {
  return grad.base.headDim == 128 && grad.base.valueDim == 128;
}
constexpr int64_t kAutoScoreGradScratchBytes = int64_t(1) << 30;
/// The compact layout's slot table ([Hq][query tiles][slots][sides] i32)
/// travels in the launch contract like the work lists, and is bounded
/// like them (16 MiB).
constexpr int64_t kMaxScoreGradSlotEntries = ::spa::plan::kMaxWorkItems;

/// score-grads = store: the dK/dV kernel stores dS for a one-product dQ
/// kernel (ScoreGradStore.h). Its tile grid is 64 x 64 on both sides (own
/// and stream tiles of 64 rows: warps 4, tile-k 64), the staging and the dQ
/// product are wgmma, the tiles travel by TMA and bulk copies, dQ stays in
/// its own kernel (deterministic) and the dK/dV kernel is the classic one;
/// a located error names what is missing.
static LogicalResult resolveScoreGrads(AttentionGradOp op,
                                       const ConvertSpaToGPUOptions &options,
                                       BackwardConfig &grad) {
  if (options.scoreGrads == ScoreGrads::Recompute)
    return success();
  const KernelConfig &cfg = grad.base;
  auto whatIsMissing = [&]() -> std::string {
    if (std::string first = missingWgmmaTma(grad); !first.empty())
      return first;
    if (!options.deterministic)
      return "deterministic = true";
    if (cfg.warps != 4 || cfg.tileK != 64)
      return "64 x 64 tiles (warps = 4, tile-k = 64)";
    if (options.backwardSchedule == BackwardSchedule::WarpSpecialized)
      return "the classic dK/dV kernel (backward-schedule = auto or classic)";
    return "";
  };
  std::string missing = whatIsMissing();
  if (options.scoreGrads == ScoreGrads::Auto) {
    // Tentative: planScoreGradScratch drops it where the scratch is large.
    grad.storeScoreGrads = missing.empty() && autoTakesStoredScoreGrads(grad);
    return success();
  }
  if (!missing.empty())
    return op.emitOpError("score-grads = store needs ")
           << missing << "; got chip = " << options.chip
           << ", mma = " << stringifyMmaKind(options.mma)
           << ", tma = " << (options.tma ? "true" : "false")
           << ", deterministic = " << (options.deterministic ? "true" : "false")
           << ", warps = " << cfg.warps << ", tile-k = " << cfg.tileK
           << ", D = " << cfg.headDim << ", Dv = " << cfg.valueDim
           << "; use score-grads = recompute";
  grad.storeScoreGrads = true;
  return success();
}

/// score-grads = store, once the work lists are known to be bounded (the
/// layout's walk enumerates every key tile of every head): the layout
/// (score-grad-layout), and a scratch whose tile index fits the kernels'
/// arithmetic.
static LogicalResult planScoreGradScratch(AttentionGradOp op,
                                          const ConvertSpaToGPUOptions &options,
                                          BackwardConfig &grad) {
  if (options.scoreGradLayout != ScoreGradLayout::Auto &&
      options.scoreGrads == ScoreGrads::Recompute)
    return op.emitOpError("score-grad-layout = ")
           << (options.scoreGradLayout == ScoreGradLayout::Compact ? "compact"
                                                                   : "padded")
           << " applies to the stored dS (score-grads = store or auto); got "
              "score-grads = recompute";
  if (!grad.storeScoreGrads)
    return success();
  const KernelConfig &cfg = grad.base;
  constexpr int64_t kTile = BackwardConfig::kScoreGradTile;
  ::spa::plan::BandTable table = toPlanTable(op.getBandTable());
  // Auto stays padded: compact is correct on the GPU matrix but measured a
  // tie at the headline and slower on wide bands (docs/benchmarks.md, "The
  // staged backward steps measured").
  grad.compactScoreGrads = options.scoreGradLayout == ScoreGradLayout::Compact;
  uint64_t tiles = 1, tableBytes = 0;
  // Auto recomputes where storing would take too much memory; a forced
  // store gets the located errors below.
  auto recompute = [&] {
    grad.storeScoreGrads = false;
    grad.scoreGradQueryTiles = 0;
    grad.compactScoreGrads = false;
    grad.scoreGradBatchTiles = 0;
    grad.scoreGradSlotBases.clear();
    return success();
  };
  if (grad.compactScoreGrads) {
    // The table travels in the launch contract and launch.json: bounded
    // like the work lists, and sized before it is built.
    uint64_t entries = 1;
    for (int64_t factor : grad.scoreGradSlotShape())
      entries = llvm::SaturatingMultiply(entries, uint64_t(factor));
    if (entries > uint64_t(kMaxScoreGradSlotEntries)) {
      if (options.scoreGrads == ScoreGrads::Auto)
        return recompute();
      return op.emitOpError("score-grad-layout = compact: the slot table "
                            "would hold ")
             << entries << " entries (Hq x query tiles x intervals x sides = "
             << cfg.numQueryHeads << " x " << grad.scoreGradSlotShape()[1]
             << " x " << cfg.slots << " x " << grad.scoreGradSlotShape()[3]
             << "), more than " << kMaxScoreGradSlotEntries
             << "; use score-grad-layout = padded";
    }
    tableBytes = entries * sizeof(int32_t);
    ::spa::plan::ScoreGradSlotBases layout = ::spa::plan::scoreGradSlotBases(
        table, cfg.queryLen, cfg.keyLen, kTile, cfg.slots);
    // The work lists' bound holds (checkGradSizes) and no head has more
    // intervals than the bounds table's slots: never empty.
    if (layout.bases.empty())
      return op.emitOpError("score-grad-layout = compact: no slot table for ")
             << cfg.numQueryHeads << " heads of " << cfg.queryLen
             << " query rows and " << cfg.slots
             << " intervals; use score-grad-layout = padded";
    grad.scoreGradBatchTiles = layout.tiles;
    tiles =
        llvm::SaturatingMultiply(uint64_t(cfg.batch), uint64_t(layout.tiles));
    // |base| <= max(tiles of a batch element, key tiles): i32 wherever the
    // scratch's tile count is (checked below).
    grad.scoreGradSlotBases.assign(layout.bases.begin(), layout.bases.end());
  } else {
    grad.scoreGradQueryTiles = ::spa::plan::maxQueryTilesPerKeyTile(
        table, cfg.queryLen, cfg.keyLen, kTile);
    for (int64_t factor :
         {cfg.batch, cfg.numQueryHeads, grad.scoreGradRanges(),
          grad.scoreGradKeyTiles(), grad.scoreGradQueryTiles})
      tiles = llvm::SaturatingMultiply(tiles, uint64_t(factor));
  }
  constexpr uint64_t i32Max = std::numeric_limits<int32_t>::max();
  // Auto recomputes where the scratch would be large, or empty (no row
  // reaches a key: nothing to store). It stores only where
  // autoTakesWarpSpecialized is false (D = Dv = 128, deterministic), so the
  // schedule resolved meanwhile is the one auto would take without it;
  // revisit if either rule changes.
  if (options.scoreGrads == ScoreGrads::Auto &&
      (tiles == 0 || tiles > i32Max ||
       tiles * BackwardConfig::kScoreGradTileBytes + tableBytes >
           uint64_t(kAutoScoreGradScratchBytes)))
    return recompute();
  if (tiles > i32Max) {
    InFlightDiagnostic error = op.emitOpError()
                               << "score-grads = store: the dS scratch would "
                                  "hold more than "
                               << i32Max << " tiles of 64 x 64 (";
    if (grad.compactScoreGrads)
      error << "B x " << grad.scoreGradBatchTiles << " visited tile pairs";
    else
      error << "B x Hq x intervals x sides x key tiles x "
            << grad.scoreGradQueryTiles << " query tiles";
    return error << "); use score-grads = recompute";
  }
  return success();
}

/// stored-dq-rows: the dq_stored kernel's rows an item (score-grads =
/// store only; an explicit value with score-grads = recompute is an error,
/// with auto's recompute it has nothing to apply to). Auto keeps 64 until
/// 128 is measured faster. score-grad-prefetch and score-grad-warp-stores
/// likewise (off until measured).
static LogicalResult
resolveStoredQueryRows(AttentionGradOp op,
                       const ConvertSpaToGPUOptions &options,
                       BackwardConfig &grad) {
  if (options.storedDqRows != 0 && options.scoreGrads == ScoreGrads::Recompute)
    return op.emitOpError("stored-dq-rows = ")
           << options.storedDqRows
           << " applies to the stored dS (score-grads = store or auto); got "
              "score-grads = recompute";
  // Its ring's shared memory is checked with the other kernels' tiles
  // (checkGradSizes).
  grad.storedQueryRows = options.storedDqRows ? options.storedDqRows : 64;
  if (options.scoreGradPrefetch != 0 &&
      options.scoreGrads == ScoreGrads::Recompute)
    return op.emitOpError("score-grad-prefetch = ")
           << options.scoreGradPrefetch
           << " applies to the stored dS (score-grads = store or auto); got "
              "score-grads = recompute";
  grad.scoreGradPrefetch = options.scoreGradPrefetch;
  if (options.scoreGradWarpStores &&
      options.scoreGrads == ScoreGrads::Recompute)
    return op.emitOpError("score-grad-warp-stores applies to the stored dS "
                          "(score-grads = store or auto); got score-grads = "
                          "recompute");
  grad.scoreGradWarpStores = options.scoreGradWarpStores;
  return success();
}

/// interleaved-dq: the dq_stored blocks in the dK/dV kernel's launch
/// (BackwardInterleaved.cpp). Once the stored dS is settled (auto and the
/// scratch's size may drop it): it needs the stored dS (which brings the
/// classic wgmma dK/dV kernel with TMA loads and 64 x 64 tiles), 64-row
/// dQ items (one warpgroup, as the dK/dV kernel's block). Its order is
/// planned at compile time: the gradient op has static shapes on the GPU.
static LogicalResult
resolveInterleavedQuery(AttentionGradOp op,
                        const ConvertSpaToGPUOptions &options,
                        BackwardConfig &grad) {
  if (options.interleavedDqLag < 0)
    return op.emitOpError("interleaved-dq-lag must be 0 or more, got ")
           << options.interleavedDqLag;
  grad.interleavedLag = options.interleavedDqLag;
  if (options.interleavedDqStages < 2 || options.interleavedDqStages > 4)
    return op.emitOpError("interleaved-dq-stages must be 2, 3 or 4, got ")
           << options.interleavedDqStages;
  grad.interleavedStages = options.interleavedDqStages;
  if (!options.interleavedDq)
    return success();
  if (!grad.storeScoreGrads)
    return op.emitOpError("interleaved-dq needs the stored dS, and this "
                          "op's backward recomputes it (score-grads = ")
           << (options.scoreGrads == ScoreGrads::Auto ? "auto" : "recompute")
           << "); use score-grads = store";
  if (grad.storedQueryRows != 64)
    return op.emitOpError("interleaved-dq runs 64-row dQ items (one "
                          "warpgroup, as the dK/dV kernel's block); got "
                          "stored-dq-rows = ")
           << grad.storedQueryRows;
  assert(!grad.warpSpecialized && grad.tensorMaps &&
         grad.keyValueConfig().ownRows() == BackwardConfig::kScoreGradTile &&
         "the stored dS brings the classic TMA kernel on 64 x 64 tiles");
  grad.interleavedQuery = true;
  return success();
}

/// backward-schedule: the warp-specialised dK/dV kernel needs the wgmma
/// backward with TMA loads, dQ in its own kernel, D and Dv of 64 or 128 and
/// stream tiles of 64 query rows; forced where it does not apply, a located
/// error naming what is missing.
static LogicalResult
resolveBackwardSchedule(AttentionGradOp op,
                        const ConvertSpaToGPUOptions &options,
                        BackwardConfig &grad) {
  const KernelConfig &cfg = grad.base;
  auto width = [](int64_t d) { return d == 64 || d == 128; };
  std::string missing = missingWgmmaTma(grad);
  if (missing.empty()) {
    if (!width(cfg.headDim) || !width(cfg.valueDim))
      missing = "D and Dv of 64 or 128";
    else if (cfg.tileK != 64)
      missing = "tile-k = 64";
    else if (grad.storeScoreGrads)
      missing = "score-grads = recompute";
  }
  if (missing.empty()) {
    BackwardConfig ws = grad;
    ws.warpSpecialized = true;
    // Its dQ pieces are whole 64-column blocks (one a warpgroup a tile).
    ws.dqPieceColumns = 64;
    if (ws.keyValueConfig().sharedBytes() > kMaxDynamicSharedBytes)
      missing = "shared tiles within a block's dynamic shared memory";
  }
  bool forced = options.backwardSchedule == BackwardSchedule::WarpSpecialized;
  if (forced && !missing.empty())
    return op.emitOpError("backward-schedule = ws (the warp-specialised "
                          "dK/dV kernel) needs ")
           << missing << "; got chip = " << options.chip
           << ", mma = " << stringifyMmaKind(options.mma)
           << ", tma = " << (options.tma ? "true" : "false")
           << ", deterministic = " << (options.deterministic ? "true" : "false")
           << ", D = " << cfg.headDim << ", Dv = " << cfg.valueDim
           << ", tile-k = " << cfg.tileK
           << "; use backward-schedule = auto or classic";
  grad.warpSpecialized =
      missing.empty() &&
      (forced || (options.backwardSchedule == BackwardSchedule::Auto &&
                  autoTakesWarpSpecialized(grad)));
  // One dq_accum layout for the preprocess, dK/dV and convert kernels.
  if (grad.warpSpecialized && grad.atomicQuery)
    grad.dqPieceColumns = 64;
  return success();
}

FailureOr<BackwardConfig> mlir::spa::gpu_kernel::resolveBackwardConfig(
    AttentionGradOp op, const ConvertSpaToGPUOptions &options) {
  BackwardConfig grad;
  KernelConfig &cfg = grad.base;
  cfg.warps = options.warps;
  cfg.tileK = options.tileK;
  cfg.successorPrefetch = options.successorPrefetch;
  cfg.zeroItemsPerBlock = resolveZeroTailItems(options);
  cfg.zeroTailWithItemsAsked = resolveZeroTailWithItems(options);
  cfg.zeroTailSpreadAsked = resolveZeroTailSpread(options);
  if (cfg.warps == 12)
    return op.emitOpError("warps = 12 (three consumer warpgroups) is the "
                          "warp-specialised forward's; the gradient kernels "
                          "run 1, 2, 4 or 8 warps a block, and warps applies "
                          "to every op of the module: compile the forward "
                          "alone with warps = 12, or use warps = 4 (the "
                          "default)");
  bool explicitWgmma = options.mma == MmaKind::Wgmma;
  if (explicitWgmma && options.chip != "sm_90a")
    return op.emitOpError("mma = wgmma needs chip = sm_90a, got ")
           << options.chip;
  if (explicitWgmma && cfg.warps != 4 && cfg.warps != 8)
    return op.emitOpError("mma = wgmma: the wgmma backward runs one or two "
                          "warpgroups (warps = 4 or 8), got warps = ")
           << cfg.warps;
  if (failed(readGradShapes(op, cfg)))
    return failure();
  if (explicitWgmma && (cfg.headDim % 64 || cfg.valueDim % 64))
    return op.emitOpError("mma = wgmma: the wgmma backward needs D and Dv "
                          "multiples of 64, got D = ")
           << cfg.headDim << ", Dv = " << cfg.valueDim
           << "; use mma = auto or mma.sync";
  cfg.wgmma = explicitWgmma || (options.mma == MmaKind::Auto &&
                                autoTakesWgmma(options, grad));
  cfg.stmatrixStaging = options.stmatrixStaging && cfg.wgmma;
  if (!options.deterministic) {
    // The atomic dQ product is a wgmma with dS (64 query rows x own keys)
    // read from shared memory as its A operand.
    if (!cfg.wgmma)
      return op.emitOpError("deterministic = false (dQ by f32 atomics) "
                            "needs the wgmma backward: chip = sm_90a, warps "
                            "4 or 8, D and Dv multiples of 64 (mma = auto "
                            "takes it at D, Dv = 64 or 128); got chip = ")
             << options.chip << ", mma = " << stringifyMmaKind(options.mma)
             << ", warps = " << cfg.warps << ", D = " << cfg.headDim
             << ", Dv = " << cfg.valueDim << "; use deterministic = true";
    if (cfg.tileK != 64 && cfg.tileK != 128)
      return op.emitOpError("deterministic = false: the atomic dQ product "
                            "takes query rows in blocks of 64, so tile-k "
                            "must be 64 or 128, got ")
             << cfg.tileK << "; use deterministic = true for other tiles";
    grad.atomicQuery = true;
  }
  // TMA loads where every tile's source can be described by a map (the
  // layouts of strided views may not be); otherwise cp.async, silently:
  // both load the same bytes.
  grad.tensorMaps = options.tma && cfg.wgmma &&
                    describableByTileMaps(ValueRange{
                        op.getQuery(), op.getKey(), op.getValue(),
                        op.getOutputGrad()});
  // Where every output can be staged and described (strided views may not
  // be); otherwise the threads' row stores, silently: both write the same
  // bytes.
  grad.storesByMap =
      options.tmaStores && cfg.wgmma &&
      canStoreRowsByMap(op.getQueryGrad(), cfg.headDim) &&
      canStoreRowsByMap(op.getKeyGrad(), cfg.headDim) &&
      canStoreRowsByMap(op.getValueGrad(), cfg.valueDim);
  // Before the shared-memory decisions below, so that they count its bytes
  // (a dQ piece width or TMA chosen without them could cost a block an
  // SM); checked once the dK/dV schedule is known.
  bool lseForced = options.sharedStreamLse == AutoToggle::On;
  bool deltaForced = options.sharedStreamDelta == AutoToggle::On;
  grad.stagesStreamLse = lseForced && cfg.wgmma;
  grad.stagesStreamDelta = deltaForced && cfg.wgmma;
  if (grad.atomicQuery)
    grad.dqPieceColumns = dqPieceColumns(grad);
  // As in the forward (resolveKernelConfig): the barriers' few bytes must
  // not turn a configuration that fits into an error; cp.async then.
  if (grad.tensorMaps && grad.sharedBytes() > kMaxDynamicSharedBytes) {
    grad.tensorMaps = false;
    if (grad.atomicQuery)
      grad.dqPieceColumns = dqPieceColumns(grad);
  }
  if (failed(resolveScoreGrads(op, options, grad)) ||
      failed(resolveStoredQueryRows(op, options, grad)) ||
      failed(resolveBackwardSchedule(op, options, grad)))
    return failure();
  if (failed(checkGradSizes(op, grad)) ||
      failed(planScoreGradScratch(op, options, grad)) ||
      failed(resolveInterleavedQuery(op, options, grad)))
    return failure();
  grad.keyRowMasks = grad.warpSpecialized || cfg.slots >= 2;
  if (options.sharedStreamLse == AutoToggle::Auto)
    grad.stagesStreamLse =
        autoStagesStreamStat(grad, &BackwardConfig::stagesStreamLse);
  if (options.sharedStreamDelta == AutoToggle::Auto)
    grad.stagesStreamDelta =
        autoStagesStreamStat(grad, &BackwardConfig::stagesStreamDelta);
  if (lseForced && failed(checkStagedStreamStat(op, grad, "lse")))
    return failure();
  if (deltaForced && failed(checkStagedStreamStat(op, grad, "delta")))
    return failure();
  grad.scale = op.getEffectiveScale();
  return grad;
}

int64_t mlir::spa::gpu_kernel::queryGradZeroTailItems(
    const ConvertSpaToGPUOptions &options, const BackwardConfig &grad) {
  if (options.zeroTailItems == 0 && !grad.storeScoreGrads &&
      grad.isTrainingQueryKernel())
    return 8;
  return resolveZeroTailItems(options);
}
