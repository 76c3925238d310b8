//===- InterleavedWorkList.h - dK/dV and dQ items in one launch -*- C++ -*-===//
//
// The stored-dS backward's interleaved form (interleaved-dq;
// lib/Conversion/SpaToGPU/BackwardInterleaved.cpp) runs the dK/dV blocks
// and the dq_stored blocks in one launch: each block claims the next entry
// of one order, and a dQ block reads the dS tiles the dK/dV blocks of its
// key tiles wrote, waiting for their flags. Listing a dQ block a little
// after the last dK/dV block it reads from lets it find those tiles in L2
// instead of memory. This header is the MLIR-free part: which dK/dV block
// each dQ block waits for last, and the merged order. Forward progress:
// every dQ entry comes after every dK/dV entry it waits for, and blocks
// claim entries in order, so the entry a waiting block needs was claimed by
// a block already running, which waits for nothing earlier.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_INTERLEAVEDWORKLIST_H
#define SPA_PLANNING_INTERLEAVEDWORKLIST_H

#include "spa/Planning/BandTable.h"
#include "spa/Planning/GradWorkList.h"
#include "spa/Planning/WorkList.h"

#include <cstdint>
#include <vector>

namespace spa::plan {

/// For each dQ item of `queryItems` (query tiles of `tile` rows of query
/// head h), the position in `keyItems` (dK/dV items of `tile` keys) of
/// the last item whose dS tiles it reads: the key tiles of the aligned
/// grid its rows reach through every interval and side of h
/// (keysReachedByRows), in key/value head h / (Hq / numKvHeads) of its
/// batch element. -1 for an item that reads none. Empty when an argument
/// is not positive, the heads do not divide, or a key tile the rows reach
/// is missing from `keyItems` (the lists do not belong together).
std::vector<int64_t>
lastKeyItemRead(const BandTable &table, int64_t numKvHeads, int64_t queryLen,
                int64_t keyLen, int64_t tile,
                const std::vector<KeyTileWorkItem> &keyItems,
                const std::vector<WorkItem> &queryItems);

/// The order in which the blocks of the interleaved launch claim their
/// work: entries e < keyBlocks are dK/dV block e, entries keyBlocks + q dQ
/// block q. The dK/dV blocks keep their order; dQ block q comes right after
/// dK/dV block min(lastRead[q] + lag, keyBlocks - 1) (blocks reading
/// nothing first), ties in the dQ list's order. Empty when lag < 0, a
/// lastRead entry is < -1 or >= keyBlocks.
std::vector<int32_t> interleaveBlocks(int64_t keyBlocks,
                                      const std::vector<int64_t> &lastRead,
                                      int64_t lag);

} // namespace spa::plan

#endif // SPA_PLANNING_INTERLEAVEDWORKLIST_H
