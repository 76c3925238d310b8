//===- WorkList.cpp - The GPU kernel's cost-sorted work list --------------===//
//
// Implementation of spa/Planning/WorkList.h. The cost of a work item does
// not depend on its batch element, so items are sorted once per (head, query
// tile) and the batch is expanded innermost.
//
//===----------------------------------------------------------------------===//

#include "spa/Planning/WorkList.h"

#include "PlanningInternal.h"
#include "spa/Planning/CostModel.h"
#include "spa/Planning/Counting.h"

#include <algorithm>
#include <limits>

namespace spa::plan {

int64_t countWorkItems(int64_t batch, int64_t numHeads, int64_t queryLen,
                       int64_t tileQ) {
  if (batch <= 0 || numHeads <= 0 || queryLen <= 0 || tileQ <= 0)
    return 0;
  int64_t items = detail::ceilDiv(queryLen, tileQ);
  for (int64_t factor : {batch, numHeads})
    if (__builtin_mul_overflow(items, factor, &items))
      return std::numeric_limits<int64_t>::max();
  return items;
}

std::vector<WorkItem> buildWorkList(const BandTable &table, int64_t batch,
                                    int64_t queryLen, int64_t keyLen,
                                    TileShape tile) {
  const int64_t count =
      countWorkItems(batch, table.numHeads(), queryLen, tile.q);
  if (count == 0 || count > kMaxWorkItems)
    return {};
  return detail::costOrderedWorkList<WorkItem>(
      table.numHeads(), detail::ceilDiv(queryLen, tile.q), batch,
      [&](int64_t head, int64_t queryTile) {
        return workItemCost(table.heads[head], queryTile, queryLen, keyLen,
                            table.mode, tile);
      });
}

int64_t firstItemReachingNoKey(const std::vector<WorkItem> &list,
                               const BandTable &table, int64_t queryLen,
                               int64_t keyLen, TileShape tile) {
  return detail::zeroTailStart(list, [&](const WorkItem &item) {
    return item.head >= 0 && item.head < table.numHeads() &&
           countTilesForQueryTile(table.heads[static_cast<size_t>(item.head)],
                                  item.queryTile, queryLen, keyLen, table.mode,
                                  tile)
                   .total() == 0;
  });
}

} // namespace spa::plan
