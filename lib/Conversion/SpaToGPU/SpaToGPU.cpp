//===- SpaToGPU.cpp - spa.attention -> tensor-core kernel launch ----------===//
//
// The `convert-spa-to-gpu` pass: for every spa.attention on buffers it
// resolves the kernel configuration (KernelConfig.cpp), generates the kernel
// into `gpu.module @spa_kernels` (KernelSkeleton.cpp and the mainloop of the
// chosen MMA generation), materialises the band table and the cost-sorted
// work list as private constants, attaches the launch contract
// (LaunchContract.h) and replaces the op by a gpu.launch_func. Everything is
// upstream gpu, nvgpu, nvvm, vector, scf and arith ops; the NVVM lowering
// and gpu-module-to-binary turn it into an sm_80+/sm_90a cubin.
//
// Files of the generator and their roles: docs/gpu.md.
//
//===----------------------------------------------------------------------===//

#include "spa/Conversion/SpaToGPU/SpaToGPU.h"
#include "GridDependency.h"
#include "HostTables.h"
#include "KernelConfig.h"
#include "KernelContext.h"
#include "KernelSkeleton.h"
#include "SpaGradToGPU.h"
#include "SplitKeys.h"
#include "TensorMaps.h"
#include "WaveStagger.h"

#include "spa/Conversion/SpaToGPU/LaunchContract.h"
#include "spa/Dialect/Spa/IR/PlanInterop.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Planning/BandPlan.h"
#include "spa/Planning/WorkList.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"

#include <limits>

namespace mlir::spa {
#define GEN_PASS_DEF_CONVERTSPATOGPU
#include "spa/Conversion/Passes.h.inc"
} // namespace mlir::spa

using namespace mlir;
using namespace mlir::spa;
using namespace mlir::spa::gpu_kernel;
namespace plan = ::spa::plan;

