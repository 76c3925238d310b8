//===- KernelSkeleton.cpp - the gpu.func of one attention op --------------===//
//
//   per work item (batch, head, query tile of 16 * warps rows):
//     Q tile -> shared (mainloop)
//     [warp-specialised: a producer walks the same key tiles issuing their
//      copies; the consumers run what follows]
//     for each interval [lo, hi) of the head, each side:
//       for each key tile of the range the rows reach:
//         S = Q K^T                       (mainloop, incl. K/V copies)
//         mask edge tiles, online softmax (Softmax.cpp)
//         O = alpha O + P V               (mainloop)
//     O / l, log-sum-exp -> global        (Epilogue.cpp)
//
//===----------------------------------------------------------------------===//

#include "KernelSkeleton.h"
#include "Epilogue.h"
#include "KernelContext.h"
#include "Mainloop.h"
#include "MmaSync.h"
#include "Softmax.h"
#include "SplitKeys.h"
#include "WaveStagger.h"
#include "ZeroTail.h"

#include "spa/Conversion/Utils/BandGeometry.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

class KernelSkeleton {
public:
  KernelSkeleton(const KernelConfig &cfg)
      : k(cfg), mainloop(createMainloop(k)) {}

  gpu::GPUFuncOp build(OpBuilder &moduleBuilder, Location loc, StringRef name,
                       ArrayRef<Type> argTypes) {
    MLIRContext *ctx = moduleBuilder.getContext();
    SmallVector<Type> shared = mainloop->workgroupBuffers(ctx);
    auto fnType = FunctionType::get(ctx, argTypes, {});
    auto func =
        gpu::GPUFuncOp::create(moduleBuilder, loc, name, fnType, shared);
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                  UnitAttr::get(ctx));
    // ldmatrix and 16-byte vector stores need aligned shared buffers.
    for (unsigned i = 0; i < shared.size(); ++i)
      func.setWorkgroupAttributionAttr(
          i, "llvm.align",
          moduleBuilder.getI64IntegerAttr(mainloop->workgroupAlignment()));
    func.setKnownBlockSizeAttr(
        DenseI32ArrayAttr::get(ctx, {int32_t(k.cfg.threads()), 1, 1}));
    // Warp-specialised: ptxas must budget the registers setmaxnreg moves
    // for this many blocks an SM (it compiles the consumers' code for the
    // launch's share otherwise, and spills).
    // blocks-per-sm: the user's count, so that ptxas caps registers for it.
    int64_t minBlocks = k.cfg.compiledBlocksPerSM();
    if (minBlocks > 0)
      func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                    moduleBuilder.getI32IntegerAttr(int32_t(minBlocks)));
    Block &entry = func.getBody().front();
    OpBuilder ob = OpBuilder::atBlockBegin(&entry);
    ImplicitLocOpBuilder b(loc, ob);
    emitBody(b, func);
    gpu::ReturnOp::create(b);
    return func;
  }

