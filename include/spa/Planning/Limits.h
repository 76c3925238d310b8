//===- Limits.h - The largest problems the planner accepts ------*- C++ -*-===//
//
// Sizes beyond which planning would overflow its int64 counts, allocate
// without bound or search for minutes. makeBandTable and analyzeBandTable
// refuse them with a message naming the limit; the IR passes check the same
// constants before they build anything per head.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_LIMITS_H
#define SPA_PLANNING_LIMITS_H

#include <cstdint>

namespace spa::plan {

/// Query heads: tables are built head by head (2^20 heads of one interval
/// take 16 MiB; 2^32 would take 100 GiB).
constexpr int64_t kMaxHeads = int64_t(1) << 20;

/// Query and key lengths: one head's pair count, up to Nq * Nk, stays
/// within int64 up to 2^31 (and the closed forms' intermediate terms too).
constexpr int64_t kMaxSeqLen = int64_t(1) << 31;

/// Tile sides of the cost model (spa's kernels use at most 128):
/// tile_balanced's search scans one key tile around every boundary.
constexpr int64_t kMaxTileSide = 256;

/// Heads of tile_balanced: its search time grows with them (about 1-3 s at
/// 1,024 heads, N = 2^31 and the most awkward tiles).
constexpr int64_t kMaxTileBalancedHeads = 1024;

} // namespace spa::plan

#endif // SPA_PLANNING_LIMITS_H
