//===- SpaGradToGPU.cpp - spa.attention_grad -> kernel launches -----------===//
//
// The gradient op's part of `convert-spa-to-gpu`: resolves the backward
// configuration (BackwardConfig.cpp), generates the dQ and dK/dV kernels
// (BackwardKernels.h), materialises the bounds table and both cost-sorted
// work lists as private constants, allocates the f32 Delta scratch
// [B, Hq, Nq] on the device, attaches a launch contract to each kernel
// (role dq / dkdv, delta as a scratch argument the dQ kernel writes) and
// replaces the op by the two gpu.launch_func in that order. With
// deterministic = false the launches are preprocess / dkdv_dq / dq_convert
// and an f32 scratch dq_accum joins delta: 64-row blocks of query rows,
// padded, laid out for bulk reductions (BackwardQueryAtomic.h). With
// score-grads = store they are preprocess / dkdv / dq_stored and the dS
// scratch score_grad joins delta (ScoreGradStore.h); with interleaved-dq
// too, the last two are one launch (dkdv_dq_stored, BackwardInterleaved.cpp)
// and the i32 scratch grad_sync joins them. With TMA
// loads the product kernels also take four tensor maps (TensorMaps.h),
// listed in the contract and in KernelLaunch::kTensorMapArgsAttrName. The
// dK/dV kernel has its own configuration (BackwardConfig::keyValueConfig):
// warp-specialised (backward-schedule), it runs 384 threads on key tiles
// of 128, while the preprocess and dQ kernels keep the options' warps.
//
//===----------------------------------------------------------------------===//

#include "SpaGradToGPU.h"
#include "BackwardKernels.h"
#include "BackwardQueryAtomic.h"
#include "GridDependency.h"
#include "HostTables.h"
#include "InterleavedSync.h"
#include "ScoreGradStore.h"
#include "TensorMaps.h"

#include "spa/Conversion/SpaToGPU/LaunchContract.h"
#include "spa/Dialect/Spa/IR/PlanInterop.h"
#include "spa/Planning/GradWorkList.h"
#include "spa/Planning/InterleavedWorkList.h"
#include "spa/Planning/WorkList.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

using namespace mlir;
using namespace mlir::spa;
using namespace mlir::spa::gpu_kernel;
namespace plan = ::spa::plan;

/// interleaved-dq's work table: the dK/dV list's rows, the dq_stored
/// list's, then the order in which the blocks claim them (column 0;
/// spa/Planning/InterleavedWorkList.h): each dQ block after the dK/dV
/// blocks whose dS it reads, by the lag.
static FailureOr<SmallVector<int32_t>>
interleavedWorkTable(AttentionGradOp op, const BackwardConfig &grad,
                     const BackwardConfig &keyValueGrad,
                     const BackwardConfig &storedQueryGrad,
                     const std::vector<plan::KeyTileWorkItem> &keyList,
                     const std::vector<plan::WorkItem> &queryList,
                     ArrayRef<int32_t> keyItems, ArrayRef<int32_t> queryItems) {
  const KernelConfig &cfg = grad.base;
  std::vector<int64_t> itemLastRead = plan::lastKeyItemRead(
      toPlanTable(op.getBandTable()), cfg.numKvHeads, cfg.queryLen, cfg.keyLen,
      BackwardConfig::kScoreGradTile, keyList, queryList);
  int64_t keyBlocks = keyValueGrad.base.launchBlocks(keyList.size());
  int64_t queryBlocks = storedQueryGrad.base.launchBlocks(queryList.size());
  // A grouped zero tail's blocks (several items each, none reading dS)
  // follow the items one a block.
  int64_t grouped = storedQueryGrad.base.zeroItemsFrom;
  std::vector<int64_t> blockLastRead(queryBlocks, -1);
  for (int64_t q = 0; q < queryBlocks && q < int64_t(itemLastRead.size()); ++q)
    if (grouped < 0 || q < grouped)
      blockLastRead[q] = itemLastRead[q];
  std::vector<int32_t> order =
      itemLastRead.size() == queryList.size()
          ? plan::interleaveBlocks(keyBlocks, blockLastRead,
                                   grad.interleavedLag)
          : std::vector<int32_t>();
  if (order.empty())
    return op.emitOpError("interleaved-dq: the dK/dV and dQ work lists do "
                          "not cover the same key tiles (a bug; use "
                          "interleaved-dq = false)");
  SmallVector<int32_t> table(keyItems.begin(), keyItems.end());
  table.append(queryItems.begin(), queryItems.end());
  for (int32_t entry : order)
    table.append({entry, 0, 0});
  return table;
}

