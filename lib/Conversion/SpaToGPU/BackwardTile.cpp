//===- BackwardTile.cpp - per-tile math of the backward kernels -----------===//

#include "BackwardTile.h"
#include "EdgeMask.h"
#include "MmaSync.h"
#include "StagedStores.h"

#include "spa/Conversion/Utils/BandGeometry.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;

namespace mlir::spa::gpu_kernel {

Value pairInterior(ImplicitLocOpBuilder &b, const BackwardContext &k,
                   Value queryFirst, int64_t queryRows, Value keyFirst,
                   int64_t keyRows, Value lo, Value hi, int side) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  Value offset = e.index(cfg.keyLen - cfg.queryLen);
  Value firstPos = e.add(queryFirst, offset);
  Value lastPos = e.add(firstPos, e.index(queryRows - 1));
  Value lastKey = e.add(keyFirst, e.index(keyRows - 1));
  Value lastQuery = e.add(queryFirst, e.index(queryRows - 1));
  BandGeometry geometry{e, firstPos, lastPos, Value()};
  Value inside = geometry.tileInside(keyFirst, lastKey, lo, hi, side);
  Value exist = e.andi(e.cmp(P::slt, lastKey, e.index(cfg.keyLen)),
                       e.cmp(P::slt, lastQuery, e.index(cfg.queryLen)));
  return e.andi(exist, inside);
}

/// The own row (key in dK/dV, query in dQ) of the lane's row g + 8r.
static Value ownRow(ImplicitLocOpBuilder &b, const BackwardContext &k,
                    const TilePair &pair, int64_t r) {
  GpuArith e{b};
  return e.add(pair.ownFirst,
               e.add(e.mul(k.warp, e.index(16)), e.add(k.g, e.index(8 * r))));
}

/// Whether element (nt, r, i) of the lane's tiles is an admissible pair,
/// tested per element: the dK/dV kernels (own rows are keys) without
/// grad.keyRowMasks.
static Value admissible(ImplicitLocOpBuilder &b, const BackwardContext &k,
                        const TilePair &pair, int64_t nt, int64_t r,
                        int64_t i) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  Value own = ownRow(b, k, pair, r);
  Value stream = e.add(pair.streamFirst,
                       e.add(e.index(8 * nt + i), e.mul(k.c, e.index(2))));
  Value key = pair.ownIsKey ? own : stream;
  Value query = pair.ownIsKey ? stream : own;
  Value p = e.add(query, e.index(cfg.keyLen - cfg.queryLen));
  Value d = pair.side > 0 ? e.sub(p, key) : e.sub(key, p);
  Value inBand = e.andi(e.cmp(P::sge, d, pair.lo), e.cmp(P::slt, d, pair.hi));
  Value exist = e.andi(e.cmp(P::slt, key, e.index(cfg.keyLen)),
                       e.cmp(P::slt, query, e.index(cfg.queryLen)));
  return e.andi(inBand, exist);
}

/// The stream columns the lane's own row g + 8r admits, once per row
/// (EdgeMask.h), relative to the lane's first column: keys of a query row
/// (the dQ kernel: 230 -> 167 registers, -4%, step 6e) or queries of a key
/// row (the dK/dV kernels with grad.keyRowMasks, step 6i).
static RowColumns ownRowColumns(ImplicitLocOpBuilder &b,
                                const BackwardContext &k, const TilePair &pair,
                                int64_t r, int64_t width) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  Value own = ownRow(b, k, pair, r);
  Value streamBase = e.add(pair.streamFirst, e.mul(k.c, e.index(2)));
  if (pair.ownIsKey)
    return queryColumns(b, own, e.cmp(P::slt, own, e.index(cfg.keyLen)),
                        streamBase, pair.lo, pair.hi, pair.side,
                        e.index(cfg.keyLen - cfg.queryLen),
                        e.index(cfg.queryLen), width);
  return keyColumns(b, e.add(own, e.index(cfg.keyLen - cfg.queryLen)),
                    e.cmp(P::slt, own, e.index(cfg.queryLen)), streamBase,
                    pair.lo, pair.hi, pair.side, e.index(cfg.keyLen), width);
}

/// Applies `compute` to every element; on edge tiles (not `pair.interior`)
/// inadmissible elements become 0. Interior tiles take no mask arithmetic.
static SmallVector<Value>
maskedElementwise(ImplicitLocOpBuilder &b, const BackwardContext &k,
                  const TilePair &pair, int64_t tiles,
                  const std::function<Value(ImplicitLocOpBuilder &, int64_t,
                                            int64_t, int64_t)> &compute) {
  Type f32 = b.getF32Type();
  auto build = [&](ImplicitLocOpBuilder &ib, bool masked) {
    GpuArith ie{ib};
    bool perRow = masked && (!pair.ownIsKey || k.grad.keyRowMasks);
    SmallVector<RowColumns> rows;
    for (int64_t r = 0; perRow && r < 2; ++r)
      rows.push_back(ownRowColumns(ib, k, pair, r, 8 * tiles));
    SmallVector<Value> results;
    for (int64_t nt = 0; nt < tiles; ++nt) {
      SmallVector<Value> elems;
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t i = 0; i < 2; ++i) {
          Value v = compute(ib, nt, r, i);
          if (masked)
            v = ie.select(perRow ? admitsColumn(ib, rows[r], 8 * nt + i)
                                 : admissible(ib, k, pair, nt, r, i),
                          v, ie.f32(0.0));
          elems.push_back(v);
        }
      results.push_back(make2x2(ib, elems, f32));
    }
    scf::YieldOp::create(ib, results);
  };
  auto ifOp = scf::IfOp::create(
      b, pair.interior,
      [&](OpBuilder &nb, Location l) {
        ImplicitLocOpBuilder ib(l, nb);
        build(ib, false);
      },
      [&](OpBuilder &nb, Location l) {
        ImplicitLocOpBuilder ib(l, nb);
        build(ib, true);
      });
  return SmallVector<Value>(ifOp.getResults());
}

