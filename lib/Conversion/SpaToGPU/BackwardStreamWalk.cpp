//===- BackwardStreamWalk.cpp - the query tiles a key tile visits ---------===//

#include "BackwardStreamWalk.h"
#include "ScoreGradStore.h"

#include "spa/Conversion/Utils/BandGeometry.h"
#include "spa/Conversion/Utils/KeyTileGeometry.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

SmallVector<Value> walkQueryTiles(ImplicitLocOpBuilder &b, BackwardContext &k,
                                  Value j0, ValueRange init, QueryTileBody body,
                                  QueryRangeHook onRange) {
  const BackwardConfig &grad = k.grad;
  const KernelConfig &cfg = grad.base;
  GpuArith e{b};
  Value firstHead = e.mul(k.kvHead, e.index(grad.groupSize()));
  auto headLoop = scf::ForOp::create(
      b, firstHead, e.add(firstHead, e.index(grad.groupSize())), e.index(1),
      init, [&](OpBuilder &nb, Location l, Value head, ValueRange carried) {
        ImplicitLocOpBuilder hb(l, nb);
        k.head = head;
        GpuArith he{hb};
        Value lastKey = he.min(he.add(j0, he.index(grad.ownRows() - 1)),
                               he.index(cfg.keyLen - 1));
        SmallVector<Value> state = foldIntervalSlots(
            hb, k, carried,
            [&](ImplicitLocOpBuilder &sb, Value slot, Value lo, Value hi,
                ValueRange slotState) -> SmallVector<Value> {
              GpuArith se{sb};
              SmallVector<Value> current(slotState);
              for (int side : bandSides(cfg.bidirectional)) {
                BandGeometry band{se, Value(), Value(), Value()};
                Value sideLo = band.sideLowerBound(lo, side);
                KeyTileGeometry geometry{se, j0, lastKey, cfg.queryLen,
                                         cfg.keyLen};
                std::pair<Value, Value> rows =
                    grad.storeScoreGrads
                        ? alignedQueryRange(geometry, sideLo, hi, side)
                        : geometry.queryRange(sideLo, hi, side);
                if (onRange)
                  onRange(sb, head, rows.first, rows.second);
                auto loop = scf::ForOp::create(
                    sb, rows.first, rows.second, se.index(grad.streamRows()),
                    current,
                    [&](OpBuilder &tb, Location tl, Value i0,
                        ValueRange inner) {
                      ImplicitLocOpBuilder ib(tl, tb);
                      QueryTileStep step{head, i0,   sideLo,    hi,
                                         side, slot, rows.first};
                      scf::YieldOp::create(ib, body(ib, step, inner));
                    });
                current.assign(loop.getResults().begin(),
                               loop.getResults().end());
              }
              return current;
            });
        scf::YieldOp::create(hb, state);
      });
  return SmallVector<Value>(headLoop.getResults());
}

SmallVector<Value> walkKeyTiles(ImplicitLocOpBuilder &b, BackwardContext &k,
                                ValueRange init, KeyTileBody body,
                                KeyRangeHook onRange) {
  const BackwardConfig &grad = k.grad;
  const KernelConfig &cfg = grad.base;
  return foldIntervalSlots(
      b, k, init,
      [&](ImplicitLocOpBuilder &sb, Value slot, Value lo, Value hi,
          ValueRange slotState) -> SmallVector<Value> {
        GpuArith se{sb};
        SmallVector<Value> current(slotState);
        for (int side : bandSides(cfg.bidirectional)) {
          BandGeometry geometry{se, k.firstPos, k.lastPos,
                                se.index(cfg.keyLen)};
          Value sideLo = geometry.sideLowerBound(lo, side);
          auto [begin, end] = geometry.keyRange(sideLo, hi, side);
          if (grad.storeScoreGrads)
            begin = alignedRangeBegin(se, begin, end);
          KeyTileRange range{slot, sideLo, hi, side, begin, end};
          onRange(sb, range);
          auto loop = scf::ForOp::create(
              sb, begin, end, se.index(grad.streamRows()), current,
              [&](OpBuilder &nb, Location l, Value j0, ValueRange carried) {
                ImplicitLocOpBuilder ib(l, nb);
                scf::YieldOp::create(ib, body(ib, range, j0, carried));
              });
          current.assign(loop.getResults().begin(), loop.getResults().end());
        }
        return current;
      });
}

} // namespace mlir::spa::gpu_kernel
