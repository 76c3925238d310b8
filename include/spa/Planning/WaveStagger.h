//===- WaveStagger.h - Staggered start of a launch's first wave -*- C++ -*-===//
//
// A kernel that runs one work item a block starts its first wave with
// `blocksPerSM` blocks on every SM, block b on SM slot b / numSMs (blocks are
// dispatched in index order, one an SM at a time). When those items all cost
// the same, the blocks sharing an SM run in lockstep: they wait for their
// first tiles together and store their outputs together, and so do the
// blocks that replace them, item after item, leaving the tensor cores idle
// at each item's start and end. Delaying slot s by s / blocksPerSM of an
// item breaks the lockstep once; equal items keep the offsets afterwards
// (measured on an H100: the headline forward -4.5%, docs/benchmarks.md).
//
// An item of t key tiles holds an SM shared by R blocks for about
// R * t * (time of a tile), so the delay of one slot is t * nsPerTile, with
// nsPerTile the SM's time per key tile.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_WAVESTAGGER_H
#define SPA_PLANNING_WAVESTAGGER_H

#include "spa/Planning/WorkList.h"

#include <cstdint>
#include <vector>

namespace spa::plan {

/// The longest delay the kernel may ask for (PTX nanosleep's limit).
constexpr int64_t kMaxStaggerSleepNs = 1000000;

/// Every field zero by default (no stagger): the caller states them all.
struct WaveStaggerParams {
  /// SMs one wave fills (H100/H200 SXM: 132).
  int64_t numSMs = 0;
  /// Resident blocks an SM (the kernel's occupancy).
  int64_t blocksPerSM = 0;
  /// An SM's time per key tile, ns.
  int64_t nsPerTile = 0;
  /// Waves of items costing the same as the first that must lead the list
  /// (0: any list; the delay is then the caller's choice).
  int64_t minEqualWaves = 0;
};

struct WaveStagger {
  int64_t numSMs = 0;
  int64_t blocksPerSM = 0;
  /// Slot s (block b < numSMs * blocksPerSM, s = b / numSMs) first sleeps
  /// s * slotDelayNs; 0: no stagger.
  int64_t slotDelayNs = 0;
  bool enabled() const { return slotDelayNs > 0; }
};

/// Items at the head of `list` whose key tiles (full and masked counts) are
/// those of its first item.
int64_t leadingEqualCostItems(const std::vector<WorkItem> &list,
                              const BandTable &table, int64_t queryLen,
                              int64_t keyLen, TileShape tile);

/// The stagger of `list`'s first wave, or none (slotDelayNs = 0) when the
/// parameters are not positive (or past 2^16), an SM holds one block, the first
/// item reaches no key, or fewer than minEqualWaves waves of equal items lead
/// the list. The delay is the first item's tiles * nsPerTile, at most
/// kMaxStaggerSleepNs / (blocksPerSM - 1) so the last slot's sleep stays
/// within nanosleep's limit.
WaveStagger planWaveStagger(const std::vector<WorkItem> &list,
                            const BandTable &table, int64_t queryLen,
                            int64_t keyLen, TileShape tile,
                            const WaveStaggerParams &params);

} // namespace spa::plan

#endif // SPA_PLANNING_WAVESTAGGER_H
