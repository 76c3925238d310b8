//===- TailSpread.h - Launch order of a work list's zero tail ---*- C++ -*-===//
//
// A cost-sorted static work list ends with its zero tail: items whose rows
// reach no key (or key tiles no query reaches), written as zeros by blocks
// of their own. Launched last, those blocks run at the end of the kernel,
// first beside the last items with keys and then alone, bound by DRAM
// writes (the per-block timeline of the serial forward, H200: 4.7 us of
// the headline's 107, 15 us of 203 at N = 16384). Spreading them evenly
// among the blocks of the items with keys, after the first wave, lets
// their stores run beside the products. The spread is a permutation of
// block indices onto "list blocks" (the index the kernel had before: items
// with keys first, then the tail's blocks), so nothing else in a kernel
// changes; the kernel emits the same closed form (ZeroTail.h).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_TAILSPREAD_H
#define SPA_PLANNING_TAILSPREAD_H

#include <cstdint>

namespace spa::plan {

/// The launch: `keyedBlocks` blocks of items with keys (list blocks 0 to
/// keyedBlocks - 1), then `tailBlocks` blocks of the zero tail; the first
/// `lead` blocks (at most keyedBlocks: the first wave) keep their items.
struct TailSpread {
  int64_t keyedBlocks = 0;
  int64_t tailBlocks = 0;
  int64_t lead = 0;
};

/// The list block that launch block `block` (0 <= block < keyedBlocks +
/// tailBlocks) runs. After the lead, the r-th block (r = block - lead, of
/// T = keyedBlocks + tailBlocks - lead) is the tail's z0-th where
/// floor((r + 1) * tailBlocks / T) > z0 = floor(r * tailBlocks / T) (a
/// line drawn through the T positions, as Bresenham's), else the items'
/// (lead + r - z0)-th: a bijection that puts one tail block about every
/// T / tailBlocks blocks, the last position always a tail block.
inline int64_t spreadTailBlock(const TailSpread &spread, int64_t block) {
  if (block < spread.lead || spread.tailBlocks == 0)
    return block;
  int64_t r = block - spread.lead;
  int64_t total = spread.keyedBlocks + spread.tailBlocks - spread.lead;
  int64_t before = r * spread.tailBlocks / total;
  int64_t through = (r + 1) * spread.tailBlocks / total;
  if (through > before)
    return spread.keyedBlocks + before;
  return spread.lead + r - before;
}

} // namespace spa::plan

#endif // SPA_PLANNING_TAILSPREAD_H
