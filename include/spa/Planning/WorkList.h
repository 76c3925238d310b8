//===- WorkList.h - The GPU kernel's cost-sorted work list ------*- C++ -*-===//
//
// The order in which the GPU kernel's blocks take their work items: every
// (batch, head, query tile), heaviest first by the cost model, so that the
// long items start early and short ones fill the tail (the LPT order that
// analyzeBandTable's makespan assumes).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_WORKLIST_H
#define SPA_PLANNING_WORKLIST_H

#include "spa/Planning/BandTable.h"

#include <cstdint>
#include <vector>

namespace spa::plan {

/// One GPU work item: query rows [queryTile * tile.q, ...) of head `head` of
/// batch element `batch`.
struct WorkItem {
  int64_t batch = 0;
  int64_t head = 0;
  int64_t queryTile = 0;
  bool operator==(const WorkItem &o) const {
    return batch == o.batch && head == o.head && queryTile == o.queryTile;
  }
};

/// The most items a work list may hold. The list is built at compile time,
/// embedded as an i32 constant [items][3] (48 MiB at the limit) and launched
/// as one block per item; at 2^22 items spa-to-nvvm takes about a second and
/// 0.4 GB, at 2^24 already 3 s and 1.3 GB, and far beyond it minutes.
constexpr int64_t kMaxWorkItems = int64_t(1) << 22;

/// batch * numHeads * ceil(queryLen / tileQ): the number of work items, or
/// INT64_MAX where that product does not fit. 0 when an argument is not
/// positive.
int64_t countWorkItems(int64_t batch, int64_t numHeads, int64_t queryLen,
                       int64_t tileQ);

/// GPU work items (batch, head, query tile of tile.q rows), heaviest first by
/// workItemCost (default weights); ties keep (head, tile) order; the batch
/// index is innermost (all batches of one (head, tile) are consecutive).
/// Every head of `table` and every query tile of [0, ceil(queryLen / tile.q))
/// appears, an empty head included. Empty when batch, queryLen or tile.q is
/// not positive, and when there would be more than kMaxWorkItems items
/// (callers report that first, from countWorkItems).
std::vector<WorkItem> buildWorkList(const BandTable &table, int64_t batch,
                                    int64_t queryLen, int64_t keyLen,
                                    TileShape tile);

/// The start of `list`'s tail of items whose rows reach no key (SPEC 1:
/// their output rows are zeros and their log-sum-exp -inf): the smallest t
/// such that every item of [t, list.size()) touches no key tile. A kernel
/// writes those items' zeros without loading anything. In a list from
/// buildWorkList such items are last (the lowest cost); list.size() when
/// the last item touches a tile.
int64_t firstItemReachingNoKey(const std::vector<WorkItem> &list,
                               const BandTable &table, int64_t queryLen,
                               int64_t keyLen, TileShape tile);

} // namespace spa::plan

#endif // SPA_PLANNING_WORKLIST_H
