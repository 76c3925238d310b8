//===- BackwardQueryStored.cpp - the one-product dQ kernel ----------------===//
//
// score-grads = store (ScoreGradStore.h): the dK/dV kernel has written
// every visited tile pair's dS^T, so dQ needs one product a tile pair:
//
//   per work item (batch, query head h, query tile of 64 rows):
//     for each interval slot of h, each side:
//       for each key tile (64 keys, the aligned grid) the rows reach:
//         K tile (TMA) and the pair's dS^T tile (one bulk copy) -> a stage
//         dQ += dS K   (wgmma m64n64k16, A = dS^T and B = K, both MN-major
//                       from shared memory, D / 64 chains of 4)
//     dQ * scale -> global (rows without keys: zeros), staged through
//     stage 0's K tile
//
// No S, no dP, no Q, dO, lse or Delta: the work per tile is one product and
// 8 KB of dS from memory (read once), so the tiles come through a ring of
// kStoredQueryStages stages (a K tile [D / 64][64][64] and a dS^T tile
// [64][64], both 128-byte swizzled, and one mbarrier each) with up to
// stages - 1 tiles in flight ahead of the product within a range (two
// stages: the blocks an SM hide the latency better than a deeper ring). Thread
// 0 issues the copies; a block barrier before each refill orders it after every
// warp's product on the buffer.
//
//===----------------------------------------------------------------------===//

#include "AsyncBarriers.h"
#include "BackwardKernels.h"
#include "BackwardStreamWalk.h"
#include "BackwardTile.h"
#include "KernelSkeleton.h"
#include "ScoreGradStore.h"
#include "TensorMaps.h"
#include "Wgmma.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

constexpr int64_t kStages = BackwardConfig::kStoredQueryStages;
constexpr int64_t kTile = BackwardConfig::kScoreGradTile;

class StoredQueryGradKernel {
public:
  explicit StoredQueryGradKernel(const BackwardConfig &grad) : k(grad) {}

  gpu::GPUFuncOp build(OpBuilder &moduleBuilder, Location loc, StringRef name,
                       ArrayRef<Type> argTypes) {
    OpBuilder body(moduleBuilder.getContext());
    gpu::GPUFuncOp func =
        beginBackwardKernel(moduleBuilder, loc, name, argTypes, k, body);
    ImplicitLocOpBuilder b(loc, body);
    auto args = func.getArguments();
    k.key = args[0];
    k.scoreGrad = args[1];
    k.queryGrad = args[2];
    k.bounds = args[3];
    k.work = args[4];
    keyMap = args[5];
    emitBody(b);
    gpu::ReturnOp::create(b);
    return func;
  }

private:
  BackwardContext k;
  Value keyMap;
  Value keyTiles;   ///< [stages][D / 64][64][64]
  Value scoreTiles; ///< [stages][64][64]
  Value barriers;   ///< the first of kStages mbarriers
  Value keyDesc;    ///< descriptor of keyTiles' buffer 0
  Value scoreDesc;  ///< descriptor of scoreTiles' buffer 0
  TileRing ring;

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
    int64_t keyBytes = kStages * kTile * cfg.headDim * 2;
    keyTiles = view({kStages, cfg.headDim / 64, kTile, 64}, 0);
    scoreTiles = view({kStages, kTile, 64}, keyBytes);
    barriers = sharedBarrier(
        b, whole, keyBytes + kStages * BackwardConfig::kScoreGradTileBytes);
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
    loadQueryTileWorkItem(b, k); // query tiles of ownRows() = 64 rows
    // The last existing row: the dK/dV walk never visits rows past Nq, so
    // neither may this one (its extra key tile would have no dS tile).
    k.lastPos =
        e.add(k.firstPos, e.min(e.index(kTile - 1),
                                e.sub(e.index(cfg.queryLen - 1), k.i0)));

