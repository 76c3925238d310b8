//===- SourceChecks.h - refuse source text the MLIR 22 parser aborts on -*- C++ -*-===//
//
// Every front door (spa-opt, spa-run, spa-cuda-compile, spa.ir.parse) scans
// the source before parsing it: MLIR 22's parser allocates one placeholder
// per number of a result reference `%r#N` before checking N against the
// results, so `%r#2147483647` ends in "LLVM ERROR: out of memory". A
// reference numbered 2^24 or more (no op has that many results) gets a
// located error instead.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_REGISTRATION_SOURCECHECKS_H
#define SPA_REGISTRATION_SOURCECHECKS_H

#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir::spa {

/// Result numbers at or past this are refused before parsing.
constexpr uint64_t kMaxResultReference = uint64_t(1) << 24;

/// A place in the source text the parser must not see, and why.
struct SourceFinding {
  size_t offset;
  std::string message;
};

/// The first result reference `%name#N` with N >= kMaxResultReference
/// outside comments and string literals, if any.
std::optional<SourceFinding> findUnparseableInput(StringRef text);

/// Emits the finding as an error at its file:line:col in `context`.
LogicalResult checkSourceText(StringRef text, StringRef bufferName,
                              MLIRContext *context);

/// Prints the finding through `sourceMgr` (buffer `bufferId`), as the
/// parser's own errors look; true when one was found.
bool reportUnparseableInput(llvm::SourceMgr &sourceMgr, unsigned bufferId);

} // namespace mlir::spa

#endif // SPA_REGISTRATION_SOURCECHECKS_H
