//===- ZeroTail.h - the work list's items that reach nothing ----*- C++ -*-===//
//
// A static, cost-sorted work list ends with the items whose rows reach no
// key (forward, dQ) or whose keys no query reaches (dK/dV): their outputs
// are zeros (and lse -inf, Delta 0). KernelConfig::zeroItemsFrom marks
// where that tail starts. The kernels branch on it here: one item a block
// writes its zeros as its own epilogue would; with zero-tail-items > 1 a
// block of the tail reads the entries of several items together and
// stores their zero rows in 16-byte chunks, so the tail costs a few
// blocks' launches instead of one an item; with zero-tail-with-items the
// blocks of the items with keys write the tail first (its stores then
// overlap their products instead of running alone after them); with
// zero-tail-spread the tail's own blocks are spread among the items' blocks
// in the launch order (spa/Planning/TailSpread.h).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_ZEROTAIL_H
#define SPA_LIB_CONVERSION_SPATOGPU_ZEROTAIL_H

#include "KernelContext.h"

namespace mlir::spa::gpu_kernel {

/// Writes one zero-tail item: `entry` is its work-list entry, or null where
/// it is the block's own item, already read into the kernel's context (one
/// item a block).
using ZeroItemWriter =
    function_ref<void(ImplicitLocOpBuilder &, const WorkItemEntry *entry)>;

/// The list block launch block `block` runs: plan::spreadTailBlock's closed
/// form over cfg.tailSpread(the length of `work`) where
/// cfg.spreadsZeroTail(), else `block`. Kernels that run one item a block
/// pass their block index through it before anything reads it.
Value spreadTailBlocks(ImplicitLocOpBuilder &b, const KernelConfig &cfg,
                       Value work, Value block);

/// With cfg.zeroTailWithItems() (the launch stops at the tail): `zeros`
/// for the tail items zeroItemsFrom + block + i * zeroItemsFrom, each with
/// its entry, then `items`. Otherwise:
/// `zeros` for the zero-tail items of block `block` where it lies in the
/// tail (cfg.groupsZeroTail(): items zeroItemsFrom + (block -
/// zeroItemsFrom) * zeroItemsPerBlock on, within the `work` list, their
/// entries loaded first; else the block's own item), `items` before it;
/// just `items` where the list has no tail, and where `zeros` is null (a
/// role with nothing to do there) `items` under block < zeroItemsFrom. The
/// tail's branch comes first: it holds no nested else, so tests can tell
/// where the item's own begins.
void branchOnZeroTail(ImplicitLocOpBuilder &b, const KernelConfig &cfg,
                      Value work, Value block, ZeroItemWriter zeros,
                      function_ref<void(ImplicitLocOpBuilder &)> items);

/// Zeros into the `rows` rows of work item `item` (rows item.tile x rows
/// on of dest[item.batch][item.head], rank 4, `width` columns), those
/// below `limit` only: every one of the block's `threads` threads stores
/// 16-byte chunks where the layout allows it (StagedStores.h:
/// canStageRows), element pairs otherwise.
void storeZeroRows(ImplicitLocOpBuilder &b, const KernelContext &k,
                   int64_t threads, Value dest, const WorkItemEntry &item,
                   int64_t rows, Value limit, int64_t width);

/// `value` into the same rows of the rank-3 dest[item.batch][item.head]
/// (lse -inf, Delta 0), one a thread.
void fillRowStatistic(ImplicitLocOpBuilder &b, const KernelContext &k,
                      int64_t threads, Value dest, const WorkItemEntry &item,
                      int64_t rows, Value limit, Value value);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_ZEROTAIL_H
