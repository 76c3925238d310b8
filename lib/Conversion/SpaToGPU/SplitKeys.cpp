//===- SplitKeys.cpp - split-key work items and their combine kernel ------===//
//
// split-keys = S > 1 (FlashDecoding): a work item's key tiles are shared by
// S blocks (grid y = split s); each takes the s-th of S equal runs of
// every key range's tiles, so a few items against long key ranges (decode:
// one query row, thousands of keys) still fill the GPU. Each block stores
// its rows' partial state to scratch, unnormalised:
//
//   partial_stats[s, b, h, i] = (m, l)   running max (log2 units), row sum
//   partial_out[s, b, h, i, :] = O       sum of 2^(x - m) v, f32
//
// and a combine kernel (one warp per row) merges them:
//
//   M = max_s m_s;  L = sum_s l_s 2^(m_s - M);  O = sum_s O_s 2^(m_s - M) / L
//   lse = (M + log2 L) ln 2
//
// Rows the bands give no key get O = 0 and lse = -inf, decided by the same
// band geometry as the unsplit epilogue, so NaN and Inf propagate alike.
//
//===----------------------------------------------------------------------===//

#include "SplitKeys.h"
#include "Epilogue.h"
#include "InlinePtx.h"
#include "MmaSync.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;

namespace mlir::spa::gpu_kernel {

std::pair<Value, Value> splitKeyRange(ImplicitLocOpBuilder &b,
                                      const KernelContext &k, Value begin,
                                      Value end) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  Value tileK = e.index(cfg.tileK);
  // Tiles of the range, then ceil(tiles / S) of them for each split.
  Value length = arith::MaxSIOp::create(b, e.sub(end, begin), e.index(0));
  Value tiles = e.div(e.add(length, e.index(cfg.tileK - 1)), tileK);
  Value share =
      e.div(e.add(tiles, e.index(cfg.splitKeys - 1)), e.index(cfg.splitKeys));
  Value span = e.mul(share, tileK);
  Value first =
      arith::MinSIOp::create(b, e.add(begin, e.mul(k.split, span)), end);
  Value last = arith::MinSIOp::create(b, e.add(first, span), end);
  return {first, last};
}

void emitPartialEpilogue(ImplicitLocOpBuilder &b, const KernelContext &k,
                         ArrayRef<Value> state) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  Type f32 = b.getF32Type();
  Value rowBase = e.add(k.i0, e.add(e.mul(k.warp, e.index(16)), k.g));
  for (int64_t r = 0; r < 2; ++r) {
    Value l = state[2 + r];
    l = e.fadd(l, e.shuffleXor(l, 1));
    l = e.fadd(l, e.shuffleXor(l, 2));
    Value row = e.add(rowBase, e.index(8 * r));
    Value valid = e.cmp(P::slt, row, k.queryLen);
    scf::IfOp::create(b, valid, [&](OpBuilder &nb, Location loc) {
      ImplicitLocOpBuilder ib(loc, nb);
      GpuArith ie{ib};
      for (int64_t dt = 0; dt < cfg.valueDim / 8; ++dt) {
        Value acc = state[4 + dt];
        Value pair = vector::FromElementsOp::create(
            ib, VectorType::get({2}, f32),
            ValueRange{element(ib, acc, r, 0), element(ib, acc, r, 1)});
        Value col = ie.add(ie.index(dt * 8), ie.mul(k.c, ie.index(2)));
        vector::StoreOp::create(
            ib, pair, k.out, ValueRange{k.split, k.batchIdx, k.head, row, col},
            false, llvm::MaybeAlign(8));
      }
      Value first = ie.cmp(P::eq, k.c, ie.index(0));
      scf::IfOp::create(ib, first, [&](OpBuilder &nb2, Location l2) {
        ImplicitLocOpBuilder jb(l2, nb2);
        Value stats = vector::FromElementsOp::create(
            jb, VectorType::get({2}, f32), ValueRange{state[r], l});
        vector::StoreOp::create(
            jb, stats, k.lse,
            ValueRange{k.split, k.batchIdx, k.head, row, GpuArith{jb}.index(0)},
            false, llvm::MaybeAlign(8));
        scf::YieldOp::create(jb);
      });
      scf::YieldOp::create(ib);
    });
  }
}

namespace {

/// The combine kernel: 4 warps a block, one row (b, h, i) a warp, lanes
/// over the value columns.
class CombineKernel {
public:
  explicit CombineKernel(const KernelConfig &cfg) : k(cfg) {}

  gpu::GPUFuncOp build(OpBuilder &moduleBuilder, Location loc, StringRef name,
                       ArrayRef<Type> argTypes) {
    MLIRContext *ctx = moduleBuilder.getContext();
    auto func = gpu::GPUFuncOp::create(moduleBuilder, loc, name,
                                       FunctionType::get(ctx, argTypes, {}));
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
    func.setKnownBlockSizeAttr(
        DenseI32ArrayAttr::get(ctx, {int32_t(kCombineThreads), 1, 1}));
    OpBuilder ob = OpBuilder::atBlockBegin(&func.getBody().front());
    ImplicitLocOpBuilder b(loc, ob);
    emitBody(b, func);
    gpu::ReturnOp::create(b);
    return func;
  }

private:
  KernelContext k;