private:
  KernelContext k;
  std::unique_ptr<Mainloop> mainloop;

  void bindArguments(ImplicitLocOpBuilder &b, gpu::GPUFuncOp func) {
    const KernelConfig &cfg = k.cfg;
    GpuArith e{b};
    auto args = func.getArguments();
    k.query = args[0];
    k.key = args[1];
    k.value = args[2];
    k.out = args[3];
    unsigned next = 4;
    // Split keys: args[3], args[4] are partial_out and partial_stats.
    if (cfg.withLse || cfg.splitKeys > 1)
      k.lse = args[next++];
    k.bounds = args[next++];
    if (cfg.dynamicLengths) {
      // The buffers arrive as pointers to their first element; view them
      // with the run-time lengths (contiguous, the launcher checks).
      k.queryLen =
          arith::IndexCastOp::create(b, b.getIndexType(), args[next++]);
      k.keyLen = arith::IndexCastOp::create(b, b.getIndexType(), args[next++]);
      auto view = [&](Value pointer, ArrayRef<int64_t> sizes, Value length) {
        Type element = cast<MemRefType>(pointer.getType()).getElementType();
        int64_t rank = sizes.size();
        SmallVector<int64_t> shape(sizes);
        shape[2] = ShapedType::kDynamic;
        SmallVector<OpFoldResult> dims, strides(rank);
        for (int64_t d = 0; d < rank; ++d)
          dims.push_back(d == 2 ? OpFoldResult(length)
                                : OpFoldResult(b.getIndexAttr(sizes[d])));
        // Contiguous strides: static from the length's dimension inwards,
        // run-time above it.
        int64_t inner = 1;
        for (int64_t d = rank - 1; d >= 2; --d) {
          strides[d] = b.getIndexAttr(inner);
          if (d > 2)
            inner *= sizes[d];
        }
        Value headStride = e.mul(length, e.index(inner));
        strides[1] = headStride;
        strides[0] = OpFoldResult(e.mul(headStride, e.index(sizes[1])));
        return memref::ReinterpretCastOp::create(
            b, MemRefType::get(shape, element), pointer, b.getIndexAttr(0),
            dims, strides);
      };
      int64_t width = cfg.headDim, valueWidth = cfg.valueDim;
      k.query =
          view(k.query, {cfg.batch, cfg.numQueryHeads, 0, width}, k.queryLen);
      k.key = view(k.key, {cfg.batch, cfg.numKvHeads, 0, width}, k.keyLen);
      k.value =
          view(k.value, {cfg.batch, cfg.numKvHeads, 0, valueWidth}, k.keyLen);
      k.out = view(k.out, {cfg.batch, cfg.numQueryHeads, 0, valueWidth},
                   k.queryLen);
      if (cfg.withLse)
        k.lse = view(k.lse, {cfg.batch, cfg.numQueryHeads, 0}, k.queryLen);
    } else {
      k.work = args[next++];
      k.queryLen = e.index(cfg.queryLen);
      k.keyLen = e.index(cfg.keyLen);
    }
    if (cfg.tensorMaps) {
      k.queryMap = args[next++];
      k.keyMap = args[next++];
      k.valueMap = args[next++];
    }
    if (cfg.storesByMap)
      k.outMap = args[next++];
  }

  void readThreadIds(ImplicitLocOpBuilder &b) {
    GpuArith e{b};
    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    k.lane = e.rem(tid, e.index(32));
    k.warp = e.div(tid, e.index(32));
    k.g = e.div(k.lane, e.index(4));
    k.c = e.rem(k.lane, e.index(4));
  }

  /// The work items of this block: its own, or (persistent) every grid-th
  /// from its index.
  void forEachItem(ImplicitLocOpBuilder &b,
                   function_ref<void(ImplicitLocOpBuilder &, Value)> body) {
    const KernelConfig &cfg = k.cfg;
    GpuArith e{b};
    Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    if (!cfg.persistent()) {
      // The stagger is by launch slot; the item by list block.
      emitWaveStagger(b, block, cfg);
      return body(b, spreadTailBlocks(b, cfg, k.work, block));
    }
    Value items =
        cfg.dynamicLengths
            ? e.mul(e.index(cfg.batch * cfg.numQueryHeads),
                    queryTileCount(e, cfg, k.queryLen))
            : e.index(cast<MemRefType>(k.work.getType()).getDimSize(0));
    Value grid = gpu::GridDimOp::create(b, gpu::Dimension::x);
    scf::ForOp::create(b, block, items, grid, ValueRange{},
                       [&](OpBuilder &nb, Location l, Value item, ValueRange) {
                         ImplicitLocOpBuilder ib(l, nb);
                         body(ib, item);
                         scf::YieldOp::create(ib);
                       });
  }

  /// The work item (batch, head, query tile) `item`.
  void readWorkItem(ImplicitLocOpBuilder &b, Value item) {
    const KernelConfig &cfg = k.cfg;
    GpuArith e{b};
    if (cfg.splitKeys > 1)
      k.split = gpu::BlockIdOp::create(b, gpu::Dimension::y);
    if (cfg.dynamicLengths) {
      // No work list: blocks take the query tiles from the last (the
      // rows that reach the most keys) to the first, every (batch, head)
      // of a tile together: the cost order of the static list in closed
      // form.
      Value perTile = e.index(cfg.batch * cfg.numQueryHeads);
      Value tiles = queryTileCount(e, cfg, k.queryLen);
      Value fromLast = e.div(item, perTile);
      Value pair = e.rem(item, perTile);
      k.batchIdx = e.div(pair, e.index(cfg.numQueryHeads));
      k.head = e.rem(pair, e.index(cfg.numQueryHeads));
      Value tile = e.sub(e.sub(tiles, e.index(1)), fromLast);
      k.i0 = e.mul(tile, e.index(cfg.tileQ()));
    } else {
      WorkItemEntry entry = loadWorkItem(b, k.work, item);
      k.batchIdx = entry.batch;
      k.head = entry.head;
      k.i0 = e.mul(entry.tile, e.index(cfg.tileQ()));
      if (cfg.prefetchesSuccessor())
        setSuccessor(
            k, loadSuccessorEntry(b, k.work, item, cfg.successorPrefetch));
    }
    k.kvHead = e.div(k.head, e.index(cfg.numQueryHeads / cfg.numKvHeads));
    k.firstPos = e.add(k.i0, e.sub(k.keyLen, k.queryLen));
    k.lastPos = e.add(k.firstPos, e.index(cfg.tileQ() - 1));
  }

  /// Key ranges of one interval [lo, hi): one per side.
  void appendKeyRanges(ImplicitLocOpBuilder &b, Value lo, Value hi,
                       SmallVector<KeyRange> &ranges) {
    GpuArith e{b};
    for (int side : bandSides(k.cfg.bidirectional)) {
      BandGeometry geometry{e, k.firstPos, k.lastPos, k.keyLen};
      Value sideLo = geometry.sideLowerBound(lo, side);
      auto [begin, end] = geometry.keyRange(sideLo, hi, side);
      if (k.cfg.splitKeys > 1)
        std::tie(begin, end) = splitKeyRange(b, k, begin, end);
      ranges.push_back({sideLo, hi, begin, end, side});
    }
  }

  /// Key ranges of the item: each interval (and side) of the head.
  SmallVector<KeyRange> keyRanges(ImplicitLocOpBuilder &b) {
    SmallVector<KeyRange> ranges;
    for (int64_t slot = 0; slot < k.cfg.slots; ++slot) {
      auto [lo, hi] = loadInterval(b, k, slot);
      appendKeyRanges(b, lo, hi, ranges);
    }
    return ranges;
  }

  /// The mainloop over `ranges`, one after the other, from `state`.
  SmallVector<Value> runRanges(ImplicitLocOpBuilder &b,
                               ArrayRef<KeyRange> ranges,
                               SmallVector<Value> state) {
    GpuArith e{b};
    mainloop->beginRanges(b, ranges);
    for (auto [r, range] : llvm::enumerate(ranges)) {
      mainloop->beginRange(b, range);
      if (mainloop->runsRanges()) {
        state = mainloop->runRange(
            b, range, state,
            [&](ImplicitLocOpBuilder &ib, Value j0, ArrayRef<Value> scores,
                ArrayRef<Value> m, ArrayRef<Value> l) {
              return softmaxStep(ib, k, j0, range, scores, m, l);
            });
        continue;
      }
      auto loop = scf::ForOp::create(
          b, range.begin, range.end, e.index(k.cfg.tileK), state,
          [&](OpBuilder &nb, Location nloc, Value j0, ValueRange carried) {
            ImplicitLocOpBuilder ib(nloc, nb);
            scf::YieldOp::create(ib, keyTile(ib, j0, range, r, carried));
          });
      state.assign(loop.getResults().begin(), loop.getResults().end());
    }
    mainloop->endRanges(b);
    return state;
  }

  void emitBody(ImplicitLocOpBuilder &b, gpu::GPUFuncOp func) {
    bindArguments(b, func);
    mainloop->setupSharedMemory(b, func);
    readThreadIds(b);
    mainloop->beforeRoles(b);
    // Items whose rows reach no key (the list's zero tail) load no Q, walk
    // no range and only write their zero rows. Every role tests the item's
    // index the same way; the tail is a suffix of the list, so a persistent
    // block meets no item with keys after its first zero item (the roles'
    // barrier phases stay paired).
    mainloop->splitRoles(
        b,
        [&](ImplicitLocOpBuilder &pb) {
          forEachItem(pb, [&](ImplicitLocOpBuilder &ib, Value item) {
            readWorkItem(ib, item);
            branchOnZeroTail(ib, k.cfg, k.work, item, nullptr,
                             [&](ImplicitLocOpBuilder &rb) {
                               mainloop->loadQuery(rb);
                               produceItem(rb);
                             });
          });
        },
        [&](ImplicitLocOpBuilder &cb) {
          forEachItem(cb, [&](ImplicitLocOpBuilder &ib, Value item) {
            readWorkItem(ib, item);
            branchOnZeroTail(
                ib, k.cfg, k.work, item,
                [&](ImplicitLocOpBuilder &zb, const WorkItemEntry *entry) {
                  writeZeroItem(zb, entry);
                },
                [&](ImplicitLocOpBuilder &rb) {
                  mainloop->acquireQuery(rb);
                  consumeItem(rb);
                });
          });
        });
  }

  /// Folds `body` over the item's key ranges: all of them at once where
  /// the intervals are few enough to unroll (the chained schedule then
  /// prefetches across them), else one interval's ranges per iteration of
  /// a run-time loop (each iteration drains its copies: fine for rare,
  /// narrow bands), so compile time stays flat in the interval count. The
  /// consumers and a warp-specialised producer both walk it, so they visit
  /// the same tiles in the same order.
  SmallVector<Value> foldKeyRanges(
      ImplicitLocOpBuilder &b, SmallVector<Value> state,
      function_ref<SmallVector<Value>(ImplicitLocOpBuilder &,
                                      ArrayRef<KeyRange>, SmallVector<Value>)>
          body) {
    if (k.cfg.slots <= kMaxUnrolledSlots)
      return body(b, keyRanges(b), std::move(state));
    return foldIntervals(
        b, k, state,
        [&](ImplicitLocOpBuilder &ib, Value lo, Value hi, ValueRange carried) {
          SmallVector<KeyRange> ranges;
          appendKeyRanges(ib, lo, hi, ranges);
          return body(ib, ranges, SmallVector<Value>(carried));
        });
  }

  /// A warp-specialised producer: the item's key tiles in the consumers'
  /// order, each handed to produceTile.
  void produceItem(ImplicitLocOpBuilder &b) {
    foldKeyRanges(b, {},
                  [&](ImplicitLocOpBuilder &rb, ArrayRef<KeyRange> ranges,
                      SmallVector<Value> none) {
                    GpuArith e{rb};
                    for (const KeyRange &range : ranges)
                      scf::ForOp::create(rb, range.begin, range.end,
                                         e.index(k.cfg.tileK), ValueRange{},
                                         [&](OpBuilder &nb, Location nloc,
                                             Value j0, ValueRange) {
                                           ImplicitLocOpBuilder ib(nloc, nb);
                                           mainloop->produceTile(ib, j0, range);
                                           scf::YieldOp::create(ib);
                                         });
                    return none;
                  });
  }

  /// The row state before any key: m (2 rows), l (2 rows), O (Dv / 8
  /// tiles).
  SmallVector<Value> initialRowState(ImplicitLocOpBuilder &b) {
    GpuArith e{b};
    SmallVector<Value> state = {e.f32(-INFINITY), e.f32(-INFINITY),
                                e.f32(0.0), e.f32(0.0)};
    Value zeroAcc = zeroAccumulatorTile(b);
    for (int64_t t = 0; t < k.cfg.valueDim / 8; ++t)
      state.push_back(zeroAcc);
    return state;
  }

  /// The epilogue of `state` (split keys: the partials).
  void finishItem(ImplicitLocOpBuilder &b, ArrayRef<Value> state) {
    if (k.cfg.splitKeys > 1)
      emitPartialEpilogue(b, k, state);
    else
      emitEpilogue(b, k, state, mainloop->epilogueStaging());
  }

  /// The item's products and its epilogue (every thread, or the consumers
  /// of a warp-specialised kernel).
  void consumeItem(ImplicitLocOpBuilder &b) {
    SmallVector<Value> state =
        foldKeyRanges(b, initialRowState(b),
                      [&](ImplicitLocOpBuilder &rb, ArrayRef<KeyRange> ranges,
                          SmallVector<Value> carried) {
                        return runRanges(rb, ranges, std::move(carried));
                      });
    mainloop->releaseQuery(b);
    finishItem(b, state);
  }

  /// An item whose rows reach no key: the epilogue of the state before any
  /// key (what consumeItem writes when every range is empty), nothing
  /// loaded; in a grouped tail (`entry` given) O's rows 0 and lse -inf,
  /// by every thread of the block.
  void writeZeroItem(ImplicitLocOpBuilder &b, const WorkItemEntry *entry) {
    if (!entry)
      return finishItem(b, initialRowState(b));
    const KernelConfig &cfg = k.cfg;
    storeZeroRows(b, k, cfg.threads(), k.out, *entry, cfg.tileQ(), k.queryLen,
                  cfg.valueDim);
    if (cfg.withLse)
      fillRowStatistic(b, k, cfg.threads(), k.lse, *entry, cfg.tileQ(),
                       k.queryLen, GpuArith{b}.f32(-INFINITY));
  }

  /// One key tile, computed where the mainloop says this thread's rows
  /// reach it.
  SmallVector<Value> keyTile(ImplicitLocOpBuilder &b, Value j0,
                             const KeyRange &range, size_t r,
                             ValueRange state) {
    Value reaches = mainloop->beginTile(b, j0, range);
    SmallVector<Value> next;
    if (!reaches) {
      next = computeKeyTile(b, j0, range, r, state);
    } else {
      auto ifOp = scf::IfOp::create(
          b, reaches,
          [&](OpBuilder &nb, Location l) {
            ImplicitLocOpBuilder ib(l, nb);
            scf::YieldOp::create(ib, computeKeyTile(ib, j0, range, r, state));
          },
          [&](OpBuilder &nb, Location l) {
            scf::YieldOp::create(nb, l, state);
          });
      next.assign(ifOp.getResults().begin(), ifOp.getResults().end());
    }
    mainloop->endTile(b);
    return next;
  }

  /// Scores, softmax, O rescaled and accumulated.
  SmallVector<Value> computeKeyTile(ImplicitLocOpBuilder &b, Value j0,
                                    const KeyRange &range, size_t r,
                                    ValueRange state) {
    Type f32 = b.getF32Type();
    SmallVector<Value> scores = mainloop->computeScores(b, j0, range, r);
    SmallVector<Value> m(state.begin(), state.begin() + 2);
    SmallVector<Value> l(state.begin() + 2, state.begin() + 4);
    SoftmaxStep step = softmaxStep(b, k, j0, range, scores, m, l);
    SmallVector<Value> acc(state.begin() + 4, state.end());
    SmallVector<Value> next = step.m;
    next.append(step.l.begin(), step.l.end());
    // Rescale O rows by alpha.
    Value alphaTile = make2x2(
        b, {step.alpha[0], step.alpha[0], step.alpha[1], step.alpha[1]}, f32);
    for (Value &a : acc)
      a = arith::MulFOp::create(b, a, alphaTile);
    acc = mainloop->accumulateValues(b, step.probs, acc);
    next.append(acc.begin(), acc.end());
    return next;
  }
};

} // namespace

