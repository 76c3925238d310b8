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

/// Renders `table` as the body of the IR attribute `#spa.bands<...>`, e.g.
/// "causal, [0:512], [512:1024]" (`lo:hi` is the half-open [lo, hi)).
std::string formatBandTable(const BandTable &table);

} // namespace spa::plan

#endif // SPA_PLANNING_BANDTABLETEXT_H
