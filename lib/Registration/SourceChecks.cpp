//===- SourceChecks.cpp - refuse source text the MLIR 22 parser aborts on -===//
//
// A scan over the text, not a parse: it only has to find `%name#digits`
// outside `//` comments and string literals, where the lexer would read a
// result reference.
//
//===----------------------------------------------------------------------===//

#include "spa/Registration/SourceChecks.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

static bool isIdentifierChar(char c) {
  return llvm::isAlnum(c) || c == '$' || c == '.' || c == '_' || c == '-';
}

std::optional<spa::SourceFinding>
spa::findUnparseableInput(StringRef text) {
  size_t i = 0, n = text.size();
  while (i < n) {
    char c = text[i];
    if (c == '/' && i + 1 < n && text[i + 1] == '/') {
      i = text.find('\n', i);
      if (i == StringRef::npos)
        break;
      continue;
    }
    if (c == '"') {
      for (++i; i < n && text[i] != '"'; ++i)
        if (text[i] == '\\')
          ++i;
      ++i;
      continue;
    }
    if (c != '%') {
      ++i;
      continue;
    }
    size_t start = i++;
    while (i < n && isIdentifierChar(text[i]))
      ++i;
    if (i == start + 1 || i >= n || text[i] != '#')
      continue;
    size_t digits = ++i;
    uint64_t number = 0;
    while (i < n && llvm::isDigit(text[i])) {
      if (number < kMaxResultReference)
        number = number * 10 + (text[i] - '0');
      ++i;
    }
    if (i > digits && number >= kMaxResultReference)
      return SourceFinding{
          start, "result reference " + text.slice(start, i).str() +
                     ": result numbers of 2^24 and more are refused before "
                     "parsing (no op has that many results, and MLIR 22's "
                     "parser would allocate one placeholder per number)"};
  }
  return std::nullopt;
}

LogicalResult spa::checkSourceText(StringRef text, StringRef bufferName,
                                   MLIRContext *context) {
  std::optional<SourceFinding> finding = findUnparseableInput(text);
  if (!finding)
    return success();
  StringRef before = text.take_front(finding->offset);
  unsigned line = 1 + before.count('\n');
  size_t lineStart = before.rfind('\n');
  unsigned column = finding->offset -
                    (lineStart == StringRef::npos ? 0 : lineStart + 1) + 1;
  return emitError(FileLineColLoc::get(context, bufferName, line, column))
         << finding->message;
}

bool spa::reportUnparseableInput(llvm::SourceMgr &sourceMgr,
                                 unsigned bufferId) {
  StringRef text = sourceMgr.getMemoryBuffer(bufferId)->getBuffer();
  std::optional<SourceFinding> finding = findUnparseableInput(text);
  if (!finding)
    return false;
  sourceMgr.PrintMessage(llvm::SMLoc::getFromPointer(text.data() +
                                                     finding->offset),
                         llvm::SourceMgr::DK_Error, finding->message);
  return true;
}
