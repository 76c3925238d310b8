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
  std::vector<WorkItem> list;
  const int64_t count =
      countWorkItems(batch, table.numHeads(), queryLen, tile.q);
  if (count == 0 || count > kMaxWorkItems)
    return list;
  const int64_t numQueryTiles = detail::ceilDiv(queryLen, tile.q);
  struct Item {
    double cost;
    int64_t head, queryTile;
  };
  std::vector<Item> items;
  items.reserve(table.heads.size() * static_cast<size_t>(numQueryTiles));
  for (int64_t h = 0; h < table.numHeads(); ++h)
    for (int64_t t = 0; t < numQueryTiles; ++t)
      items.push_back(
          {workItemCost(table.heads[h], t, queryLen, keyLen, table.mode, tile),
           h, t});
  // Stable: equal costs keep (head, tile) order, so the list is the same on
  // every platform and compiler.
  std::stable_sort(
      items.begin(), items.end(),
      [](const Item &a, const Item &b) { return a.cost > b.cost; });
  list.reserve(items.size() * static_cast<size_t>(batch));
  for (const Item &item : items)
    for (int64_t b = 0; b < batch; ++b)
      list.push_back({b, item.head, item.queryTile});
  return list;
}

} // namespace spa::plan
