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

/// GPU work items (batch, head, query tile of tile.q rows), heaviest first by
/// workItemCost (default weights); ties keep (head, tile) order; the batch
/// index is innermost (all batches of one (head, tile) are consecutive).
/// Every head of `table` and every query tile of [0, ceil(queryLen / tile.q))
/// appears, an empty head included. Empty when batch, queryLen or tile.q is
/// not positive.
std::vector<WorkItem> buildWorkList(const BandTable &table, int64_t batch,
                                    int64_t queryLen, int64_t keyLen,
                                    TileShape tile);

} // namespace spa::plan

#endif // SPA_PLANNING_WORKLIST_H
