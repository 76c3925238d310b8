//===- MainloopSm80.cpp - ldmatrix + mma.sync mainloops --------------------===//
//
// The portable kernels (any sm_80+ chip): one padded shared buffer whose rows
// [0, Tk) hold K and [Tk, 2 Tk) V (the Q tile is staged across both before
// the key loop); synchronous 16-byte copies between block barriers. Each warp
// owns 16 query rows and keeps its Q fragments in registers for the whole
// work item.
//
//   f16/bf16: Q and K fragments by ldmatrix, S and O on mma.sync m16n8k16;
//             P re-packed from the S accumulators as A fragments, V through
//             ldmatrix.trans.
//   f32:      tf32 tensor cores (mma.sync m16n8k8), fragments read as 32-bit
//             words; P moved into the A layout by quad shuffles.
//
//===----------------------------------------------------------------------===//

#include "Mainloop.h"
#include "MmaSync.h"
#include "TileCopies.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {
namespace {

/// What the f16/bf16 and tf32 mainloops share: the buffer and its copies.
class MainloopSm80Base : public Mainloop {
public:
  using Mainloop::Mainloop;

  SmallVector<Type> workgroupBuffers(MLIRContext *ctx) const override {
    auto workgroup =
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    int64_t width = std::max(cfg.headDim, cfg.valueDim);
    return {MemRefType::get({cfg.sharedRows(), width + kSharedRowPad},
                            cfg.elementType, MemRefLayoutAttrInterface(),
                            workgroup)};
  }

  void setupSharedMemory(ImplicitLocOpBuilder &b,
                         gpu::GPUFuncOp func) override {
    smem = func.getWorkgroupAttributions()[0];
  }

  void loadQuery(ImplicitLocOpBuilder &b) override {
    GpuArith e{b};
    vRowBase = e.index(cfg.tileK);
    copyTile(b, k, k.query, k.head, k.i0, cfg.tileQ(), k.queryLen, cfg.headDim,
             smem, e.index(0));
    gpu::BarrierOp::create(b);
    Value row = e.add(e.mul(k.warp, e.index(16)), e.rem(k.lane, e.index(16)));
    loadQueryFragments(b, row);
  }

  SmallVector<Value> computeScores(ImplicitLocOpBuilder &b, Value j0,
                                   const KeyRange &, size_t) override {
    GpuArith e{b};
    gpu::BarrierOp::create(b); // previous tile's shared reads are done
    copyTile(b, k, k.key, k.kvHead, j0, cfg.tileK, k.keyLen, cfg.headDim, smem,
             e.index(0));
    copyTile(b, k, k.value, k.kvHead, j0, cfg.tileK, k.keyLen, cfg.valueDim,
             smem, vRowBase);
    gpu::BarrierOp::create(b);
    Value zeroAcc = zeroAccumulatorTile(b);
    SmallVector<Value> scores;
    for (int64_t nt = 0; nt < cfg.tileK / 8; ++nt)
      scores.push_back(scoreTile(b, nt, zeroAcc));
    return scores;
  }

protected:
  /// Q fragments of the warp's 16 rows (`row`: this lane's ldmatrix row).
  virtual void loadQueryFragments(ImplicitLocOpBuilder &b, Value row) = 0;
  /// Accumulator tile `nt` (keys 8 nt .. 8 nt + 7) of S = Q K^T.
  virtual Value scoreTile(ImplicitLocOpBuilder &b, int64_t nt,
                          Value zeroAcc) = 0;

  Value smem;     ///< [sharedRows][max(D, Dv) + pad]
  Value vRowBase; ///< first row of the V tile in `smem`
};

/// f16/bf16 on mma.sync m16n8k16.
class MainloopSm80MmaSync : public MainloopSm80Base {
public:
  using MainloopSm80Base::MainloopSm80Base;

  SmallVector<Value> accumulateValues(ImplicitLocOpBuilder &b,
                                      ArrayRef<Value> probs,
                                      SmallVector<Value> acc) override {
    GpuArith e{b};
    // O += P V: P as A fragments (two accumulator tiles per 16 keys).
    for (int64_t ks = 0; ks < cfg.tileK / 16; ++ks) {
      Value aFrag = accumulatorsAsA(b, probs[2 * ks], probs[2 * ks + 1],
                                    cfg.elementType);
      Value keyRow = e.add(e.index(ks * 16), e.rem(k.lane, e.index(16)));
      for (int64_t dt = 0; dt < cfg.valueDim / 8; ++dt) {
        Value bFrag = ldmatrix(b, cfg.elementType, smem,
                               e.add(vRowBase, keyRow), e.index(dt * 8), 2,
                               true);
        acc[dt] = mmaSync(b, aFrag, bFrag, acc[dt]);
      }
    }
    return acc;
  }

protected:
  void loadQueryFragments(ImplicitLocOpBuilder &b, Value row) override {
    GpuArith e{b};
    for (int64_t ks = 0; ks < cfg.headDim / 16; ++ks) {
      Value col = e.add(e.index(ks * 16),
                        e.mul(e.div(k.lane, e.index(16)), e.index(8)));
      queryFragments.push_back(
          ldmatrix(b, cfg.elementType, smem, row, col, 4, false));
    }
  }

