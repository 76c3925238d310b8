//===- Epilogue.cpp - normalise and store a work item's rows --------------===//

#include "Epilogue.h"
#include "InlinePtx.h"
#include "MmaSync.h"
#include "StagedStores.h"

#include "spa/Conversion/Utils/BandGeometry.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;

namespace mlir::spa::gpu_kernel {

Value rowHasKeys(ImplicitLocOpBuilder &b, const KernelContext &k,
                 Value position) {
  // A row has keys when one of the head's key ranges reaches it (the band
  // geometry, not l > 0: NaN and all -inf rows keep their keys, so NaN and
  // Inf propagate and 0 / 0 gives NaN as in PyTorch). The bounds are read
  // again rather than kept live across the key loops (registers).
  Value none = arith::ConstantIntOp::create(b, b.getI1Type(), 0);
  return foldIntervals(b, k, none,
                       [&](ImplicitLocOpBuilder &ib, Value lo, Value hi,
                           ValueRange found) -> SmallVector<Value> {
                         GpuArith ie{ib};
                         BandGeometry here{ie, position, position, k.keyLen};
                         Value any = found[0];
                         for (int side : bandSides(k.cfg.bidirectional)) {
                           auto [begin, end] = here.keyRange(
                               here.sideLowerBound(lo, side), hi, side);
                           any = ie.ori(any, ie.cmp(P::slt, begin, end));
                         }
                         return {any};
                       })[0];
}

void emitEpilogue(ImplicitLocOpBuilder &b, const KernelContext &k,
                  ArrayRef<Value> state, Value staging) {
  const KernelConfig &cfg = k.cfg;
  GpuArith e{b};
  Type f32 = b.getF32Type();
  SmallVector<Value> total(2), inverse(2), hasKeys(2);
  Value rowBase = e.add(k.i0, e.add(e.mul(k.warp, e.index(16)), k.g));
  for (int64_t r = 0; r < 2; ++r) {
    Value l = state[2 + r];
    l = e.fadd(l, e.shuffleXor(l, 1));
    l = e.fadd(l, e.shuffleXor(l, 2));
    total[r] = l;
    Value position =
        e.add(e.add(rowBase, e.index(8 * r)), e.sub(k.keyLen, k.queryLen));
    hasKeys[r] = rowHasKeys(b, k, position);
    inverse[r] = e.select(hasKeys[r], arith::DivFOp::create(b, e.f32(1.0), l),
                          e.f32(0.0));
  }
  bool staged = staging && canStageRows(k.out, cfg.valueDim);
  assert((staged || !k.outMap) && "cfg.storesByMap without a staged epilogue");
  if (staged) {
    // The item's Q copies and products are done on every warp (a block
    // barrier: a warp's waits cover its own copies and wgmma reads only).
    gpu::BarrierOp::create(b);
    storeRowsStaged(b, k, state.drop_front(4), inverse, staging, k.out,
                    k.batchIdx, k.head, k.i0, k.queryLen, k.outMap);
  }
  auto pairType = VectorType::get({2}, cfg.elementType);
  for (int64_t r = 0; r < 2; ++r) {
    Value row = e.add(rowBase, e.index(8 * r));
    Value valid = e.cmp(P::slt, row, k.queryLen);
    scf::IfOp::create(b, valid, [&](OpBuilder &nb, Location loc) {
      ImplicitLocOpBuilder ib(loc, nb);
      GpuArith ie{ib};
      // Staged: O already left through shared memory; only the lse here.
      for (int64_t dt = 0; !staged && dt < cfg.valueDim / 8; ++dt) {
        Value acc = state[4 + dt];
        Value v0 = ie.fmul(element(ib, acc, r, 0), inverse[r]);
        Value v1 = ie.fmul(element(ib, acc, r, 1), inverse[r]);
        Value pair = vector::FromElementsOp::create(
            ib, VectorType::get({2}, f32), ValueRange{v0, v1});
        Value narrow =
            cfg.tf32()
                ? pair
                : arith::TruncFOp::create(ib, pairType, pair).getResult();
        Value col = ie.add(ie.index(dt * 8), ie.mul(k.c, ie.index(2)));
        vector::StoreOp::create(ib, narrow, k.out,
                                ValueRange{k.batchIdx, k.head, row, col},
                                false, llvm::MaybeAlign(cfg.tf32() ? 8 : 4));
      }
      if (cfg.withLse) {
        Value first = ie.cmp(P::eq, k.c, ie.index(0));
        scf::IfOp::create(ib, first, [&](OpBuilder &nb2, Location l2) {
          ImplicitLocOpBuilder jb(l2, nb2);
          GpuArith je{jb};
          Value natural = je.fmul(
              je.fadd(state[r],
                      unaryF32Ptx(jb, "lg2.approx.ftz.f32 $0, $1;", total[r])),
              je.f32(M_LN2));
          Value value = je.select(hasKeys[r], natural, je.f32(-INFINITY));
          memref::StoreOp::create(jb, value, k.lse,
                                  ValueRange{k.batchIdx, k.head, row});
          scf::YieldOp::create(jb);
        });
      }
      scf::YieldOp::create(ib);
    });
  }
  // O's copies read Q's tile while the lse went out; the next item's Q
  // (or the block's exit) waits for them.
  if (staged && k.outMap)
    waitStagedStores(b, k);
}

} // namespace mlir::spa::gpu_kernel