std::pair<Value, Value> loadInterval(ImplicitLocOpBuilder &b,
                                     const KernelContext &k, int64_t slot) {
  GpuArith e{b};
  return loadInterval(b, k, e.index(slot));
}

std::pair<Value, Value> loadInterval(ImplicitLocOpBuilder &b,
                                     const KernelContext &k, Value slot) {
  GpuArith e{b};
  Value lo = e.toIndex(memref::LoadOp::create(
      b, k.bounds, ValueRange{k.head, slot, e.index(0)}));
  Value hi = e.toIndex(memref::LoadOp::create(
      b, k.bounds, ValueRange{k.head, slot, e.index(1)}));
  return {lo, hi};
}

SmallVector<Value> foldIntervals(ImplicitLocOpBuilder &b,
                                 const KernelContext &k, ValueRange init,
                                 IntervalBody body) {
  return foldIntervalSlots(
      b, k, init,
      [&](ImplicitLocOpBuilder &ib, Value, Value lo, Value hi,
          ValueRange carried) { return body(ib, lo, hi, carried); });
}

SuccessorEntry loadSuccessorEntry(ImplicitLocOpBuilder &b, Value work,
                                  Value item, int64_t ahead) {
  GpuArith e{b};
  int64_t items = cast<MemRefType>(work.getType()).getDimSize(0);
  Value successor = e.add(item, e.index(ahead));
  SuccessorEntry next;
  next.exists = e.cmp(arith::CmpIPredicate::slt, successor, e.index(items));
  next.entry = loadWorkItem(b, work, e.min(successor, e.index(items - 1)));
  return next;
}