SmallVector<Value> recomputeProbabilities(ImplicitLocOpBuilder &b,
                                          const BackwardContext &k,
                                          const TilePair &pair,
                                          ArrayRef<Value> scores,
                                          const ElementValue &lse2) {
  return maskedElementwise(
      b, k, pair, scores.size(),
      [&](ImplicitLocOpBuilder &ib, int64_t nt, int64_t r, int64_t i) {
        GpuArith ie{ib};
        Value s =
            ie.fmul(element(ib, scores[nt], r, i), ie.f32(k.cfg.scaleLog2));
        return ie.exp2(ie.fsub(s, lse2(ib, nt, r, i)));
      });
}

SmallVector<Value> scoreGradients(ImplicitLocOpBuilder &b,
                                  const BackwardContext &k,
                                  const TilePair &pair, ArrayRef<Value> probs,
                                  ArrayRef<Value> dP,
                                  const ElementValue &delta) {
  return maskedElementwise(
      b, k, pair, probs.size(),
      [&](ImplicitLocOpBuilder &ib, int64_t nt, int64_t r, int64_t i) {
        GpuArith ie{ib};
        return ie.fmul(element(ib, probs[nt], r, i),
                       ie.fsub(element(ib, dP[nt], r, i), delta(ib, nt, r, i)));
      });
}

void storeAccumulators(ImplicitLocOpBuilder &b, const BackwardContext &k,
                       ArrayRef<Value> acc, Value dest, Value head,
                       Value rowFirst, int64_t limit, double scale,
                       Value staging, Value map) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  if (staging && canStageRows(dest, 8 * int64_t(acc.size()))) {
    Value factor = e.f32(scale);
    storeRowsStaged(b, k, acc, {factor, factor}, staging, dest, k.batchIdx,
                    head, rowFirst, e.index(limit), map);
    return;
  }
  Type f32 = b.getF32Type();
  auto pairType = VectorType::get({2}, cfg.elementType);
  Value rowBase = e.add(rowFirst, e.add(e.mul(k.warp, e.index(16)), k.g));
  for (int64_t r = 0; r < 2; ++r) {
    Value row = e.add(rowBase, e.index(8 * r));
    emitIf(
        b, e.cmp(P::slt, row, e.index(limit)), [&](ImplicitLocOpBuilder &ib) {
          GpuArith ie{ib};
          for (auto [dt, tile] : llvm::enumerate(acc)) {
            Value v0 = ie.fmul(element(ib, tile, r, 0), ie.f32(scale));
            Value v1 = ie.fmul(element(ib, tile, r, 1), ie.f32(scale));
            Value pair = vector::FromElementsOp::create(
                ib, VectorType::get({2}, f32), ValueRange{v0, v1});
            Value narrow = arith::TruncFOp::create(ib, pairType, pair);
            Value col =
                ie.add(ie.index(int64_t(dt) * 8), ie.mul(k.c, ie.index(2)));
            vector::StoreOp::create(ib, narrow, dest,
                                    ValueRange{k.batchIdx, head, row, col},
                                    false, llvm::MaybeAlign(4));
          }
        });
  }
}

Value statisticsRow(ImplicitLocOpBuilder &b, const BackwardContext &k,
                    Value row) {
  GpuArith e{b};
  return e.min(row, e.index(k.cfg.queryLen - 1));
}

Value lseToLog2(ImplicitLocOpBuilder &b, Value lse) {
  GpuArith e{b};
  return e.fmul(lse, e.f32(M_LOG2E));
}

Value loadScaledLse(ImplicitLocOpBuilder &b, const BackwardContext &k,
                    Value head, Value row) {
  Value lse = memref::LoadOp::create(
      b, k.lse, ValueRange{k.batchIdx, head, statisticsRow(b, k, row)});
  return lseToLog2(b, lse);
}

Value loadRowDelta(ImplicitLocOpBuilder &b, const BackwardContext &k,
                   Value head, Value row) {
  return memref::LoadOp::create(
      b, k.delta, ValueRange{k.batchIdx, head, statisticsRow(b, k, row)});
}

std::pair<Value, Value> loadRowStatistics(ImplicitLocOpBuilder &b,
                                          const BackwardContext &k, Value head,
                                          Value row) {
  Value lse2 = loadScaledLse(b, k, head, row);
  return {lse2, loadRowDelta(b, k, head, row)};
}

} // namespace mlir::spa::gpu_kernel
