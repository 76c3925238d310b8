//===- BackwardKeyValueWs.cpp - the warp-specialised dK/dV kernel ---------===//
//
// backward-schedule = ws on sm_90a: FlashAttention-3's split of the dK/dV
// kernel into a producer and consumers, so that no block-wide barrier
// stands between the tensor cores and the next tile. Per work item (batch,
// key/value head, key tile of 128 keys), 384 threads:
//
//   warps 0-7   two consumer warpgroups (setmaxnreg.inc), 64 keys each:
//                 wait own[K, V]; dK = dV = 0
//                 per query tile c of the walk (BackwardStreamWalk.h),
//                 S = 3 stages:
//                   wait full[c % S] (phase c / S)
//                   if the tile reaches the warpgroup's 64 keys:
//                     S^T = K Q^T, dP^T = V dO^T            (issued together)
//                     P^T = exp2(S^T scale log2e - lse2)    (lse2 from shared)
//                     dV += P^T dO;  dS^T = P^T (dP^T - Delta)
//                     dK += dS^T Q;  wait for every product
//                   every thread arrives on empty[c % S]
//                 dK * scale, dV -> global through own K's and V's
//                 tiles (16-byte row chunks, StagedStores.h)
//   warp 8      the producer (setmaxnreg.dec): one lane issues the TMA
//               copies, all 32 stage the tile's row statistics:
//                 own K, V on own (one transaction barrier)
//                 per query tile c of the same walk:
//                   wait empty[c % S] (the release of tile c - S)
//                   lse * log2e and Delta of the 64 rows -> stats[c % S]
//                   Q, dO tiles -> stream[c % S] by TMA on full[c % S]
//   warps 9-11  idle (their registers go to the consumers)
//
// With deterministic = false the consumers also form each tile's dQ
// between dV's and dK's products and stage it, and warp 9 adds the staged
// pieces to dq_accum (BackwardQueryReduceWs.h); the dQ kernel is then not
// launched.
//
// Barrier counts: own 1 (the copies' bytes), full 32 (the producer warp's
// lanes, one of them expecting the copies' bytes), empty 256 (every
// consumer thread, after its last product reading the stage). Thread 0
// initialises them before the only block-wide barrier; from then on the
// roles meet on mbarriers only (the consumers among themselves also on
// named barrier 1 before their epilogue, and in the fused form's exchange).
// Both roles run walkQueryTiles, so their tile counts agree by
// construction.
//
//===----------------------------------------------------------------------===//

#include "AsyncBarriers.h"
#include "BackwardKernels.h"
#include "BackwardQueryReduceWs.h"
#include "BackwardStreamWalk.h"
#include "BackwardTile.h"
#include "KernelSkeleton.h"
#include "MmaSync.h"
#include "StagedStores.h"
#include "TensorMaps.h"
#include "Wgmma.h"

#include "spa/Conversion/Utils/KeyTileGeometry.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <optional>

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

/// The producer warp's lanes, each an arrival on a full barrier.
constexpr int32_t kProducerLanes = 32;

class WarpSpecializedKeyValueKernel {
public:
  explicit WarpSpecializedKeyValueKernel(const BackwardConfig &grad)
      : k(grad), grad(grad), cfg(grad.base) {
    assert(grad.warpSpecialized && grad.tensorMaps && !grad.atomicQuery &&
           cfg.warps == BackwardConfig::kWsConsumerWarps &&
           "resolveBackwardSchedule admits this kernel");
  }

  gpu::GPUFuncOp build(OpBuilder &moduleBuilder, Location loc, StringRef name,
                       ArrayRef<Type> argTypes) {
    OpBuilder body(moduleBuilder.getContext());
    gpu::GPUFuncOp func =
        beginBackwardKernel(moduleBuilder, loc, name, argTypes, k, body);
    // One block an SM: without it ptxas compiles the consumers' code for
    // the 168 registers 384 threads get by default and spills, setmaxnreg
    // or not (measured: 1072 spilled bytes against 44).
    func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                  moduleBuilder.getI32IntegerAttr(1));
    ImplicitLocOpBuilder b(loc, body);
    bindKeyValueGradArgs(k, func.getArguments());
    emitBody(b);
    gpu::ReturnOp::create(b);
    return func;
  }