    SmallVector<Value> dQ(cfg.headDim / 2, e.f32(0.0));
    dQ = walkKeyTiles(
        b, k, dQ,
        [&](ImplicitLocOpBuilder &ib, const KeyTileRange &range, Value j0,
            ValueRange carried) { return keyTile(ib, range, j0, carried); },
        [&](ImplicitLocOpBuilder &rb, const KeyTileRange &range) {
          beginRange(rb, range);
        });
    // Every product is complete and no copy is in flight (each range's
    // tiles are all taken): stage 0's K tile stages dQ's rows.
    gpu::BarrierOp::create(b);
    SmallVector<Value> tiles = toTiles(b, dQ);
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    Value staging = memref::ViewOp::create(
        b,
        MemRefType::get({cfg.headDim / 64, kTile, 64}, cfg.elementType,
                        MemRefLayoutAttrInterface(), workgroup),
        dynamicSharedBytes(b, grad.storedQuerySharedBytes()), e.index(0),
        ValueRange{});
    storeAccumulators(b, k, tiles, k.queryGrad, k.head, k.i0, cfg.queryLen,
                      grad.scale, staging);
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
  }

  /// Thread 0, when `enabled`: key tile j's K rows and the pair's dS^T tile
  /// into tile c's buffer, both completing on its barrier.
  void prefetch(ImplicitLocOpBuilder &b, const KeyTileRange &range, Value j,
                Value c, Value enabled) {
    const BackwardConfig &grad = k.grad;
    const KernelConfig &cfg = grad.base;
    onFirstThread(
        b, k,
        [&](ImplicitLocOpBuilder &ib) {
          GpuArith ie{ib};
          Value buffer = ring.buffer(ib, c);
          Value barrier = barrierAt(ib, barriers, buffer);
          arriveExpectingBytes(ib, barrier, grad.storedQueryStageBytes());
          loadTileByMap(ib, keyMap, keyTiles, buffer, barrier, k.batchIdx,
                        k.kvHead, j, kTile, cfg.headDim);
          // The dK/dV walk's first row for key tile j (the same formula).
          KeyTileGeometry geometry{
              ie, j,
              ie.min(ie.add(j, ie.index(kTile - 1)), ie.index(cfg.keyLen - 1)),
              cfg.queryLen, cfg.keyLen};
          Value firstRow =
              alignedQueryRange(geometry, range.lo, range.hi, range.side).first;
          Value tile = scoreGradTileIndex(ib, k, k.head, range.slot, range.side,
                                          j, k.i0, firstRow);
          Value to = ie.add(
              memref::ExtractAlignedPointerAsIndexOp::create(ib, scoreTiles),
              ie.mul(buffer, ie.index(BackwardConfig::kScoreGradTileBytes)));
          bulkLoadShared(ib, to, scoreGradTileAddress(ib, k.scoreGrad, tile),
                         barrier, BackwardConfig::kScoreGradTileBytes);
        },
        enabled);
  }

  /// Key tile j0 of the range: refill the buffer every warp is now done
  /// with, wait for this tile, add its product.
  SmallVector<Value> keyTile(ImplicitLocOpBuilder &b, const KeyTileRange &range,
                             Value j0, ValueRange carried) {
    const KernelConfig &cfg = k.grad.base;
    GpuArith e{b};
    Value c = ring.taken(b);
    gpu::BarrierOp::create(b);
    Value next = e.add(j0, e.index((kStages - 1) * kTile));
    prefetch(b, range, next, e.add(c, e.index(kStages - 1)),
             e.cmp(arith::CmpIPredicate::slt, next, range.end));
    ring.waitFor(b, barriers, c);
    ring.take(b, c);

    Value buffer =
        arith::IndexCastOp::create(b, b.getI64Type(), ring.buffer(b, c));
    auto stageOf = [&](Value desc, int64_t bytes) {
      return arith::AddIOp::create(
          b, desc,
          arith::MulIOp::create(b, buffer, i64Constant(b, bytes >> 4)));
    };
    Value a = stageOf(scoreDesc, BackwardConfig::kScoreGradTileBytes);
    Value kStage = stageOf(keyDesc, kTile * cfg.headDim * 2);
    SmallVector<Value> issued;
    for (int64_t nc = 0; nc < cfg.headDim / 64; ++nc) {
      SmallVector<Value> chunk = issueTransposedSharedAccumulate(
          b, cfg.elementType, a, advanceDescriptor(b, kStage, nc * kTile * 128),
          kTile, SmallVector<Value>(carried.slice(32 * nc, 32)));
      issued.append(chunk.begin(), chunk.end());
    }
    return waitForAccumulators(b, issued, 0);
  }
};

} // namespace

gpu::GPUFuncOp buildStoredQueryGradKernel(OpBuilder &moduleBuilder,
                                          Location loc, StringRef name,
                                          ArrayRef<Type> argTypes,
                                          const BackwardConfig &grad) {
  return StoredQueryGradKernel(grad).build(moduleBuilder, loc, name, argTypes);
}

} // namespace mlir::spa::gpu_kernel