LogicalResult
mlir::spa::convertAttentionGrad(AttentionGradOp op, gpu::GPUModuleOp kernels,
                                unsigned index,
                                const ConvertSpaToGPUOptions &options) {
  FailureOr<BackwardConfig> resolved = resolveBackwardConfig(op, options);
  if (failed(resolved))
    return failure();
  // One configuration per kernel shape: the dK/dV kernel's may have its
  // own warps (backward-schedule = ws), the others keep the options'.
  const BackwardConfig grad = resolved->queryConfig();
  BackwardConfig keyValueGrad = resolved->keyValueConfig();
  BackwardConfig storedQueryGrad = resolved->storedQueryConfig();
  const KernelConfig &cfg = grad.base;
  BandsAttr bands = op.getBandTable();
  plan::BandTable table = toPlanTable(bands);

  OpBuilder builder(op);
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  auto module = op->getParentOfType<ModuleOp>();
  SymbolTable symbols(module);

  SmallVector<int32_t> bounds = boundsTable(table, cfg);
  SmallVector<int32_t> queryItems, keyItems;
  // With score-grads = store the query list is the dq_stored kernel's, whose
  // items may be 128 rows (stored-dq-rows); else the dQ kernel's.
  const BackwardConfig &queryListGrad =
      grad.storeScoreGrads ? storedQueryGrad : grad;
  std::vector<plan::WorkItem> queryList = plan::buildWorkList(
      table, cfg.batch, cfg.queryLen, cfg.keyLen, queryListGrad.queryTile());
  for (const plan::WorkItem &item : queryList)
    queryItems.append(
        {int32_t(item.batch), int32_t(item.head), int32_t(item.queryTile)});
  // The recomputing dQ kernel writes its list's tail of query tiles without
  // keys without loading them (the dq_stored kernel's empty walk loads
  // nothing already).
  BackwardConfig queryGrad = grad;
  int64_t queryZeroFrom = plan::firstItemReachingNoKey(
      queryList, table, cfg.queryLen, cfg.keyLen, queryListGrad.queryTile());
  if (queryZeroFrom < int64_t(queryList.size())) {
    queryGrad.base.zeroItemsFrom = queryZeroFrom;
    queryGrad.base.zeroItemsPerBlock = queryGradZeroTailItems(options, grad);
    // The dq_stored kernel's empty walk loads nothing: its tail is taken
    // only where grouped (a block for several items), written by the
    // blocks of its items with keys or spread among them (not with
    // interleaved-dq, whose table orders its blocks).
    storedQueryGrad.base.zeroItemsFrom = queryZeroFrom;
    if (grad.interleavedQuery) {
      storedQueryGrad.base.zeroTailWithItemsAsked = false;
      storedQueryGrad.base.zeroTailSpreadAsked = false;
    }
    if (!storedQueryGrad.base.groupsZeroTail() &&
        !storedQueryGrad.base.zeroTailWithItems() &&
        !storedQueryGrad.base.spreadsZeroTail())
      storedQueryGrad.base.zeroItemsFrom = -1;
  }
  std::vector<plan::KeyTileWorkItem> keyList =
      plan::buildKeyTileWorkList(table, cfg.batch, cfg.numKvHeads, cfg.queryLen,
                                 cfg.keyLen, keyValueGrad.keyValueTile());
  for (const plan::KeyTileWorkItem &item : keyList)
    keyItems.append(
        {int32_t(item.batch), int32_t(item.kvHead), int32_t(item.keyTile)});
  // The classic dK/dV kernel writes the list's tail of key tiles no query
  // reaches without loading them (the warp-specialised one walks them).
  int64_t zeroFrom = plan::firstKeyTileItemReachedByNoQuery(
      keyList, table, cfg.numKvHeads, cfg.queryLen, cfg.keyLen,
      keyValueGrad.keyValueTile());
  if (!keyValueGrad.warpSpecialized && zeroFrom < int64_t(keyList.size()))
    keyValueGrad.base.zeroItemsFrom = zeroFrom;
  // interleaved-dq orders the dK/dV kernel's blocks by a table of its own:
  // its zero tail keeps blocks of its own there, last.
  if (grad.interleavedQuery) {
    keyValueGrad.base.zeroTailWithItemsAsked = false;
    keyValueGrad.base.zeroTailSpreadAsked = false;
  }

  std::string base = "spa_attention_grad_" + std::to_string(index);
  Value boundsBuffer =
      makeConstantTable(b, module, symbols, base + "_bounds",
                        {cfg.numQueryHeads, cfg.slots, 2}, bounds);
  int64_t numKeyItems = keyItems.size() / 3;
  int64_t numQueryItems = queryItems.size() / 3;
  Value keyWork = makeConstantTable(b, module, symbols, base + "_dkdv_work",
                                    {numKeyItems, 3}, keyItems);
  Value queryWork = makeConstantTable(b, module, symbols, base + "_dq_work",
                                      {numQueryItems, 3}, queryItems);
  auto deltaType = MemRefType::get({cfg.batch, cfg.numQueryHeads, cfg.queryLen},
                                   b.getF32Type());
  Value delta = gpu::AllocOp::create(b, deltaType, Type(), ValueRange{},
                                     ValueRange{}, ValueRange{})
                    .getMemref();
  Value accum;
  if (grad.atomicQuery)
    accum = gpu::AllocOp::create(b, queryAccumulatorType(b, grad), Type(),
                                 ValueRange{}, ValueRange{}, ValueRange{})
                .getMemref();

  Value scoreGrads, scoreGradSlots;
  if (grad.storeScoreGrads)
    scoreGrads = gpu::AllocOp::create(b, scoreGradType(b, grad), Type(),
                                      ValueRange{}, ValueRange{}, ValueRange{})
                     .getMemref();
  Value gradSync;
  if (grad.interleavedQuery)
    gradSync =
        gpu::AllocOp::create(
            b, MemRefType::get({gradSyncElements(grad.base)}, b.getI32Type()),
            Type(), ValueRange{}, ValueRange{}, ValueRange{})
            .getMemref();
  if (grad.compactScoreGrads)
    scoreGradSlots = makeConstantTable(b, module, symbols,
                                       base + "_score_grad_slots",
                                       grad.scoreGradSlotShape(),
                                       grad.scoreGradSlotBases);

  declareDynamicShared(kernels, op.getLoc());
  OpBuilder kb = OpBuilder::atBlockEnd(&kernels.getBodyRegion().front());
  Value one = arith::ConstantIndexOp::create(b, 1);

  struct Launch {
    BackwardKernel kernel;
    SmallVector<std::string> names;
    SmallVector<Value> operands;
    int64_t blocks;
    int64_t dynamicShared;
    ArrayRef<int32_t> work;
    const BackwardConfig *config; ///< the kernel's shapes and block
  };
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue(),
        o = op.getOutput(), lse = op.getLogSumExp(), dO = op.getOutputGrad();
  SmallVector<Launch> launches;
  SmallVector<int32_t> interleavedWork;
  if (grad.storeScoreGrads) {
    // Delta first (the dK/dV kernel reads it), then dK/dV, which stores
    // every visited tile pair's dS, then the one-product dQ kernel.
    launches = {
        {BackwardKernel::Preprocess,
         {"output", "output_grad", "delta", "bounds"},
         {o, dO, delta, boundsBuffer},
         grad.preprocessBlocks(),
         0,
         {},
         &grad},
        {BackwardKernel::KeyValue,
         {"query", "key", "value", "log_sum_exp", "output_grad", "delta",
          "key_grad", "value_grad", "score_grad"},
         {q, k, v, lse, dO, delta, op.getKeyGrad(), op.getValueGrad(),
          scoreGrads},
         keyValueGrad.base.launchBlocks(numKeyItems),
         keyValueGrad.sharedBytes(),
         keyItems,
         &keyValueGrad},
        {BackwardKernel::QueryStored,
         {"key", "score_grad", "query_grad"},
         {k, scoreGrads, op.getQueryGrad()},
         storedQueryGrad.base.launchBlocks(numQueryItems),
         storedQueryGrad.storedQuerySharedBytes(),
         queryItems,
         &storedQueryGrad},
    };
    // The constants: the compact layout's slot bases, then bounds and work.
    for (Launch &launch : llvm::drop_begin(launches)) {
      if (grad.compactScoreGrads) {
        launch.names.push_back("score_grad_slots");
        launch.operands.push_back(scoreGradSlots);
      }
      launch.names.append({"bounds", "work"});
      launch.operands.append(
          {boundsBuffer,
           launch.kernel == BackwardKernel::KeyValue ? keyWork : queryWork});
    }
    if (grad.interleavedQuery) {
      // interleaved-dq: the dK/dV and dq_stored launches become one
      // (BackwardInterleaved.cpp) on both lists and the planned order; the
      // preprocess also zeroes grad_sync (its claims and flags).
      FailureOr<SmallVector<int32_t>> table =
          interleavedWorkTable(op, grad, keyValueGrad, storedQueryGrad, keyList,
                               queryList, keyItems, queryItems);
      if (failed(table))
        return failure();
      interleavedWork = std::move(*table);
      Value work = makeConstantTable(
          b, module, symbols, base + "_interleaved_work",
          {int64_t(interleavedWork.size()) / 3, 3}, interleavedWork);
      Launch &preprocess = launches[0];
      preprocess.names.insert(preprocess.names.begin() + 3, "grad_sync");
      preprocess.operands.insert(preprocess.operands.begin() + 3, gradSync);
      Launch fused = launches[1];
      fused.kernel = BackwardKernel::Interleaved;
      // The dK/dV kernel's arguments up to its constants, dQ's output,
      // the flags, the constants.
      unsigned constants = fused.names.size() - 2;
      fused.names.resize(constants);
      fused.operands.resize(constants);
      fused.names.append({"query_grad", "grad_sync", "bounds", "work"});
      fused.operands.append({op.getQueryGrad(), gradSync, boundsBuffer, work});
      fused.blocks =
          int64_t(interleavedWork.size()) / 3 - numKeyItems - numQueryItems;
      fused.dynamicShared =
          interleavedSharedBytes(keyValueGrad, storedQueryGrad);
      fused.work = interleavedWork;
      launches = {preprocess, fused};
    }
  } else if (!grad.atomicQuery) {
    // The dQ kernel computes Delta for its own rows from O and dO
    // (BackwardDelta.h) and writes it for the dK/dV kernel: dQ first, and
    // no preprocess launch (its O and dO reads and its launch are saved;
    // the dQ kernel's second read of dO comes from L2).
    launches = {
        {BackwardKernel::Query,
         {"query", "key", "value", "log_sum_exp", "output_grad", "delta",
          "output", "query_grad", "bounds", "work"},
         {q, k, v, lse, dO, delta, o, op.getQueryGrad(), boundsBuffer,
          queryWork},
         queryGrad.base.launchBlocks(numQueryItems),
         queryGrad.sharedBytes(),
         queryItems,
         &queryGrad},
        {BackwardKernel::KeyValue,
         {"query", "key", "value", "log_sum_exp", "output_grad", "delta",
          "key_grad", "value_grad", "bounds", "work"},
         {q, k, v, lse, dO, delta, op.getKeyGrad(), op.getValueGrad(),
          boundsBuffer, keyWork},
         keyValueGrad.base.launchBlocks(numKeyItems),
         keyValueGrad.sharedBytes(),
         keyItems,
         &keyValueGrad},
    };
  } else {
    launches = {
        {BackwardKernel::Preprocess,
         {"output", "output_grad", "delta", "dq_accum", "bounds"},
         {o, dO, delta, accum, boundsBuffer},
         grad.preprocessBlocks(),
         0,
         {},
         &grad},
        {BackwardKernel::KeyValueQuery,
         {"query", "key", "value", "log_sum_exp", "output_grad", "delta",
          "key_grad", "value_grad", "dq_accum", "bounds", "work"},
         {q, k, v, lse, dO, delta, op.getKeyGrad(), op.getValueGrad(), accum,
          boundsBuffer, keyWork},
         keyValueGrad.base.launchBlocks(numKeyItems),
         keyValueGrad.sharedBytes(),
         keyItems,
         &keyValueGrad},
        {BackwardKernel::QueryConvert,
         {"dq_accum", "query_grad"},
         {accum, op.getQueryGrad()},
         grad.convertBlocks(),
         0,
         {},
         &grad},
    };
  }
  // TMA (grad.tensorMaps): the product kernels also take the maps of their
  // own tiles' and stream tiles' sources, appended in the order
  // bindTensorMaps reads (BackwardMainloop.h).
  for (Launch &launch : launches) {
    const BackwardConfig &kernelGrad = *launch.config;
    int64_t own = kernelGrad.ownRows(), stream = kernelGrad.streamRows();
    SmallVector<TensorMapArg, 4> maps;
    SmallVector<int32_t> mapArgs;
    if (grad.tensorMaps && launch.kernel == BackwardKernel::Query)
      mapArgs = appendTileMapArgs(b,
                                  {{q, "query", own},
                                   {dO, "output_grad", own},
                                   {k, "key", stream},
                                   {v, "value", stream}},
                                  launch.names, launch.operands, maps);
    else if (launch.kernel == BackwardKernel::QueryStored)
      mapArgs = appendTileMapArgs(b, {{k, "key", stream}}, launch.names,
                                  launch.operands, maps);
    else if (grad.tensorMaps &&
             (launch.kernel == BackwardKernel::KeyValue ||
              launch.kernel == BackwardKernel::KeyValueQuery ||
              launch.kernel == BackwardKernel::Interleaved))
      mapArgs = appendTileMapArgs(b,
                                  {{k, "key", own},
                                   {v, "value", own},
                                   {q, "query", stream},
                                   {dO, "output_grad", stream}},
                                  launch.names, launch.operands, maps);
    // Then (grad.storesByMap) the maps of the outputs the kernel stages, a
    // warp's 16 rows a box.
    SmallVector<TileMapSource, 2> stores;
    if (grad.storesByMap && launch.kernel == BackwardKernel::QueryStored)
      stores = {{op.getQueryGrad(), "query_grad", kStoreBoxRows}};
    if (grad.storesByMap && (launch.kernel == BackwardKernel::KeyValue ||
                             launch.kernel == BackwardKernel::KeyValueQuery))
      stores = {{op.getKeyGrad(), "key_grad", kStoreBoxRows},
                {op.getValueGrad(), "value_grad", kStoreBoxRows}};
    // The interleaved kernel's dQ blocks read K through the dK/dV blocks'
    // key_map (both 64 rows); their dQ has a map of its own.
    if (grad.storesByMap && launch.kernel == BackwardKernel::Interleaved)
      stores = {{op.getKeyGrad(), "key_grad", kStoreBoxRows},
                {op.getValueGrad(), "value_grad", kStoreBoxRows},
                {op.getQueryGrad(), "query_grad", kStoreBoxRows}};
    llvm::append_range(mapArgs, appendTileMapArgs(b, stores, launch.names,
                                                  launch.operands, maps));
    SmallVector<Type> argTypes;
    for (Value operand : launch.operands)
      argTypes.push_back(operand.getType());
    StringRef role = backwardKernelRole(launch.kernel);
    std::string name = base + "_" + role.str();
    gpu::GPUFuncOp func;
    switch (launch.kernel) {
    case BackwardKernel::Preprocess:
      func = buildPreprocessKernel(kb, op.getLoc(), name, argTypes, grad);
      break;
    case BackwardKernel::KeyValue:
    case BackwardKernel::KeyValueQuery:
      func =
          buildKeyValueGradKernel(kb, op.getLoc(), name, argTypes, kernelGrad);
      break;
    case BackwardKernel::QueryConvert:
      func = buildQueryConvertKernel(kb, op.getLoc(), name, argTypes, grad);
      break;
    case BackwardKernel::Query:
      func = buildQueryGradKernel(kb, op.getLoc(), name, argTypes, kernelGrad);
      break;
    case BackwardKernel::QueryStored:
      func = buildStoredQueryGradKernel(kb, op.getLoc(), name, argTypes,
                                        kernelGrad);
      break;
    case BackwardKernel::Interleaved:
      func = buildInterleavedGradKernel(
          kb, op.getLoc(), name, argTypes, launch.names, keyValueGrad,
          storedQueryGrad, numKeyItems, numQueryItems,
          keyValueGrad.base.launchBlocks(numKeyItems));
      break;
    }
    KernelLaunch contract;
    contract.grid = {launch.blocks, 1, 1};
    contract.block = {kernelGrad.blockThreads(), 1, 1};
    contract.args = launch.names;
    contract.bounds = bounds;
    contract.work.assign(launch.work.begin(), launch.work.end());
    if (llvm::is_contained(launch.names, "score_grad_slots"))
      contract.scoreGradSlots = grad.scoreGradSlotBases;
    contract.bands = bands;
    bool keyTiles = launch.kernel == BackwardKernel::KeyValue ||
                    launch.kernel == BackwardKernel::KeyValueQuery ||
                    launch.kernel == BackwardKernel::Interleaved;
    contract.tile = keyTiles ? std::array<int64_t, 2>{stream, own}
                             : std::array<int64_t, 2>{own, stream};
    // The elementwise kernels (preprocess, dq_convert) use no MMA; they
    // are listed as mma.sync, which any chip runs.
    bool elementwise = launch.kernel == BackwardKernel::Preprocess ||
                       launch.kernel == BackwardKernel::QueryConvert;
    contract.mma =
        !elementwise && cfg.wgmma ? MmaKind::Wgmma : MmaKind::MmaSync;
    contract.dynamicSharedBytes = launch.dynamicShared;
    contract.staticSharedBytes = 0;
    contract.role = role.str();
    contract.op = index;
    contract.tensorMaps = maps;
    applyProgrammaticLaunch(programmaticLaunchEnabled(options), func, contract);
    func->setAttr(KernelLaunch::kAttrName, contract.toAttr(b.getContext()));
    markTensorMapArgs(func, mapArgs);

    gpu::KernelDim3 grid{arith::ConstantIndexOp::create(b, launch.blocks), one,
                         one};
    gpu::KernelDim3 threads{
        arith::ConstantIndexOp::create(b, kernelGrad.blockThreads()), one, one};
    Value dynamicShared;
    if (launch.dynamicShared)
      dynamicShared =
          arith::ConstantIntOp::create(b, b.getI32Type(), launch.dynamicShared);
    gpu::LaunchFuncOp::create(b, func, grid, threads, dynamicShared,
                              launch.operands);
  }
  gpu::DeallocOp::create(b, Type(), ValueRange{}, delta);
  if (accum)
    gpu::DeallocOp::create(b, Type(), ValueRange{}, accum);
  if (scoreGrads)
    gpu::DeallocOp::create(b, Type(), ValueRange{}, scoreGrads);
  if (gradSync)
    gpu::DeallocOp::create(b, Type(), ValueRange{}, gradSync);
  op.erase();
  return success();
}