  void emitBody(ImplicitLocOpBuilder &b, gpu::GPUFuncOp func) {
    const KernelConfig &cfg = k.cfg;
    GpuArith e{b};
    auto args = func.getArguments();
    Value partialOut = args[0], partialStats = args[1];
    k.bounds = args[2];
    k.out = args[3];
    if (cfg.withLse)
      k.lse = args[4];
    k.queryLen = e.index(cfg.queryLen);
    k.keyLen = e.index(cfg.keyLen);

    Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value lane = e.rem(tid, e.index(32));
    Value warp = e.div(tid, e.index(32));
    Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
    Value row = e.add(e.mul(block, e.index(kCombineThreads / 32)), warp);
    int64_t rows = cfg.batch * cfg.numQueryHeads * cfg.queryLen;
    emitIf(b, e.cmp(P::slt, row, e.index(rows)), [&](ImplicitLocOpBuilder &ib) {
      combineRow(ib, row, lane, partialOut, partialStats);
    });
  }

  void combineRow(ImplicitLocOpBuilder &b, Value row, Value lane,
                  Value partialOut, Value partialStats) {
    const KernelConfig &cfg = k.cfg;
    GpuArith e{b};
    Value i = e.rem(row, e.index(cfg.queryLen));
    Value bh = e.div(row, e.index(cfg.queryLen));
    k.head = e.rem(bh, e.index(cfg.numQueryHeads));
    k.batchIdx = e.div(bh, e.index(cfg.numQueryHeads));
    auto stat = [&](ImplicitLocOpBuilder &ib, Value s, int64_t field) {
      return memref::LoadOp::create(
          ib, partialStats,
          ValueRange{s, k.batchIdx, k.head, i, GpuArith{ib}.index(field)});
    };
    auto overSplits = [&](ValueRange init, auto body) {
      auto loop = scf::ForOp::create(
          b, e.index(0), e.index(cfg.splitKeys), e.index(1), init,
          [&](OpBuilder &nb, Location l, Value s, ValueRange carried) {
            ImplicitLocOpBuilder ib(l, nb);
            scf::YieldOp::create(ib, body(ib, s, carried));
          });
      return SmallVector<Value>(loop.getResults());
    };
    // M, then L.
    Value maxLog2 = overSplits({e.f32(-INFINITY)}, [&](ImplicitLocOpBuilder &ib,
                                                       Value s, ValueRange c) {
      return SmallVector<Value>{GpuArith{ib}.fmax(c[0], stat(ib, s, 0))};
    })[0];
    auto weight = [&](ImplicitLocOpBuilder &ib, Value s) {
      GpuArith ie{ib};
      return unaryF32Ptx(ib, "ex2.approx.ftz.f32 $0, $1;",
                         ie.fsub(stat(ib, s, 0), maxLog2));
    };
    Value sum = overSplits(
        {e.f32(0.0)}, [&](ImplicitLocOpBuilder &ib, Value s, ValueRange c) {
          GpuArith ie{ib};
          return SmallVector<Value>{
              ie.fadd(c[0], ie.fmul(stat(ib, s, 1), weight(ib, s)))};
        })[0];
    Value position = e.add(i, e.index(cfg.keyLen - cfg.queryLen));
    Value hasKeys = rowHasKeys(b, k, position);
    Value inverse = arith::DivFOp::create(b, e.f32(1.0), sum);
    // Lanes over the columns, 32 apart.
    auto columns =
        scf::ForOp::create(b, lane, e.index(cfg.valueDim), e.index(32));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(columns.getBody());
      Value col = columns.getInductionVar();
      Value acc = overSplits(
          {e.f32(0.0)}, [&](ImplicitLocOpBuilder &ib, Value s, ValueRange c) {
            GpuArith ie{ib};
            Value o = memref::LoadOp::create(
                ib, partialOut, ValueRange{s, k.batchIdx, k.head, i, col});
            return SmallVector<Value>{ie.fadd(c[0], ie.fmul(o, weight(ib, s)))};
          })[0];
      // Rows without keys: 0 (every split's m is -inf, so the weights are
      // NaN; the select keeps them out).
      Value value = e.select(hasKeys, e.fmul(acc, inverse), e.f32(0.0));
      if (!cfg.tf32())
        value = arith::TruncFOp::create(b, cfg.elementType, value);
      memref::StoreOp::create(b, value, k.out,
                              ValueRange{k.batchIdx, k.head, i, col});
    }
    if (!cfg.withLse)
      return;
    emitIf(
        b, e.cmp(P::eq, lane, e.index(0)), [&](ImplicitLocOpBuilder &ib) {
          GpuArith ie{ib};
          Value natural = ie.fmul(
              ie.fadd(maxLog2,
                      unaryF32Ptx(ib, "lg2.approx.ftz.f32 $0, $1;", sum)),
              ie.f32(M_LN2));
          memref::StoreOp::create(
              ib, ie.select(hasKeys, natural, ie.f32(-INFINITY)), k.lse,
              ValueRange{k.batchIdx, k.head, i});
        });
  }
};

} // namespace

gpu::GPUFuncOp buildSplitCombineKernel(OpBuilder &moduleBuilder, Location loc,
                                       StringRef name, ArrayRef<Type> argTypes,
                                       const KernelConfig &cfg) {
  return CombineKernel(cfg).build(moduleBuilder, loc, name, argTypes);
}

} // namespace mlir::spa::gpu_kernel
