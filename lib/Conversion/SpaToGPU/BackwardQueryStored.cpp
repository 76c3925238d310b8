//===- BackwardQueryStored.cpp - the one-product dQ kernel ----------------===//
//
// score-grads = store (ScoreGradStore.h): the dK/dV kernel has written
// every visited tile pair's dS^T, so dQ needs one product a tile pair:
//
//   per work item (batch, query head h, query rows [i0, i0 + R)), R = 64
//   (one warpgroup) or 128 (two; stored-dq-rows):
//     for each interval slot of h, each side:
//       for each key tile (64 keys, the aligned grid) the R rows reach:
//         K tile (TMA) and, for each warpgroup whose 64 rows reach it, the
//         pair's dS^T tile (one bulk copy) -> a stage
//         dQ += dS K   (each such warpgroup: wgmma m64n64k16, A = its dS^T
//                       and B = K, both MN-major from shared memory, D / 64
//                       chains of 4)
//     dQ * scale -> global (rows without keys: zeros), staged through
//     the K tiles
//
// No S, no dP, no Q, dO, lse or Delta: the work per tile is one product and
// 8 KB of dS from memory (read once), so the tiles come through a ring of
// storedQueryStages() stages (a K tile [D / 64][64][64] and a dS^T tile
// [64][64] per warpgroup, all 128-byte swizzled, and one mbarrier each)
// with up to stages - 1 tiles in flight ahead of the product within a range
// (two stages at 64 rows: the blocks an SM hide the latency better than a
// deeper ring; three at 128 rows, where registers, not shared memory, hold
// the blocks an SM). The kernel reads the K tiles from L2 once per item, so 128-row
// items halve that traffic, which bounds the 64-row kernel (docs/
// benchmarks.md). A warpgroup's 64 rows reach a key tile exactly when the
// dK/dV walk visited the pair (spa/Planning/ScoreGradTiles.h), so its dS
// tile exists; the item walks the keys all its rows reach (one contiguous
// range a band) and each warpgroup skips the tiles its rows do not. Thread 0
// issues the copies; a block barrier before each refill orders it after
// every warp's product on the buffer. At 128 rows ptxas takes 96 registers
// (two blocks, four warpgroups an SM, as the 64-row kernel's four blocks);
// asking for three blocks (80 registers) spills 344 bytes and serialises
// the wgmma.
//
//===----------------------------------------------------------------------===//

#include "AsyncBarriers.h"
#include "BackwardKernels.h"
#include "BackwardStreamWalk.h"
#include "BackwardTile.h"
#include "InterleavedSync.h"
#include "KernelSkeleton.h"
#include "ScoreGradStore.h"
#include "StagedStores.h"
#include "TensorMaps.h"
#include "Wgmma.h"
#include "ZeroTail.h"

#include "spa/Conversion/Utils/BandGeometry.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

constexpr int64_t kTile = BackwardConfig::kScoreGradTile;

class StoredQueryGradKernel final : public BackwardBlockBody {
public:
  explicit StoredQueryGradKernel(const BackwardConfig &grad)
      : k(grad), kStages(grad.storedQueryStages()) {}

  gpu::GPUFuncOp build(OpBuilder &moduleBuilder, Location loc, StringRef name,
                       ArrayRef<Type> argTypes) {
    OpBuilder body(moduleBuilder.getContext());
    gpu::GPUFuncOp func =
        beginBackwardKernel(moduleBuilder, loc, name, argTypes, k, body);
    ImplicitLocOpBuilder b(loc, body);
    bindArgs(func.getArguments());
    emitBody(b);
    gpu::ReturnOp::create(b);
    return func;
  }

  BackwardContext &context() override { return k; }
  void emit(ImplicitLocOpBuilder &b) override { emitBody(b); }

