//===- NpyFile.h - spa-run's .npy reader and writer -------------*- C++ -*-===//
//
// NumPy's .npy format (versions 1.0, 2.0 and 3.0), little-endian float16,
// float32 and float64 arrays in C order: what `np.save` writes for spa-run's
// inputs and what spa-run writes back. Files come from users, so the reader
// trusts nothing: the header length is bounded, the header dictionary is
// parsed strictly (exactly the keys descr, fortran_order and shape), the
// element count is computed with overflow checks and must match the file's
// size exactly. Every failure is an error message, never an abort.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_TOOLS_SPA_RUN_NPYFILE_H
#define SPA_TOOLS_SPA_RUN_NPYFILE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace spa_run {

/// The element types the reader accepts ('<f2', '<f4', '<f8').
enum class NpyDtype { F16, F32, F64 };

/// The NumPy name of a dtype: "float32".
const char *npyDtypeName(NpyDtype dtype);

/// What a header dictionary says.
struct NpyHeader {
  NpyDtype dtype = NpyDtype::F32;
  std::vector<int64_t> shape;
  int64_t numElements = 1;
};

/// Parses the header dictionary text, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` followed by
/// spaces and a newline. Returns false with `error` set on anything else.
bool parseNpyHeader(llvm::StringRef text, NpyHeader &header,
                    std::string &error);

/// A whole array, its values widened to float.
struct NpyArray {
  NpyDtype dtype = NpyDtype::F32;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

/// Reads `path`; returns false with `error` (without the path) on failure.
bool readNpy(const std::string &path, NpyArray &array, std::string &error);

/// Writes a float32 array; returns false with `error` on failure.
bool writeNpy(const std::string &path, const std::vector<int64_t> &shape,
              const std::vector<float> &data, std::string &error);

} // namespace spa_run

#endif // SPA_TOOLS_SPA_RUN_NPYFILE_H