private:
  BackwardContext k;
  const BackwardConfig &grad;
  const KernelConfig &cfg;
  SwizzledBackwardTiles tiles; ///< views, descriptors (BackwardMainloop.h)
  Value stats;             ///< [stages][2][streamRows] f32: lse2, Delta
  Value ownBarrier, fullBarriers, emptyBarriers;
  TileRing ring;           ///< the tiles this thread's role has taken
  Value warpgroupFirstKey; ///< consumers: j0 + 64 x (warpgroup)
  /// deterministic = false: each tile's dQ (BackwardQueryReduceWs.h).
  std::optional<WarpSpecializedQueryTile> fusedQuery;

  void emitBody(ImplicitLocOpBuilder &b) {
    GpuArith e{b};
    setupSharedMemory(b);
    Value j0 = loadKeyTileWorkItem(b, k);
    onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
      for (Value map :
           {k.ownMaps[0], k.ownMaps[1], k.streamMaps[0], k.streamMaps[1]})
        prefetchTensorMap(ib, map);
      GpuArith ie{ib};
      initBarrier(ib, ownBarrier, 1);
      for (int64_t s = 0; s < grad.streamStages(); ++s) {
        initBarrier(ib, barrierAt(ib, fullBarriers, ie.index(s)),
                    kProducerLanes);
        initBarrier(ib, barrierAt(ib, emptyBarriers, ie.index(s)),
                    int32_t(cfg.threads()));
      }
      fenceBarrierInit(ib);
    });
    // The only block-wide barrier: every role sees initialised barriers.
    gpu::BarrierOp::create(b);
    Value producerGroup = e.cmp(P::sge, k.warp, e.index(cfg.warps));
    scf::IfOp::create(
        b, producerGroup,
        [&](OpBuilder &nb, Location l) {
          ImplicitLocOpBuilder ib(l, nb);
          NVVM::SetMaxRegisterOp::create(ib,
                                         BackwardConfig::kWsProducerRegisters,
                                         NVVM::SetMaxRegisterAction::decrease);
          GpuArith ie{ib};
          scf::IfOp::create(ib, ie.cmp(P::eq, k.warp, ie.index(cfg.warps)),
                            [&](OpBuilder &pb, Location pl) {
                              ImplicitLocOpBuilder wb(pl, pb);
                              produce(wb, j0);
                              scf::YieldOp::create(wb);
                            });
          if (fusedQuery)
            scf::IfOp::create(ib,
                              ie.cmp(P::eq, k.warp, ie.index(cfg.warps + 1)),
                              [&](OpBuilder &pb, Location pl) {
                                ImplicitLocOpBuilder wb(pl, pb);
                                writeQueryGrads(wb, j0);
                                scf::YieldOp::create(wb);
                              });
          scf::YieldOp::create(ib);
        },
        [&](OpBuilder &nb, Location l) {
          ImplicitLocOpBuilder ib(l, nb);
          NVVM::SetMaxRegisterOp::create(ib,
                                         BackwardConfig::kWsConsumerRegisters,
                                         NVVM::SetMaxRegisterAction::increase);
          consume(ib, j0);
          scf::YieldOp::create(ib);
        });
  }

  void setupSharedMemory(ImplicitLocOpBuilder &b) {
    GpuArith e{b};
    Value whole = dynamicSharedBytes(b, grad.sharedBytes());
    tiles = swizzledBackwardTiles(b, grad, whole);
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    stats = memref::ViewOp::create(
        b,
        MemRefType::get({grad.streamStages(), 2, grad.streamRows()},
                        b.getF32Type(), MemRefLayoutAttrInterface(), workgroup),
        whole, e.index(grad.statsOffset()), ValueRange{});
    ownBarrier = sharedBarrier(
        b, whole, grad.barrierOffset() + 8 * BackwardConfig::kOwnBarrier);
    fullBarriers = sharedBarrier(
        b, whole, grad.barrierOffset() + 8 * BackwardConfig::kStreamBarriers);
    emptyBarriers = sharedBarrier(
        b, whole, grad.barrierOffset() + 8 * grad.releaseBarriers());
    ring = TileRing(b, grad.streamStages());
    if (grad.atomicQuery) {
      fusedQuery.emplace(k);
      fusedQuery->setupSharedMemory(b, whole);
    }
  }

  /// The producer warp: the own tiles once, then per query tile of the walk
  /// its statistics and its Q and dO tiles into the next free stage.
  void produce(ImplicitLocOpBuilder &b, Value j0) {
    GpuArith e{b};
    Value firstLane = e.cmp(P::eq, k.lane, e.index(0));
    emitIf(b, firstLane, [&](ImplicitLocOpBuilder &ib) {
      loadTilePairByMaps(ib, k, k.ownMaps, tiles.own, Value(), ownBarrier,
                         k.kvHead, j0, grad.ownRows());
    });
    walkQueryTiles(
        b, k, j0, ValueRange{},
        [&](ImplicitLocOpBuilder &tb, const QueryTileStep &step,
            ValueRange) -> SmallVector<Value> {
          GpuArith te{tb};
          Value c = ring.taken(tb);
          Value s = ring.buffer(tb, c);
          ring.waitForRelease(tb, emptyBarriers, c);
          // Rows lane, lane + 32, ... of the tile (rows past Nq clamped:
          // their pairs are masked).
          for (int64_t r = 0; r < grad.streamRows(); r += kProducerLanes) {
            Value row = te.add(te.index(r), k.lane);
            auto [lse2, delta] =
                loadRowStatistics(tb, k, step.head, te.add(step.i0, row));
            memref::StoreOp::create(tb, lse2, stats,
                                    ValueRange{s, te.index(0), row});
            memref::StoreOp::create(tb, delta, stats,
                                    ValueRange{s, te.index(1), row});
          }
          Value full = barrierAt(tb, fullBarriers, s);
          scf::IfOp::create(
              tb, firstLane,
              [&](OpBuilder &nb, Location l) {
                ImplicitLocOpBuilder ib(l, nb);
                loadTilePairByMaps(ib, k, k.streamMaps, tiles.stream, s, full,
                                   step.head, step.i0, grad.streamRows());
                scf::YieldOp::create(ib);
              },
              [&](OpBuilder &nb, Location l) {
                ImplicitLocOpBuilder ib(l, nb);
                arriveBarrier(ib, full);
                scf::YieldOp::create(ib);
              });
          ring.take(tb, c);
          return {};
        });
  }

  /// deterministic = false, warp 9: the dQ writer. Per query tile of the
  /// walk, the reductions of the pieces the consumer warpgroups stage
  /// (every warpgroup's with the exchange, else those the tile reaches).
  void writeQueryGrads(ImplicitLocOpBuilder &b, Value j0) {
    walkQueryTiles(
        b, k, j0, ValueRange{},
        [&](ImplicitLocOpBuilder &tb, const QueryTileStep &step,
            ValueRange) -> SmallVector<Value> {
          GpuArith te{tb};
          SmallVector<Value, 2> writes;
          for (int64_t w = 0; w < 2; ++w)
            writes.push_back(
                fusedQuery->everyWarpgroupTakesPart()
                    ? arith::ConstantIntOp::create(tb, tb.getI1Type(), 1)
                    : warpgroupReaches(tb, step, te.add(j0, te.index(64 * w))));
          fusedQuery->writePieces(tb, step.i0, writes);
          return {};
        });
    fusedQuery->drainWriter(b);
  }

  /// A consumer warpgroup: its 64 keys' dK and dV over the walk's tiles.
  void consume(ImplicitLocOpBuilder &b, Value j0) {
    GpuArith e{b};
    tiles.computeDescriptors(b, grad, k.warp);
    if (fusedQuery)
      fusedQuery->computeDescriptors(b, tiles.own[0], tiles.ownDesc[0]);
    warpgroupFirstKey =
        e.add(j0, e.mul(e.div(k.warp, e.index(4)), e.index(64)));
    waitBarrier(b, ownBarrier,
                arith::ConstantIntOp::create(b, b.getI32Type(), 0));
    Value zeroAcc = zeroAccumulatorTile(b);
    // Carried: dK (D / 8 tiles), then dV (Dv / 8 tiles).
    SmallVector<Value> init(cfg.headDim / 8 + cfg.valueDim / 8, zeroAcc);
    SmallVector<Value> result = walkQueryTiles(
        b, k, j0, init,
        [&](ImplicitLocOpBuilder &tb, const QueryTileStep &step,
            ValueRange carried) { return queryTile(tb, step, j0, carried); });
    ArrayRef<Value> acc(result);
    // dK through own K's tile, dV through own V's, once both consumer
    // warpgroups are done with them (the fused exchange form reads all 128
    // keys of K): named barrier 1 over the 256 consumers, the exchange's
    // id (bar.sync, the aligned form: every consumer warp reaches it here,
    // converged; the exchange itself uses the non-aligned barrier.sync).
    NVVM::BarrierOp::create(
        b, TypeRange{},
        arith::ConstantIntOp::create(b, b.getI32Type(),
                                     WarpSpecializedQueryTile::kExchangeBarrier),
        arith::ConstantIntOp::create(b, b.getI32Type(), 256),
        NVVM::BarrierReductionAttr(), Value());
    storeAccumulators(b, k, acc.take_front(cfg.headDim / 8), k.keyGrad,
                      k.kvHead, j0, cfg.keyLen, grad.scale, tiles.own[0],
                      k.storeMaps[0]);
    storeAccumulators(b, k, acc.drop_front(cfg.headDim / 8), k.valueGrad,
                      k.kvHead, j0, cfg.keyLen, 1.0, tiles.own[1],
                      k.storeMaps[1]);
    // The block exits next: its TMA stores must have read the tiles.
    if (grad.storesByMap)
      waitStagedStores(b, k);
  }

  /// One query tile against the warpgroup's keys: the classic kernel's
  /// product order (BackwardKeyValue.cpp), statistics from shared memory.
  SmallVector<Value> queryTile(ImplicitLocOpBuilder &b,
                               const QueryTileStep &step, Value j0,
                               ValueRange carried) {
    Value c = ring.taken(b);
    Value s = ring.buffer(b, c);
    ring.waitFor(b, fullBarriers, c);
    TilePair pair{j0,        step.i0, /*ownIsKey=*/true, step.lo, step.hi,
                  step.side, Value()};
    pair.interior = pairInterior(b, k, step.i0, grad.streamRows(), j0,
                                 grad.ownRows(), step.lo, step.hi, step.side);
    // A warpgroup whose 64 keys the tile does not reach (the first and
    // last tiles of a range often reach only one half of the 128 keys)
    // skips the products; it has waited for the stage all the same and
    // releases it below, so the barrier phases stay one per tile. With dQ
    // fused in the exchange form it still contributes zeros to dS and
    // forms its columns of dQ.
    auto ifOp = scf::IfOp::create(
        b, warpgroupReaches(b, step, warpgroupFirstKey),
        [&](OpBuilder &nb, Location l) {
          ImplicitLocOpBuilder ib(l, nb);
          scf::YieldOp::create(ib, products(ib, pair, s, c, carried));
        },
        [&](OpBuilder &nb, Location l) {
          ImplicitLocOpBuilder ib(l, nb);
          if (fusedQuery && fusedQuery->everyWarpgroupTakesPart()) {
            fusedQuery->stage(ib, {}, c);
            BackwardMainloop::Issued dQ = fusedQuery->issue(ib, c);
            fusedQuery->reduce(ib, completeWgmmaProducts(ib, {&dQ}, 0)[0],
                               step.i0);
          }
          scf::YieldOp::create(ib, carried);
        });
    // Every product reading the stage (and every statistics load) is done.
    arriveBarrier(b, barrierAt(b, emptyBarriers, s));
    ring.take(b, c);
    return SmallVector<Value>(ifOp.getResults());
  }

  /// Whether query tile `step` reaches any key of the 64 from `first` (a
  /// consumer warpgroup's keys).
  Value warpgroupReaches(ImplicitLocOpBuilder &b, const QueryTileStep &step,
                         Value first) {
    GpuArith e{b};
    Value last = e.min(e.add(first, e.index(63)), e.index(cfg.keyLen - 1));
    KeyTileGeometry geometry{e, first, last, cfg.queryLen, cfg.keyLen};
    auto [begin, end] = geometry.queryRange(step.lo, step.hi, step.side);
    Value tileEnd = e.add(step.i0, e.index(grad.streamRows()));
    return e.andi(
        e.cmp(P::slt, first, e.index(cfg.keyLen)),
        e.andi(e.cmp(P::slt, step.i0, end), e.cmp(P::sgt, tileEnd, begin)));
  }

  /// The four products of one tile (the c-th, in stage `s`) and the
  /// softmax math between them; with dQ fused, the fifth.
  SmallVector<Value> products(ImplicitLocOpBuilder &b, const TilePair &pair,
                              Value s, Value c, ValueRange carried) {
    using Issued = BackwardMainloop::Issued;
    Type elt = cfg.elementType;
    Value stage[2] = {tiles.streamStage(b, grad, 0, s),
                      tiles.streamStage(b, grad, 1, s)};
    // Query row 8 nt + 2c + i of the tile: the lane's columns.
    auto rowStatistic = [&](int64_t which) -> ElementValue {
      return
          [&, which](ImplicitLocOpBuilder &eb, int64_t nt, int64_t, int64_t i) {
            GpuArith se{eb};
            Value row = se.add(se.index(8 * nt + i), se.mul(k.c, se.index(2)));
            return memref::LoadOp::create(eb, stats,
                                          ValueRange{s, se.index(which), row})
                .getResult();
          };
    };
    SmallVector<Value> dK(carried.begin(), carried.begin() + cfg.headDim / 8);
    SmallVector<Value> dV(carried.begin() + cfg.headDim / 8, carried.end());
    // acc += A stage[w], A the rounded tiles packed by packAsA.
    auto accumulateWords = [&](ArrayRef<Value> words, unsigned w,
                               ArrayRef<Value> acc) {
      int64_t width = w == 0 ? cfg.headDim : cfg.valueDim;
      SmallVector<Value> flat;
      for (Value tile : acc)
        appendFlat(b, tile, flat);
      return Issued{issueRegisterAProduct(b, elt, stage[w], grad.streamRows(),
                                          width, words, flat),
                    true, SmallVector<Value>(words)};
    };
    auto accumulate = [&](ArrayRef<Value> tiles, unsigned w,
                          ArrayRef<Value> acc) {
      return accumulateWords(packAsA(b, elt, tiles), w, acc);
    };
    Issued scoresT{issueSharedProduct(b, elt, tiles.ownDesc[0], grad.ownRows(),
                                      stage[0], grad.streamRows(), cfg.headDim),
                   true};
    Issued dPT{issueSharedProduct(b, elt, tiles.ownDesc[1], grad.ownRows(),
                                  stage[1], grad.streamRows(), cfg.valueDim),
               true};
    SmallVector<Value> scores = completeWgmmaProducts(b, {&scoresT}, 1)[0];
    SmallVector<Value> probs =
        recomputeProbabilities(b, k, pair, scores, rowStatistic(0));
    Issued dVNext = accumulate(probs, 1, dV);
    SmallVector<Value> dP = completeWgmmaProducts(b, {&dPT}, 1)[0];
    SmallVector<Value> dS =
        scoreGradients(b, k, pair, probs, dP, rowStatistic(1));
    if (fusedQuery) {
      // dQ goes out before dK's product, so that its reduction is staged
      // while dK's is on the tensor cores.
      // dS^T rounded once: the exchange tile and dK's A operand.
      SmallVector<Value> words = packAsA(b, elt, dS);
      fusedQuery->stage(b, words, c);
      Issued dQ = fusedQuery->issue(b, c);
      Issued dKNext = accumulateWords(words, 0, dK);
      SmallVector<SmallVector<Value>> first =
          completeWgmmaProducts(b, {&dVNext, &dQ}, 1);
      fusedQuery->reduce(b, first[1], pair.streamFirst);
      SmallVector<Value> next = completeWgmmaProducts(b, {&dKNext}, 0)[0];
      next.append(first[0].begin(), first[0].end());
      return next;
    }
    Issued dKNext = accumulate(dS, 0, dK);
    SmallVector<SmallVector<Value>> done =
        completeWgmmaProducts(b, {&dKNext, &dVNext}, 0);
    SmallVector<Value> next = done[0];
    next.append(done[1].begin(), done[1].end());
    return next;
  }
};

} // namespace

gpu::GPUFuncOp buildKeyValueGradKernelWs(OpBuilder &moduleBuilder, Location loc,
                                         StringRef name,
                                         ArrayRef<Type> argTypes,
                                         const BackwardConfig &grad) {
  return WarpSpecializedKeyValueKernel(grad).build(moduleBuilder, loc, name,
                                                   argTypes);
}

} // namespace mlir::spa::gpu_kernel
