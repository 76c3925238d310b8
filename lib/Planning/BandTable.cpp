//===- BandTable.cpp - Band tables and their invariants -------------------===//
//
// Implementation of spa/Planning/BandTable.h: mode spellings, the validity
// check the IR verifier, the passes and Python share, and normalisation of a
// head's intervals.
//
//===----------------------------------------------------------------------===//

#include "spa/Planning/BandTable.h"

#include "PlanningInternal.h"

#include <algorithm>

namespace spa::plan {

using detail::intervalText;

std::string_view bandModeName(BandMode mode) {
  return mode == BandMode::Causal ? "causal" : "bidirectional";
}

std::optional<BandMode> parseBandMode(std::string_view name) {
  if (name == "causal")
    return BandMode::Causal;
  if (name == "bidirectional")
    return BandMode::Bidirectional;
  return std::nullopt;
}

std::string validateBandTable(const BandTable &table) {
  if (table.heads.empty())
    return "band table has no heads";
  for (size_t h = 0; h < table.heads.size(); ++h) {
    const HeadBands &bands = table.heads[h];
    const std::string head = "head " + std::to_string(h) + ": ";
    for (size_t k = 0; k < bands.size(); ++k) {
      const std::string which =
          "interval #" + std::to_string(k) + " " + intervalText(bands[k]);
      if (bands[k].lo < 0 || bands[k].hi < 0)
        return head + which + " has a negative bound";
      if (bands[k].lo >= bands[k].hi)
        return head + which + " is empty";
      if (k > 0 && bands[k - 1].hi > bands[k].lo)
        return head + "intervals #" + std::to_string(k - 1) + " " +
               intervalText(bands[k - 1]) + " and #" + std::to_string(k) +
               " " + intervalText(bands[k]) + " overlap or are unsorted";
    }
  }
  return "";
}

HeadBands normalizeBands(HeadBands bands, int64_t maxDistance) {
  HeadBands clipped;
  clipped.reserve(bands.size());
  for (Interval iv : bands) {
    iv.lo = std::max<int64_t>(iv.lo, 0);
    iv.hi = std::min(iv.hi, maxDistance);
    if (iv.lo < iv.hi)
      clipped.push_back(iv);
  }
  std::sort(clipped.begin(), clipped.end(),
            [](const Interval &x, const Interval &y) {
              return x.lo < y.lo || (x.lo == y.lo && x.hi < y.hi);
            });
  HeadBands merged;
  for (const Interval &iv : clipped) {
    if (!merged.empty() && iv.lo <= merged.back().hi) // overlap or touch
      merged.back().hi = std::max(merged.back().hi, iv.hi);
    else
      merged.push_back(iv);
  }
  return merged;
}

} // namespace spa::plan