namespace {

/// The cost-sorted work list (spa/Planning/WorkList.h) as [items][3] i32;
/// sets cfg.zeroItemsFrom to the start of its tail of items reaching no key
/// and plans the first wave's stagger (WaveStagger.h) on it.
SmallVector<int32_t> workList(const plan::BandTable &table, KernelConfig &cfg) {
  SmallVector<int32_t> list;
  std::vector<plan::WorkItem> items = plan::buildWorkList(
      table, cfg.batch, cfg.queryLen, cfg.keyLen, cfg.tileShape());
  for (const plan::WorkItem &item : items)
    list.append({int32_t(item.batch), int32_t(item.head),
                 int32_t(item.queryTile)});
  int64_t zeroFrom = plan::firstItemReachingNoKey(items, table, cfg.queryLen,
                                                  cfg.keyLen, cfg.tileShape());
  cfg.zeroItemsFrom = zeroFrom < int64_t(items.size()) ? zeroFrom : -1;
  planWaveStagger(items, table, cfg);
  return list;
}

/// `buffer` (identity layout, dynamic sequence length) as a one-element
/// memref at its first element: what a bare-pointer kernel parameter takes.
Value firstElement(ImplicitLocOpBuilder &b, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  return memref::ReinterpretCastOp::create(
      b, MemRefType::get({1}, type.getElementType()), buffer, int64_t(0),
      ArrayRef<int64_t>{1}, ArrayRef<int64_t>{1});
}

/// The [Hq, slots, 2] index bounds of spa.band_bounds as the i32 table the
/// kernel reads (values clipped to the i32 range).
Value boundsAsI32(ImplicitLocOpBuilder &b, Value bounds,
                  const KernelConfig &cfg) {
  GpuArith e{b};
  Type i32 = b.getI32Type();
  auto type = MemRefType::get({cfg.numQueryHeads, cfg.slots, 2}, i32);
  Value table = memref::AllocOp::create(b, type);
  Value limit = e.index(std::numeric_limits<int32_t>::max());
  scf::buildLoopNest(
      b, b.getLoc(), {e.index(0), e.index(0), e.index(0)},
      {e.index(cfg.numQueryHeads), e.index(cfg.slots), e.index(2)},
      {e.index(1), e.index(1), e.index(1)},
      [&](OpBuilder &nb, Location loc, ValueRange ivs) {
        ImplicitLocOpBuilder ib(loc, nb);
        Value v = memref::LoadOp::create(ib, bounds, ivs);
        v = arith::MinSIOp::create(ib, v, limit);
        memref::StoreOp::create(ib, arith::IndexCastOp::create(ib, i32, v),
                                table, ivs);
      });
  return table;
}

/// The combine kernel of split-keys: partials -> output and log-sum-exp.
void launchSplitCombine(ImplicitLocOpBuilder &b, AttentionOp op,
                        gpu::GPUModuleOp kernels, const std::string &base,
                        const KernelConfig &cfg, Value partialOut,
                        Value partialStats, Value boundsBuffer,
                        const KernelLaunch &forward) {
  GpuArith e{b};
  KernelLaunch launch;
  SmallVector<Value> operands = {partialOut, partialStats, boundsBuffer,
                                 op.getOutput()};
  launch.args = {"partial_out", "partial_stats", "bounds", "output"};
  if (cfg.withLse) {
    operands.push_back(op.getLogSumExp());
    launch.args.push_back("log_sum_exp");
  }
  SmallVector<Type> argTypes;
  for (Value v : operands)
    argTypes.push_back(v.getType());
  OpBuilder kb = OpBuilder::atBlockEnd(&kernels.getBodyRegion().front());
  gpu::GPUFuncOp kernel =
      buildSplitCombineKernel(kb, b.getLoc(), base + "_combine", argTypes, cfg);
  int64_t rowsPerBlock = kCombineThreads / 32;
  int64_t blocks =
      (cfg.batch * cfg.numQueryHeads * cfg.queryLen + rowsPerBlock - 1) /
      rowsPerBlock;
  launch.grid = {blocks, 1, 1};
  launch.block = {kCombineThreads, 1, 1};
  launch.bounds = forward.bounds;
  launch.bands = forward.bands;
  launch.tile = forward.tile;
  launch.mma = forward.mma;
  launch.role = "combine";
  launch.op = forward.op;
  applyProgrammaticLaunch(forward.programmaticLaunch, kernel, launch);
  kernel->setAttr(KernelLaunch::kAttrName, launch.toAttr(b.getContext()));
  Value one = e.index(1);
  gpu::LaunchFuncOp::create(
      b, kernel, gpu::KernelDim3{e.index(blocks), one, one},
      gpu::KernelDim3{e.index(kCombineThreads), one, one}, Value(), operands);
  memref::DeallocOp::create(b, partialOut);
  memref::DeallocOp::create(b, partialStats);
}

LogicalResult convert(AttentionOp op, gpu::GPUModuleOp kernels,
                      unsigned index, const ConvertSpaToGPUOptions &options) {
  FailureOr<KernelConfig> resolved = resolveKernelConfig(op, options);
  if (failed(resolved))
    return failure();
  KernelConfig cfg = *resolved;
  OpBuilder builder(op);
  Location loc = op.getLoc();
  ImplicitLocOpBuilder b(loc, builder);
  auto module = op->getParentOfType<ModuleOp>();
  SymbolTable symbols(module);
  std::string base = "spa_attention_" + std::to_string(index);
  auto makeGlobal = [&](StringRef name, ArrayRef<int64_t> shape,
                        ArrayRef<int32_t> values) {
    return makeConstantTable(b, module, symbols, name, shape, values);
  };

  // Host-side tables: the bounds (a constant, or with run-time lengths and
  // a policy the bounds spa.band_bounds computed, as i32) and, for static
  // lengths, the cost-sorted work list.
  KernelLaunch launch;
  BandsAttr bands = op.getBandTable();
  Value boundsBuffer;
  if (bands) {
    plan::BandTable table = toPlanTable(bands);
    launch.bounds = boundsTable(table, cfg);
    boundsBuffer = makeGlobal(base + "_bounds",
                              {cfg.numQueryHeads, cfg.slots, 2}, launch.bounds);
    if (!cfg.dynamicLengths)
      launch.work = workList(table, cfg);
    launch.bands = bands;
  } else {
    boundsBuffer = boundsAsI32(b, op.getBandBounds(), cfg);
    launch.bands = op.getBands();
  }
  int64_t numItems = launch.work.size() / 3;

  SmallVector<Value> buffers = {op.getQuery(), op.getKey(), op.getValue()};
  launch.args = {"query", "key", "value"};
  // Split keys: the blocks write partials to scratch (the host side's own
  // buffers; a runtime allocates them per call), the combine kernel the
  // outputs.
  Value partialOut, partialStats;
  if (cfg.splitKeys > 1) {
    Type f32 = b.getF32Type();
    SmallVector<int64_t> rows = {cfg.splitKeys, cfg.batch, cfg.numQueryHeads,
                                 cfg.queryLen};
    SmallVector<int64_t> outShape(rows), statsShape(rows);
    outShape.push_back(cfg.valueDim);
    statsShape.push_back(2);
    partialOut = memref::AllocOp::create(b, MemRefType::get(outShape, f32));
    partialStats = memref::AllocOp::create(b, MemRefType::get(statsShape, f32));
    buffers.append({partialOut, partialStats});
    launch.args.append({"partial_out", "partial_stats"});
  } else {
    buffers.push_back(op.getOutput());
    launch.args.push_back("output");
    if (cfg.withLse) {
      buffers.push_back(op.getLogSumExp());
      launch.args.push_back("log_sum_exp");
    }
  }
  SmallVector<Value> operands;
  for (Value buffer : buffers) {
    launch.argTypes.push_back(buffer.getType());
    // Run-time lengths: the kernel takes a pointer to the first element
    // (a one-element memref, bare-pointer convention) and views it.
    operands.push_back(cfg.dynamicLengths ? firstElement(b, buffer) : buffer);
  }
  operands.push_back(boundsBuffer);
  launch.args.push_back("bounds");
  launch.argTypes.push_back(boundsBuffer.getType());
  Value queryLen, keyLen;
  if (cfg.dynamicLengths) {
    queryLen = memref::DimOp::create(b, op.getQuery(), 2);
    keyLen = memref::DimOp::create(b, op.getKey(), 2);
    for (auto [name, length] :
         {std::pair{"query_len", queryLen}, std::pair{"key_len", keyLen}}) {
      operands.push_back(arith::IndexCastOp::create(b, b.getI64Type(), length));
      launch.args.push_back(name);
      launch.argTypes.push_back(b.getI64Type());
    }
  } else {
    Value workBuffer = makeGlobal(base + "_work", {numItems, 3}, launch.work);
    operands.push_back(workBuffer);
    launch.args.push_back("work");
    launch.argTypes.push_back(workBuffer.getType());
  }
  // TMA (cfg.tensorMaps): the maps of Q (query-tile rows), K and V (key-tile
  // rows) after the buffers; then (cfg.storesByMap) O's, a warp's 16 rows.
  SmallVector<TileMapSource> mapSources;
  if (cfg.tensorMaps)
    mapSources = {{op.getQuery(), "query", cfg.tileQ()},
                  {op.getKey(), "key", cfg.tileK},
                  {op.getValue(), "value", cfg.tileK}};
  if (cfg.storesByMap)
    mapSources.push_back({op.getOutput(), "output", kStoreBoxRows});
  size_t beforeMaps = operands.size();
  SmallVector<int32_t> mapArgs = appendTileMapArgs(
      b, mapSources, launch.args, operands, launch.tensorMaps);
  for (size_t i = beforeMaps; i < operands.size(); ++i)
    launch.argTypes.push_back(operands[i].getType());
  SmallVector<Type> argTypes;
  for (Value v : operands)
    argTypes.push_back(v.getType());
  // The contract keeps the buffers' own types only where the kernel's
  // parameters do not show them.
  if (!cfg.dynamicLengths)
    launch.argTypes.clear();

  OpBuilder kb = OpBuilder::atBlockEnd(&kernels.getBodyRegion().front());
  if (cfg.wgmma)
    declareDynamicShared(kernels, loc);
  gpu::GPUFuncOp kernel = buildAttentionKernel(kb, loc, base, argTypes, cfg);

  // A persistent kernel loops over the items: one block an SM slot; a
  // grouped zero tail takes several items a block (ZeroTail.h).
  int64_t blocks = cfg.persistent() ? std::min(numItems, cfg.persistentBlocks())
                                    : cfg.launchBlocks(numItems);
  launch.grid = {cfg.dynamicLengths ? kLauncherFills : blocks, cfg.splitKeys,
                 1};
  if (cfg.persistent())
    launch.maxBlocks = cfg.persistentBlocks();
  launch.minBlocksPerSM = cfg.compiledBlocksPerSM();
  launch.block = {cfg.threads(), 1, 1};
  launch.tile = {cfg.tileQ(), cfg.tileK};
  launch.mma = cfg.wgmma ? MmaKind::Wgmma : MmaKind::MmaSync;
  launch.dynamicSharedBytes = cfg.dynamicSharedBytes();
  launch.staticSharedBytes = cfg.sharedBytes() - cfg.dynamicSharedBytes();
  launch.op = index;
  applyProgrammaticLaunch(programmaticLaunchEnabled(options), kernel, launch);
  kernel->setAttr(KernelLaunch::kAttrName, launch.toAttr(b.getContext()));
  markTensorMapArgs(kernel, mapArgs);

  GpuArith e{b};
  Value one = e.index(1);
  // One block per (batch, head, query tile), before a grouped zero tail.
  Value items = cfg.dynamicLengths
                    ? e.mul(e.index(cfg.batch * cfg.numQueryHeads),
                            queryTileCount(e, cfg, queryLen))
                    : e.index(blocks);
  if (cfg.persistent() && cfg.dynamicLengths)
    items = e.min(items, e.index(cfg.persistentBlocks()));
  gpu::KernelDim3 grid{items, cfg.splitKeys > 1 ? e.index(cfg.splitKeys) : one,
                       one};
  gpu::KernelDim3 block{e.index(cfg.threads()), one, one};
  Value dynamicShared;
  if (cfg.wgmma)
    dynamicShared = arith::ConstantIntOp::create(b, b.getI32Type(),
                                                 cfg.dynamicSharedBytes());
  gpu::LaunchFuncOp::create(b, kernel, grid, block, dynamicShared, operands);
  if (cfg.splitKeys > 1)
    launchSplitCombine(b, op, kernels, base, cfg, partialOut, partialStats,
                       boundsBuffer, launch);
  op.erase();
  return success();
}

struct ConvertSpaToGPUPass
    : public mlir::spa::impl::ConvertSpaToGPUBase<ConvertSpaToGPUPass> {
  using Base::Base;

  ConvertSpaToGPUOptions options() const {
    ConvertSpaToGPUOptions o;
#define SPA_COPY_OPTION(field) o.field = field;
    SPA_GPU_KERNEL_OPTION_FIELDS(SPA_COPY_OPTION)
#undef SPA_COPY_OPTION
    return o;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    ConvertSpaToGPUOptions opts = options();
    if (std::string error = validateOptions(opts); !error.empty()) {
      emitError(module.getLoc()) << "convert-spa-to-gpu: " << error;
      return signalPassFailure();
    }
    // Forward and gradient ops in program order: their index names the
    // kernels and the launch contract's `op`.
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<AttentionOp, AttentionGradOp>(op))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    auto kernels =
        gpu::GPUModuleOp::create(builder, module.getLoc(), "spa_kernels");
    for (auto [index, op] : llvm::enumerate(ops)) {
      LogicalResult converted =
          isa<AttentionOp>(op)
              ? convert(cast<AttentionOp>(op), kernels, index, opts)
              : convertAttentionGrad(cast<AttentionGradOp>(op), kernels,
                                     index, opts);
      if (failed(converted))
        return signalPassFailure();
    }
  }
};

} // namespace
