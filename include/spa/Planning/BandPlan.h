//===- BandPlan.h - Head-to-band planning and cost model --------*- C++ -*-===//
//
// Pure planning logic for banded multi-head attention (SPAttention): the band
// tables of every policy in SPEC.md, table validation, and a tile-level cost
// model. This library has no MLIR or LLVM dependency on purpose: the compiler
// passes, the Python bindings and the benchmark scripts all plan with it, and
// it is unit-tested on its own against brute-force enumeration.
//
// This umbrella header includes every part; each part's header says what it
// is for:
//   BandTable.h      band modes, intervals, tables, validation, normalisation
//   Policies.h       policy names and makeBandTable
//   Counting.h       closed-form pair and tile counts
//   CostModel.h      work-item cost and the layer report (LPT makespan)
//   BandTableText.h  the `#spa.bands` text of tables and heads
//   WorkList.h       the GPU kernel's cost-sorted work list
//   WaveStagger.h    the staggered start of a launch's first wave
//   Limits.h         the largest problems planning accepts
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_BANDPLAN_H
#define SPA_PLANNING_BANDPLAN_H

#include "spa/Planning/BandTable.h"
#include "spa/Planning/BandTableText.h"
#include "spa/Planning/CostModel.h"
#include "spa/Planning/Counting.h"
#include "spa/Planning/Limits.h"
#include "spa/Planning/Policies.h"
#include "spa/Planning/WaveStagger.h"
#include "spa/Planning/WorkList.h"

#endif // SPA_PLANNING_BANDPLAN_H
