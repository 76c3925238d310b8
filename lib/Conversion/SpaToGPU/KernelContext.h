//===- KernelContext.h - values every part of a kernel reads ----*- C++ -*-===//
//
// The state shared by the skeleton, the mainloops, the softmax and the
// epilogue while one gpu.func is generated: its configuration, arguments,
// thread ids and the work item it computes. Also `GpuArith`, the arithmetic
// vocabulary of the kernel (IndexArith plus floats, shuffles, ex2).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_KERNELCONTEXT_H
#define SPA_LIB_CONVERSION_SPATOGPU_KERNELCONTEXT_H

#include "KernelConfig.h"

#include "spa/Conversion/Utils/IndexArith.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::spa::gpu_kernel {

using P = arith::CmpIPredicate;

/// IndexArith plus the float and warp operations of the kernel.
struct GpuArith : IndexArith {
  using IndexArith::IndexArith;
  Value fmax(Value x, Value y) { return arith::MaximumFOp::create(b, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  /// 2^x in one PTX instruction (see InlinePtx.h).
  Value exp2(Value x);
  Value shuffleXor(Value v, int32_t offset) {
    return gpu::ShuffleOp::create(b, v, offset, 32, gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
  Value toIndex(Value i32) {
    return arith::IndexCastOp::create(b, b.getIndexType(), i32);
  }
};

/// Query tiles of `queryLen` rows (an index value): one work item each per
/// (batch, head); what the launch, the closed-form item order and the
/// persistent item loop all count.
inline Value queryTileCount(GpuArith &e, const KernelConfig &cfg,
                            Value queryLen) {
  return e.div(e.add(queryLen, e.index(cfg.tileQ() - 1)), e.index(cfg.tileQ()));
}

/// The kernel's arguments, ids and work item, set by the skeleton.
struct KernelContext {
  explicit KernelContext(const KernelConfig &cfg) : cfg(cfg) {}
  const KernelConfig &cfg;
  // Arguments.
  Value query, key, value, out, lse, bounds, work;
  /// cfg.tensorMaps (forward): the grid-constant maps of q, k and v, the
  /// kernel's last three arguments.
  Value queryMap, keyMap, valueMap;
  /// cfg.storesByMap: the output's map (16-row boxes), the last argument.
  Value outMap;
  // Thread ids: lane = 4 g + c inside the warp (PTX's fragment layouts).
  Value lane, warp, g, c;
  // The work item: (batchIdx, head, query rows from i0), key/value head,
  // absolute positions of the tile's first and last rows.
  Value batchIdx, head, kvHead, i0, firstPos, lastPos;
  /// successor-prefetch: the entry of work item (this one + N) and whether
  /// it exists (loadSuccessorEntry; null where the kernel prefetches none).
  Value successorBatch, successorHead, successorTile, successorExists;
  /// Nq and Nk as index values: constants, or the kernel's query_len and
  /// key_len arguments (cfg.dynamicLengths).
  Value queryLen, keyLen;
  /// cfg.splitKeys > 1: which share of the item's key tiles (grid y).
  Value split;
};

/// One key range of a work item: the keys [begin, end) reached through the
/// distances [lo, hi) on one side (+1 causal, -1 the anti side).
struct KeyRange {
  Value lo, hi, begin, end;
  int side;
};

/// Whether a next key tile exists after the current one and where it starts
/// (the wgmma single-buffer schedule chains a work item's ranges).
struct NextTile {
  Value exists, start;
};

/// Interval `slot` [lo, hi) of the item's head, from the bounds table (as
/// index values; the table is clamped to distances that exist).
std::pair<Value, Value> loadInterval(ImplicitLocOpBuilder &b,
                                     const KernelContext &k, int64_t slot);
/// This thread's index in its block (32 warp + lane).
inline Value blockThread(ImplicitLocOpBuilder &b, const KernelContext &k) {
  GpuArith e{b};
  return e.add(e.mul(k.warp, e.index(32)), k.lane);
}

/// `body` under an `scf.if` on `condition` (an i1) with no results and no
/// else region: the kernels' one shape of code that only some threads run.
inline void emitIf(ImplicitLocOpBuilder &b, Value condition,
                   function_ref<void(ImplicitLocOpBuilder &)> body) {
  scf::IfOp::create(b, condition, [&](OpBuilder &nb, Location l) {
    ImplicitLocOpBuilder ib(l, nb);
    body(ib);
    scf::YieldOp::create(ib);
  });
}

/// The same for a slot index known at run time.
std::pair<Value, Value> loadInterval(ImplicitLocOpBuilder &b,
                                     const KernelContext &k, Value slot);

/// One entry of a kernel's static work list ([items][3] i32: batch, head,
/// tile index), as index values.
struct WorkItemEntry {
  Value batch, head, tile;
};
/// Row `item` of the work list `work`, its fields loaded in order.
WorkItemEntry loadWorkItem(ImplicitLocOpBuilder &b, Value work, Value item);

/// successor-prefetch: the entry of work item (item + ahead), loaded right
/// after the item's own so that both loads are in flight together (its
/// prefetches, issued after the item's own copies, then wait for nothing),
/// from a row clamped to the list so the load stays in bounds; `exists`
/// says whether that item is real.
struct SuccessorEntry {
  WorkItemEntry entry;
  Value exists;
};
SuccessorEntry loadSuccessorEntry(ImplicitLocOpBuilder &b, Value work,
                                  Value item, int64_t ahead);
inline void setSuccessor(KernelContext &k, const SuccessorEntry &next) {
  k.successorBatch = next.entry.batch;
  k.successorHead = next.entry.head;
  k.successorTile = next.entry.tile;
  k.successorExists = next.exists;
}

/// Folds `body(b, lo, hi, carried) -> carried` over the intervals of the
/// item's head: unrolled up to kMaxUnrolledSlots intervals per head, else in
/// an scf.for over the slots (kernel size independent of their number).
using IntervalBody = function_ref<SmallVector<Value>(
    ImplicitLocOpBuilder &, Value lo, Value hi, ValueRange carried)>;
SmallVector<Value> foldIntervals(ImplicitLocOpBuilder &b,
                                 const KernelContext &k, ValueRange init,
                                 IntervalBody body);
/// The same with the interval's slot (an index value) passed to `body`.
using IntervalSlotBody =
    function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value slot,
                                    Value lo, Value hi, ValueRange carried)>;
SmallVector<Value> foldIntervalSlots(ImplicitLocOpBuilder &b,
                                     const KernelContext &k, ValueRange init,
                                     IntervalSlotBody body);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_KERNELCONTEXT_H
