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
#include "KernelConfig.h"
#include "HostTables.h"
#include "KernelSkeleton.h"
#include "SpaGradToGPU.h"
#include "TensorMaps.h"

#include "spa/Conversion/SpaToGPU/LaunchContract.h"
#include "spa/Dialect/Spa/IR/PlanInterop.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Planning/BandPlan.h"
#include "spa/Planning/WorkList.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"


namespace mlir::spa {
#define GEN_PASS_DEF_CONVERTSPATOGPU
#include "spa/Conversion/Passes.h.inc"
} // namespace mlir::spa

using namespace mlir;
using namespace mlir::spa;
using namespace mlir::spa::gpu_kernel;
namespace plan = ::spa::plan;

namespace {

/// The cost-sorted work list (spa/Planning/WorkList.h) as [items][3] i32.
SmallVector<int32_t> workList(const plan::BandTable &table,
                              const KernelConfig &cfg) {
  SmallVector<int32_t> list;
  for (const plan::WorkItem &item :
       plan::buildWorkList(table, cfg.batch, cfg.queryLen, cfg.keyLen,
                           cfg.tileShape()))
    list.append({int32_t(item.batch), int32_t(item.head),
                 int32_t(item.queryTile)});
  return list;
}

LogicalResult convert(AttentionOp op, gpu::GPUModuleOp kernels,
                      unsigned index, const ConvertSpaToGPUOptions &options) {
  FailureOr<KernelConfig> resolved = resolveKernelConfig(op, options);
  if (failed(resolved))
    return failure();
  const KernelConfig &cfg = *resolved;
  BandsAttr bands = op.getBandTable();
  plan::BandTable table = toPlanTable(bands);

  OpBuilder builder(op);
  Location loc = op.getLoc();
  ImplicitLocOpBuilder b(loc, builder);

  // Host-side constants: the bounds table and the work list.
  auto module = op->getParentOfType<ModuleOp>();
  SymbolTable symbols(module);
  SmallVector<int32_t> boundValues = boundsTable(table, cfg);
  SmallVector<int32_t> items = workList(table, cfg);
  auto makeGlobal = [&](StringRef name, ArrayRef<int64_t> shape,
                        ArrayRef<int32_t> values) {
    return makeConstantTable(b, module, symbols, name, shape, values);
  };
  std::string base = "spa_attention_" + std::to_string(index);
  Value boundsBuffer = makeGlobal(base + "_bounds",
                                  {cfg.numQueryHeads, cfg.slots, 2},
                                  boundValues);
  int64_t numItems = items.size() / 3;
  Value workBuffer = makeGlobal(base + "_work", {numItems, 3}, items);

  KernelLaunch launch;
  SmallVector<Value> operands = {op.getQuery(), op.getKey(), op.getValue(),
                                 op.getOutput()};
  launch.args = {"query", "key", "value", "output"};
  if (cfg.withLse) {
    operands.push_back(op.getLogSumExp());
    launch.args.push_back("log_sum_exp");
  }
  operands.append({boundsBuffer, workBuffer});
  launch.args.append({"bounds", "work"});
  // TMA (cfg.tensorMaps): the maps of Q (query-tile rows), K and V (key-tile
  // rows) after the buffers.
  SmallVector<int32_t> mapArgs;
  if (cfg.tensorMaps)
    mapArgs = appendTileMapArgs(b,
                                {{op.getQuery(), "query", cfg.tileQ()},
                                 {op.getKey(), "key", cfg.tileK},
                                 {op.getValue(), "value", cfg.tileK}},
                                launch.args, operands, launch.tensorMaps);
  SmallVector<Type> argTypes;
  for (Value v : operands)
    argTypes.push_back(v.getType());

  OpBuilder kb = OpBuilder::atBlockEnd(&kernels.getBodyRegion().front());
  if (cfg.wgmma)
    declareDynamicShared(kernels, loc);
  gpu::GPUFuncOp kernel = buildAttentionKernel(kb, loc, base, argTypes, cfg);

  launch.grid = {numItems, 1, 1};
  launch.block = {cfg.threads(), 1, 1};
  launch.bounds = boundValues;
  launch.work = items;
  launch.bands = bands;
  launch.tile = {cfg.tileQ(), cfg.tileK};
  launch.mma = cfg.wgmma ? MmaKind::Wgmma : MmaKind::MmaSync;
  launch.dynamicSharedBytes = cfg.dynamicSharedBytes();
  launch.staticSharedBytes = cfg.sharedBytes() - cfg.dynamicSharedBytes();
  launch.op = index;
  kernel->setAttr(KernelLaunch::kAttrName, launch.toAttr(b.getContext()));
  markTensorMapArgs(kernel, mapArgs);

  Value one = arith::ConstantIndexOp::create(b, 1);
  gpu::KernelDim3 grid{arith::ConstantIndexOp::create(b, numItems), one, one};
  gpu::KernelDim3 block{arith::ConstantIndexOp::create(b, cfg.threads()), one,
                        one};
  Value dynamicShared;
  if (cfg.wgmma)
    dynamicShared = arith::ConstantIntOp::create(b, b.getI32Type(),
                                                 cfg.dynamicSharedBytes());
  gpu::LaunchFuncOp::create(b, kernel, grid, block, dynamicShared, operands);
  op.erase();
  return success();
}

struct ConvertSpaToGPUPass
    : public mlir::spa::impl::ConvertSpaToGPUBase<ConvertSpaToGPUPass> {
  using Base::Base;

  ConvertSpaToGPUOptions options() const {
    ConvertSpaToGPUOptions o;
    o.warps = warps;
    o.tileK = tileK;
    o.mma = mma;
    o.stages = stages;
    o.chip = chip;
    o.deterministic = deterministic;
    o.tma = tma;
    o.backwardSchedule = backwardSchedule;
    o.forwardSchedule = forwardSchedule;
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
