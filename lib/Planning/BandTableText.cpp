//===- BandTableText.cpp - Band tables as text ----------------------------===//
//
// Implementation of spa/Planning/BandTableText.h and of the interval text of
// validation messages. Tables print as `lo:hi` (the IR lexer needs balanced
// brackets, so the mathematical `[lo, hi)` is kept for messages only).
//
//===----------------------------------------------------------------------===//

#include "spa/Planning/BandTableText.h"

#include "PlanningInternal.h"

namespace spa::plan {

std::string detail::intervalText(const Interval &iv) {
  return "[" + std::to_string(iv.lo) + ", " + std::to_string(iv.hi) + ")";
}

std::string formatHeadBands(const HeadBands &bands) {
  std::string out = "[";
  for (size_t k = 0; k < bands.size(); ++k) {
    if (k)
      out += ", ";
    out += std::to_string(bands[k].lo) + ":" + std::to_string(bands[k].hi);
  }
  return out + "]";
}

std::string formatBandTable(const BandTable &table) {
  std::string out(bandModeName(table.mode));
  for (const HeadBands &bands : table.heads)
    out += ", " + formatHeadBands(bands);
  return out;
}

} // namespace spa::plan