  /// key, score_grad, query_grad [, score_grad_slots], bounds, work,
  /// key_map [, query_grad_map].
  void bindArgs(ValueRange args) override {
    k.key = args[0];
    k.scoreGrad = args[1];
    k.queryGrad = args[2];
    unsigned next = 3;
    if (k.grad.compactScoreGrads)
      k.scoreGradSlots = args[next++];
    k.bounds = args[next];
    k.work = args[next + 1];
    keyMap = args[next + 2];
    if (k.grad.storesByMap)
      k.storeMaps[0] = args[next + 3];
  }

private:
  BackwardContext k;
  const int64_t kStages; ///< ring stages (storedQueryStages)
  Value keyMap;
  Value keyTiles;   ///< [stages][D / 64][64][64]
  Value scoreTiles; ///< [stages x warpgroups][64][64]
  Value barriers;   ///< the first of kStages mbarriers
  Value keyDesc;    ///< descriptor of keyTiles' buffer 0
  Value scoreDesc;  ///< descriptor of scoreTiles' buffer 0
  TileRing ring;
  Value ownRowOffset; ///< 64 x this thread's warpgroup

  /// Bytes of one K tile of the ring (kTile keys x D).
  int64_t keyTileBytes() const { return kTile * k.grad.base.headDim * 2; }

  /// Warpgroups of a block: one per 64 query rows of an item.
  int64_t warpgroups() const { return k.grad.ownRows() / 64; }

