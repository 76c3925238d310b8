//===- ZeroTail.cpp - the work list's items that reach nothing ------------===//

#include "ZeroTail.h"
#include "StagedStores.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mlir::spa::gpu_kernel {

Value spreadTailBlocks(ImplicitLocOpBuilder &b, const KernelConfig &cfg,
                       Value work, Value block) {
  if (!cfg.spreadsZeroTail())
    return block;
  ::spa::plan::TailSpread spread =
      cfg.tailSpread(cast<MemRefType>(work.getType()).getDimSize(0));
  if (spread.tailBlocks == 0)
    return block;
  GpuArith e{b};
  // r = block - lead (clamped: the lead's blocks select `block` below; the
  // division is unsigned), then plan::spreadTailBlock.
  Value lead = e.index(spread.lead);
  Value total = e.index(spread.keyedBlocks + spread.tailBlocks - spread.lead);
  Value tail = e.index(spread.tailBlocks);
  Value r = spread.lead ? e.sub(e.max(block, lead), lead) : block;
  Value before = e.div(e.mul(r, tail), total);
  Value through = e.div(e.mul(e.add(r, e.index(1)), tail), total);
  Value spreadBlock = e.select(e.cmp(P::sgt, through, before),
                               e.add(e.index(spread.keyedBlocks), before),
                               e.sub(e.add(lead, r), before));
  if (!spread.lead)
    return spreadBlock;
  return e.select(e.cmp(P::slt, block, lead), block, spreadBlock);
}

void branchOnZeroTail(ImplicitLocOpBuilder &b, const KernelConfig &cfg,
                      Value work, Value block, ZeroItemWriter zeros,
                      function_ref<void(ImplicitLocOpBuilder &)> items) {
  if (cfg.zeroItemsFrom < 0)
    return items(b);
  GpuArith e{b};
  auto branch = [](function_ref<void(ImplicitLocOpBuilder &)> body) {
    return [body](OpBuilder &nb, Location loc) {
      ImplicitLocOpBuilder ib(loc, nb);
      body(ib);
      scf::YieldOp::create(ib);
    };
  };
  Value first = e.index(cfg.zeroItemsFrom);
  if (cfg.zeroTailWithItems()) {
    // Every block's own item has keys (the launch stops at the tail): the
    // block first writes its share of the tail, items first + block,
    // first + block + first, ... Plain stores that nothing waits for, so
    // they drain while the item's copies land and its products run.
    if (zeros) {
      int64_t listed = cast<MemRefType>(work.getType()).getDimSize(0);
      scf::ForOp::create(
          b, e.add(first, block), e.index(listed), first, ValueRange{},
          [&](OpBuilder &nb, Location loc, Value index, ValueRange) {
            ImplicitLocOpBuilder ib(loc, nb);
            WorkItemEntry entry = loadWorkItem(ib, work, index);
            zeros(ib, &entry);
            scf::YieldOp::create(ib);
          });
    }
    return items(b);
  }
  if (!zeros) {
    scf::IfOp::create(b, e.cmp(P::slt, block, first), branch(items));
    return;
  }
  auto writeTail = [&](ImplicitLocOpBuilder &zb) {
    if (!cfg.groupsZeroTail())
      return zeros(zb, nullptr);
    // Every entry first (independent loads in flight together), then each
    // existing item's zeros.
    GpuArith ze{zb};
    int64_t group = cfg.zeroItemsPerBlock;
    int64_t listed = cast<MemRefType>(work.getType()).getDimSize(0);
    Value base = ze.add(first, ze.mul(ze.sub(block, first), ze.index(group)));
    SmallVector<Value> indices;
    SmallVector<WorkItemEntry> entries;
    for (int64_t i = 0; i < group; ++i) {
      indices.push_back(ze.add(base, ze.index(i)));
      entries.push_back(
          loadWorkItem(zb, work, ze.min(indices.back(), ze.index(listed - 1))));
    }
    for (int64_t i = 0; i < group; ++i)
      scf::IfOp::create(
          zb, ze.cmp(P::slt, indices[i], ze.index(listed)),
          branch([&](ImplicitLocOpBuilder &ib) { zeros(ib, &entries[i]); }));
  };
  scf::IfOp::create(b, e.cmp(P::sge, block, first), branch(writeTail),
                    branch(items));
}

/// `store(row, slot)` for the `perRow` slots of each of the item's `rows`
/// rows (rows item.tile x rows on), spread over the block's `threads`
/// threads, for the rows below `limit` only.
static void
forEachRowSlot(ImplicitLocOpBuilder &b, const KernelContext &k, int64_t threads,
               const WorkItemEntry &item, int64_t rows, int64_t perRow,
               Value limit,
               function_ref<void(ImplicitLocOpBuilder &, Value, Value)> store) {
  GpuArith e{b};
  Value thread = blockThread(b, k);
  Value row0 = e.mul(item.tile, e.index(rows));
  int64_t total = rows * perRow;
  for (int64_t first = 0; first < total; first += threads) {
    Value index = e.add(thread, e.index(first));
    Value row =
        e.add(row0, perRow == 1 ? index : e.div(index, e.index(perRow)));
    Value slot = perRow == 1 ? e.index(0) : e.rem(index, e.index(perRow));
    Value inside = e.cmp(P::slt, row, limit);
    if (first + threads > total)
      inside = e.andi(inside, e.cmp(P::slt, index, e.index(total)));
    emitIf(b, inside, [&](ImplicitLocOpBuilder &ib) { store(ib, row, slot); });
  }
}

void storeZeroRows(ImplicitLocOpBuilder &b, const KernelContext &k,
                   int64_t threads, Value dest, const WorkItemEntry &item,
                   int64_t rows, Value limit, int64_t width) {
  Type element = cast<MemRefType>(dest.getType()).getElementType();
  int64_t bytes = element.getIntOrFloatBitWidth() / 8;
  int64_t chunk = canStageRows(dest, width) ? 16 / bytes : 2;
  auto chunkType = VectorType::get({chunk}, element);
  Value zero = arith::ConstantOp::create(
      b, chunkType, DenseElementsAttr::get(chunkType, b.getZeroAttr(element)));
  forEachRowSlot(
      b, k, threads, item, rows, width / chunk, limit,
      [&](ImplicitLocOpBuilder &ib, Value row, Value slot) {
        Value col = GpuArith{ib}.mul(slot, GpuArith{ib}.index(chunk));
        vector::StoreOp::create(ib, zero, dest,
                                ValueRange{item.batch, item.head, row, col},
                                false, llvm::MaybeAlign(chunk * bytes));
      });
}

void fillRowStatistic(ImplicitLocOpBuilder &b, const KernelContext &k,
                      int64_t threads, Value dest, const WorkItemEntry &item,
                      int64_t rows, Value limit, Value value) {
  forEachRowSlot(b, k, threads, item, rows, 1, limit,
                 [&](ImplicitLocOpBuilder &ib, Value row, Value) {
                   memref::StoreOp::create(
                       ib, value, dest, ValueRange{item.batch, item.head, row});
                 });
}

} // namespace mlir::spa::gpu_kernel