  Value scoreTile(ImplicitLocOpBuilder &b, int64_t nt,
                  Value zeroAcc) override {
    GpuArith e{b};
    Value acc = zeroAcc;
    Value keyRow = e.add(e.index(nt * 8), e.rem(k.lane, e.index(8)));
    for (int64_t ks = 0; ks < cfg.headDim / 16; ++ks) {
      Value col = e.add(e.index(ks * 16),
                        e.mul(e.rem(e.div(k.lane, e.index(8)), e.index(2)),
                              e.index(8)));
      Value bFrag = ldmatrix(b, cfg.elementType, smem, keyRow, col, 2, false);
      acc = mmaSync(b, queryFragments[ks], bFrag, acc);
    }
    return acc;
  }

private:
  SmallVector<Value> queryFragments; ///< one vector<4x2> per 16 columns
};

/// f32 inputs on tf32 tensor cores (mma.sync m16n8k8).
class MainloopSm80Tf32 : public MainloopSm80Base {
public:
  using MainloopSm80Base::MainloopSm80Base;

  /// O += P V (one accumulator tile of P per 8 keys). The A fragment wants
  /// keys c and c + 4 of rows g and g + 8, while lane (g, c) holds keys 2c
  /// and 2c + 1: four quad shuffles per row fetch them.
  SmallVector<Value> accumulateValues(ImplicitLocOpBuilder &b,
                                      ArrayRef<Value> probs,
                                      SmallVector<Value> acc) override {
    GpuArith e{b};
    Type i32 = b.getI32Type();
    Value quadBase = e.mul(k.g, e.index(4));
    Value odd = e.cmp(P::eq, e.rem(k.c, e.index(2)), e.index(1));
    auto lane32 = [&](Value index) {
      return arith::IndexCastOp::create(b, i32, index).getResult();
    };
    Value fromLow = lane32(e.add(quadBase, e.div(k.c, e.index(2))));
    Value fromHigh =
        lane32(e.add(quadBase, e.add(e.index(2), e.div(k.c, e.index(2)))));
    Value width = arith::ConstantIntOp::create(b, i32, 32);
    auto fetch = [&](Value tile, int64_t r, Value srcLane) {
      SmallVector<Value> got;
      for (int64_t i = 0; i < 2; ++i)
        got.push_back(gpu::ShuffleOp::create(b, element(b, tile, r, i),
                                             srcLane, width,
                                             gpu::ShuffleMode::IDX)
                          .getShuffleResult());
      Value v = e.select(odd, got[1], got[0]);
      return arith::BitcastOp::create(b, i32, v).getResult();
    };
    for (int64_t kb = 0; kb < cfg.tileK / 8; ++kb) {
      SmallVector<Value> aFrag = {fetch(probs[kb], 0, fromLow),
                                  fetch(probs[kb], 1, fromLow),
                                  fetch(probs[kb], 0, fromHigh),
                                  fetch(probs[kb], 1, fromHigh)};
      // B = V (k8 keys x n8 columns): lane (g, c) holds V[key c][g] and
      // V[key c + 4][g].
      Value keyRow = e.add(vRowBase, e.add(e.index(kb * 8), k.c));
      for (int64_t dt = 0; dt < cfg.valueDim / 8; ++dt) {
        Value col = e.add(e.index(dt * 8), k.g);
        SmallVector<Value> bFrag = {
            sharedWord(b, keyRow, col),
            sharedWord(b, e.add(keyRow, e.index(4)), col)};
        acc[dt] = mmaSyncTf32(b, aFrag, bFrag, acc[dt]);
      }
    }
    return acc;
  }

protected:
  /// tf32 A fragments (rows g, g + 8; columns c, c + 4 of each 8).
  void loadQueryFragments(ImplicitLocOpBuilder &b, Value) override {
    GpuArith e{b};
    for (int64_t ks = 0; ks < cfg.headDim / 8; ++ks)
      for (int64_t half : {0, 4})
        for (int64_t r : {0, 8})
          queryFragments.push_back(sharedWord(
              b, e.add(e.add(e.mul(k.warp, e.index(16)), k.g), e.index(r)),
              e.add(e.index(ks * 8 + half), k.c)));
  }

  /// B = K^T (k8 x n8, column-major): lane (g, c) holds K[key g][c] and
  /// K[key g][c + 4] of each 8 columns.
  Value scoreTile(ImplicitLocOpBuilder &b, int64_t nt,
                  Value zeroAcc) override {
    GpuArith e{b};
    Value acc = zeroAcc;
    Value keyRow = e.add(e.index(nt * 8), k.g);
    for (int64_t ks = 0; ks < cfg.headDim / 8; ++ks) {
      Value col = e.add(e.index(ks * 8), k.c);
      SmallVector<Value> bFrag = {
          sharedWord(b, keyRow, col),
          sharedWord(b, keyRow, e.add(col, e.index(4)))};
      acc = mmaSyncTf32(b, ArrayRef<Value>(queryFragments).slice(4 * ks, 4),
                        bFrag, acc);
    }
    return acc;
  }

private:
  /// smem[row][col] of the f32 tile as an i32 (a tf32 operand).
  Value sharedWord(ImplicitLocOpBuilder &b, Value row, Value col) {
    Value v = memref::LoadOp::create(b, smem, ValueRange{row, col});
    return arith::BitcastOp::create(b, b.getI32Type(), v);
  }

  SmallVector<Value> queryFragments; ///< 4 i32 per 8 columns, flat
};

} // namespace

std::unique_ptr<Mainloop> createMainloopSm80(KernelContext &k) {
  if (k.cfg.tf32())
    return std::make_unique<MainloopSm80Tf32>(k);
  return std::make_unique<MainloopSm80MmaSync>(k);
}

} // namespace mlir::spa::gpu_kernel
