//===- BandTableText.h - Band tables as text --------------------*- C++ -*-===//
//
// The one spelling of band tables in text: the body of the IR attribute
// `#spa.bands<...>`, used by the attribute printer, the pass reports and the
// tools alike.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_BANDTABLETEXT_H
#define SPA_PLANNING_BANDTABLETEXT_H

#include "spa/Planning/BandTable.h"

#include <string>

namespace spa::plan {

/// Renders one head's intervals as in `#spa.bands`, e.g. "[0:65, 512:1024]"
/// ("[]" for a head without intervals; `lo:hi` is the half-open [lo, hi)).
std::string formatHeadBands(const HeadBands &bands);

/// Renders `table` as the body of the IR attribute `#spa.bands<...>`: the
/// mode, then every head, e.g. "causal, [0:512], [512:1024]".
std::string formatBandTable(const BandTable &table);

} // namespace spa::plan

#endif // SPA_PLANNING_BANDTABLETEXT_H