  void setupSharedMemory(ImplicitLocOpBuilder &b) {
    const BackwardConfig &grad = k.grad;
    const KernelConfig &cfg = grad.base;
    GpuArith e{b};
    Value whole = dynamicSharedBytes(b, grad.storedQuerySharedBytes());
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    auto view = [&](ArrayRef<int64_t> shape, int64_t offset) {
      auto type = MemRefType::get(shape, cfg.elementType,
                                  MemRefLayoutAttrInterface(), workgroup);
      return memref::ViewOp::create(b, type, whole, e.index(offset),
                                    ValueRange{})
          .getResult();
    };
    int64_t keyBytes = kStages * keyTileBytes();
    keyTiles = view({kStages, cfg.headDim / 64, kTile, 64}, 0);
    scoreTiles = view({kStages * warpgroups(), kTile, 64}, keyBytes);
    barriers =
        sharedBarrier(b, whole,
                      keyBytes + kStages * warpgroups() *
                                     BackwardConfig::kScoreGradTileBytes);
    keyDesc = descriptor(b, keyTiles, kTile);
    scoreDesc = descriptor(b, scoreTiles, kTile);
    ring = TileRing(b, kStages);
    onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
      prefetchTensorMap(ib, keyMap);
      for (int64_t s = 0; s < kStages; ++s)
        initBarrier(ib, barrierAt(ib, barriers, GpuArith{ib}.index(s)), 1);
      fenceBarrierInit(ib);
    });
    gpu::BarrierOp::create(b);
  }

  void emitBody(ImplicitLocOpBuilder &b) {
    const BackwardConfig &grad = k.grad;
    const KernelConfig &cfg = grad.base;
    GpuArith e{b};
    setupSharedMemory(b);
    loadQueryTileWorkItem(b, k); // query tiles of ownRows() rows
    // A grouped zero tail, one written by the blocks of the items with
    // keys, or a spread one (only then is zeroItemsFrom set here: the empty
    // walk of one item loads nothing): its items' dQ rows by every thread.
    branchOnZeroTail(
        b, cfg, k.work, blockItemIndex(b, k),
        [&](ImplicitLocOpBuilder &zb, const WorkItemEntry *entry) {
          // One tail item a block (spread): the block's own entry.
          if (!entry)
            entry = &k.blockEntry;
          storeZeroRows(zb, k, cfg.threads(), k.queryGrad, *entry,
                        grad.ownRows(), GpuArith{zb}.index(cfg.queryLen),
                        cfg.headDim);
        },
        [&](ImplicitLocOpBuilder &ib) { emitItem(ib); });
  }

  /// The item's walk over the key tiles its rows reach (their dS tiles
  /// times K), then dQ through shared memory.
  void emitItem(ImplicitLocOpBuilder &b) {
    const BackwardConfig &grad = k.grad;
    const KernelConfig &cfg = grad.base;
    GpuArith e{b};
    // The last existing row: the dK/dV walk never visits rows past Nq, so
    // neither may this one (its extra key tile would have no dS tile).
    k.lastPos =
        e.add(k.firstPos, e.min(e.index(grad.ownRows() - 1),
                                e.sub(e.index(cfg.queryLen - 1), k.i0)));
    // This thread's warpgroup's first row in the item.
    ownRowOffset = e.mul(e.div(k.warp, e.index(4)), e.index(64));

    SmallVector<Value> dQ(cfg.headDim / 2, e.f32(0.0));
    dQ = walkKeyTiles(
        b, k, dQ,
        [&](ImplicitLocOpBuilder &ib, const KeyTileRange &range, Value j0,
            ValueRange carried) { return keyTile(ib, range, j0, carried); },
        [&](ImplicitLocOpBuilder &rb, const KeyTileRange &range) {
          beginRange(rb, range);
        });
    // Every product is complete and no copy is in flight (each range's
    // tiles are all taken): the K tiles stage dQ's rows.
    gpu::BarrierOp::create(b);
    SmallVector<Value> tiles = toTiles(b, dQ);
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    Value staging = memref::ViewOp::create(
        b,
        MemRefType::get({cfg.headDim / 64, grad.ownRows(), 64}, cfg.elementType,
                        MemRefLayoutAttrInterface(), workgroup),
        dynamicSharedBytes(b, grad.storedQuerySharedBytes()), e.index(0),
        ValueRange{});
    storeAccumulators(b, k, tiles, k.queryGrad, k.head, k.i0, cfg.queryLen,
                      grad.scale, staging, k.storeMaps[0]);
    // The block exits next: its TMA stores must have read the tiles.
    if (grad.storesByMap)
      waitStagedStores(b, k);
  }

  /// Whether the 64 rows at `rowOffset` of the item reach key tile j0
  /// through the range's interval and side: j0 lies in their own aligned key
  /// range (the 64-row kernel's whole walk), and the rows exist.
  Value rowsReach(ImplicitLocOpBuilder &b, const KeyTileRange &range, Value j0,
                  Value rowOffset) {
    const KernelConfig &cfg = k.grad.base;
    GpuArith e{b};
    Value i0 = e.add(k.i0, rowOffset);
    Value first = e.add(k.firstPos, rowOffset);
    Value exists = e.cmp(arith::CmpIPredicate::slt, i0, e.index(cfg.queryLen));
    Value last =
        e.add(first, e.min(e.index(63), e.sub(e.index(cfg.queryLen - 1), i0)));
    BandGeometry geometry{e, first, last, e.index(cfg.keyLen)};
    auto [begin, end] = geometry.keyRange(range.lo, range.hi, range.side);
    begin = alignedRangeBegin(e, begin, end);
    return e.andi(exists, e.andi(e.cmp(arith::CmpIPredicate::sle, begin, j0),
                                 e.cmp(arith::CmpIPredicate::slt, j0, end)));
  }

  /// The first stages - 1 tiles of the range, into the buffers after the
  /// tiles taken so far (every warp is done with them: the previous tile's
  /// block barrier came after their products).
  void beginRange(ImplicitLocOpBuilder &b, const KeyTileRange &range) {
    GpuArith e{b};
    Value taken = ring.taken(b);
    for (int64_t t = 0; t + 1 < kStages; ++t) {
      Value j = e.add(range.begin, e.index(t * kTile));
      prefetch(b, range, j, e.add(taken, e.index(t)),
               e.cmp(arith::CmpIPredicate::slt, j, range.end));
    }
    // score-grad-prefetch = P: the P tiles after the ring's first ones go
    // to L2 now; each tile taken then sends the one P tiles past its
    // refill (keyTile).
    if (int64_t ahead = k.grad.scoreGradPrefetch) {
      onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
        GpuArith ie{ib};
        Value first = ie.add(range.begin, ie.index((kStages - 1) * kTile));
        scf::ForOp::create(ib, first, ie.add(first, ie.index(ahead * kTile)),
                           ie.index(kTile), ValueRange{},
                           [&](OpBuilder &nb, Location l, Value j, ValueRange) {
                             ImplicitLocOpBuilder lb(l, nb);
                             prefetchScoreGradsToL2(lb, range, j);
                             scf::YieldOp::create(lb);
                           });
      });
    }
  }

  /// The padded layout's index needs the dK/dV walk's first row for key
  /// tile j (the same formula); the compact one looks it up (null).
  Value paddedFirstRow(ImplicitLocOpBuilder &b, const KeyTileRange &range,
                       Value j) {
    const KernelConfig &cfg = k.grad.base;
    if (k.grad.compactScoreGrads)
      return Value();
    GpuArith e{b};
    KeyTileGeometry geometry{
        e, j, e.min(e.add(j, e.index(kTile - 1)), e.index(cfg.keyLen - 1)),
        cfg.queryLen, cfg.keyLen};
    return alignedQueryRange(geometry, range.lo, range.hi, range.side).first;
  }

  /// score-grad-prefetch, thread 0: the dS^T tiles of key tile j (each
  /// warpgroup's whose rows reach it) into L2, when j is in the range. Read
  /// once, they come from memory: prefetched a few tiles ahead of their
  /// bulk copy, they are in flight together instead of a ring's depth at a
  /// time, and an item's first tiles all at its start.
  void prefetchScoreGradsToL2(ImplicitLocOpBuilder &b,
                              const KeyTileRange &range, Value j) {
    GpuArith e{b};
    Value inRange = e.cmp(arith::CmpIPredicate::slt, j, range.end);
    emitIf(b, inRange, [&](ImplicitLocOpBuilder &ib) {
      forEachScoreGradTile(
          ib, range, j, /*reach=*/{},
          [&](ImplicitLocOpBuilder &pb, int64_t, Value tile) {
            bulkPrefetchL2(pb, scoreGradTileAddress(pb, k.scoreGrad, tile),
                           BackwardConfig::kScoreGradTileBytes);
          });
    });
  }

  /// `body(b, w, tile)` for each warpgroup w whose rows reach key tile j,
  /// with the scratch index of its dS^T tile: every warpgroup at 64 rows,
  /// else under an scf.if of `reach[w]` (rowsReach, computed here when
  /// `reach` is empty): a warpgroup whose rows miss tile j has no dS tile
  /// there.
  void forEachScoreGradTile(
      ImplicitLocOpBuilder &b, const KeyTileRange &range, Value j,
      ArrayRef<Value> reach,
      function_ref<void(ImplicitLocOpBuilder &, int64_t, Value)> body) {
    GpuArith e{b};
    Value firstRow = paddedFirstRow(b, range, j);
    for (int64_t w = 0; w < warpgroups(); ++w) {
      auto withTile = [&](ImplicitLocOpBuilder &tb) {
        GpuArith te{tb};
        body(tb, w,
             scoreGradTileIndex(tb, k, k.head, range.slot, range.side, j,
                                te.add(k.i0, te.index(64 * w)), firstRow));
      };
      if (warpgroups() == 1) {
        withTile(b);
        continue;
      }
      Value reaches =
          reach.empty() ? rowsReach(b, range, j, e.index(64 * w)) : reach[w];
      emitIf(b, reaches, [&](ImplicitLocOpBuilder &tb) { withTile(tb); });
    }
  }

  /// Thread 0, when `enabled`: key tile j's K rows and the dS^T tile of
  /// each warpgroup whose rows reach it into tile c's buffer, all
  /// completing on its barrier.
  void prefetch(ImplicitLocOpBuilder &b, const KeyTileRange &range, Value j,
                Value c, Value enabled) {
    const BackwardConfig &grad = k.grad;
    const KernelConfig &cfg = grad.base;
    onFirstThread(
        b, k,
        [&](ImplicitLocOpBuilder &ib) {
          GpuArith ie{ib};
          // interleaved-dq: the dK/dV block of key tile j must have
          // written its dS tiles.
          if (k.gradSync)
            awaitKeyTile(ib, k, j);
          Value buffer = ring.buffer(ib, c);
          Value barrier = barrierAt(ib, barriers, buffer);
          SmallVector<Value> reach;
          if (warpgroups() == 1) {
            arriveExpectingBytes(ib, barrier, grad.storedQueryStageBytes());
          } else {
            Value bytes = ie.index(keyTileBytes());
            for (int64_t w = 0; w < warpgroups(); ++w) {
              reach.push_back(rowsReach(ib, range, j, ie.index(64 * w)));
              bytes = ie.add(
                  bytes,
                  ie.select(reach.back(),
                            ie.index(BackwardConfig::kScoreGradTileBytes),
                            ie.index(0)));
            }
            arriveExpectingBytes(ib, barrier, bytes);
          }
          loadTileByMap(ib, keyMap, keyTiles, buffer, barrier, k.batchIdx,
                        k.kvHead, j, kTile, cfg.headDim);
          forEachScoreGradTile(
              ib, range, j, reach,
              [&](ImplicitLocOpBuilder &lb, int64_t w, Value tile) {
                GpuArith le{lb};
                Value slotIndex =
                    le.add(le.mul(buffer, le.index(warpgroups())), le.index(w));
                Value to = le.add(
                    memref::ExtractAlignedPointerAsIndexOp::create(lb,
                                                                   scoreTiles),
                    le.mul(slotIndex,
                           le.index(BackwardConfig::kScoreGradTileBytes)));
                bulkLoadShared(lb, to,
                               scoreGradTileAddress(lb, k.scoreGrad, tile),
                               barrier, BackwardConfig::kScoreGradTileBytes);
              });
        },
        enabled);
  }

  /// Key tile j0 of the range: refill the buffer every warp is now done
  /// with, wait for this tile, add its product where this warpgroup's rows
  /// reach it.
  SmallVector<Value> keyTile(ImplicitLocOpBuilder &b, const KeyTileRange &range,
                             Value j0, ValueRange carried) {
    const KernelConfig &cfg = k.grad.base;
    GpuArith e{b};
    Value c = ring.taken(b);
    gpu::BarrierOp::create(b);
    Value next = e.add(j0, e.index((kStages - 1) * kTile));
    prefetch(b, range, next, e.add(c, e.index(kStages - 1)),
             e.cmp(arith::CmpIPredicate::slt, next, range.end));
    if (int64_t ahead = k.grad.scoreGradPrefetch)
      onFirstThread(b, k, [&](ImplicitLocOpBuilder &ib) {
        prefetchScoreGradsToL2(
            ib, range,
            GpuArith{ib}.add(next, GpuArith{ib}.index(ahead * kTile)));
      });
    ring.waitFor(b, barriers, c);
    ring.take(b, c);

    Value buffer = ring.buffer(b, c);
    auto product = [&](ImplicitLocOpBuilder &pb) {
      GpuArith pe{pb};
      // Stage `buffer`'s tiles; descriptors count 16-byte units.
      Value scoreTile = warpgroups() == 1
                            ? buffer
                            : pe.add(pe.mul(buffer, pe.index(warpgroups())),
                                     pe.div(ownRowOffset, pe.index(64)));
      auto offset = [&](Value desc, Value index, int64_t bytes) {
        return arith::AddIOp::create(
            pb, desc,
            arith::MulIOp::create(
                pb, arith::IndexCastOp::create(pb, pb.getI64Type(), index),
                i64Constant(pb, bytes >> 4)));
      };
      Value a =
          offset(scoreDesc, scoreTile, BackwardConfig::kScoreGradTileBytes);
      Value kStage = offset(keyDesc, buffer, keyTileBytes());
      SmallVector<Value> issued;
      for (int64_t nc = 0; nc < cfg.headDim / 64; ++nc) {
        SmallVector<Value> chunk = issueTransposedSharedAccumulate(
            pb, cfg.elementType, a,
            advanceDescriptor(pb, kStage, nc * kTile * 128), kTile,
            SmallVector<Value>(carried.slice(32 * nc, 32)));
        issued.append(chunk.begin(), chunk.end());
      }
      return waitForAccumulators(pb, issued, 0);
    };
    if (warpgroups() == 1)
      return product(b);
    auto reached = scf::IfOp::create(
        b, rowsReach(b, range, j0, ownRowOffset),
        [&](OpBuilder &nb, Location l) {
          ImplicitLocOpBuilder pb(l, nb);
          scf::YieldOp::create(pb, product(pb));
        },
        [&](OpBuilder &nb, Location l) {
          scf::YieldOp::create(nb, l, carried);
        });
    return SmallVector<Value>(reached.getResults());
  }
};

} // namespace

std::unique_ptr<BackwardBlockBody>
createStoredQueryGradBody(const BackwardConfig &grad) {
  return std::make_unique<StoredQueryGradKernel>(grad);
}

gpu::GPUFuncOp buildStoredQueryGradKernel(OpBuilder &moduleBuilder,
                                          Location loc, StringRef name,
                                          ArrayRef<Type> argTypes,
                                          const BackwardConfig &grad) {
  return StoredQueryGradKernel(grad).build(moduleBuilder, loc, name, argTypes);
}

} // namespace mlir::spa::gpu_kernel