WorkItemEntry loadWorkItem(ImplicitLocOpBuilder &b, Value work, Value item) {
  GpuArith e{b};
  auto field = [&](int64_t index) {
    return e.toIndex(
        memref::LoadOp::create(b, work, ValueRange{item, e.index(index)}));
  };
  WorkItemEntry entry;
  entry.batch = field(0);
  entry.head = field(1);
  entry.tile = field(2);
  return entry;
}

SmallVector<Value> foldIntervalSlots(ImplicitLocOpBuilder &b,
                                     const KernelContext &k, ValueRange init,
                                     IntervalSlotBody body) {
  GpuArith e{b};
  SmallVector<Value> carried(init);
  if (k.cfg.slots <= kMaxUnrolledSlots) {
    for (int64_t slot = 0; slot < k.cfg.slots; ++slot) {
      Value slotIndex = e.index(slot);
      auto [lo, hi] = loadInterval(b, k, slotIndex);
      carried = body(b, slotIndex, lo, hi, carried);
    }
    return carried;
  }
  auto loop = scf::ForOp::create(
      b, e.index(0), e.index(k.cfg.slots), e.index(1), carried,
      [&](OpBuilder &nb, Location loc, Value slot, ValueRange state) {
        ImplicitLocOpBuilder ib(loc, nb);
        auto [lo, hi] = loadInterval(ib, k, slot);
        scf::YieldOp::create(ib, body(ib, slot, lo, hi, state));
      });
  return SmallVector<Value>(loop.getResults());
}

Value dynamicSharedBytes(ImplicitLocOpBuilder &b, int64_t bytes) {
  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                              gpu::AddressSpace::Workgroup);
  Type i8 = b.getI8Type();
  Value raw = memref::GetGlobalOp::create(
      b, MemRefType::get({0}, i8, MemRefLayoutAttrInterface(), workgroup),
      kDynamicSharedName);
  auto wholeType =
      MemRefType::get({bytes}, i8, MemRefLayoutAttrInterface(), workgroup);
  return memref::ReinterpretCastOp::create(b, wholeType, raw, int64_t(0),
                                           ArrayRef<int64_t>{bytes},
                                           ArrayRef<int64_t>{1});
}

gpu::GPUFuncOp buildAttentionKernel(OpBuilder &moduleBuilder, Location loc,
                                    StringRef name, ArrayRef<Type> argTypes,
                                    const KernelConfig &cfg) {
  return KernelSkeleton(cfg).build(moduleBuilder, loc, name, argTypes);
}

} // namespace mlir::spa::gpu_kernel
