//===- NpyFile.cpp - spa-run's .npy reader and writer ---------------------===//
//
// The format (numpy.lib.format): the magic "\x93NUMPY", a major and minor
// version byte, the header length (2 bytes little-endian in version 1, 4 in
// versions 2 and 3), the header (a Python dict literal padded with spaces
// and ended by '\n'), then the raw elements. The reader checks each of these
// against the bytes actually in the file before using them.
//
//===----------------------------------------------------------------------===//

#include "NpyFile.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APInt.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <optional>

using llvm::StringRef;

namespace spa_run {

namespace {

/// NumPy itself refuses headers over 10000 bytes unless told otherwise
/// (np.load's max_header_size); ours only ever hold three keys.
constexpr size_t kMaxHeaderBytes = 65536;

/// The accepted dtypes, in NpyDtype order: how the header spells each, its
/// NumPy name and its size.
struct DtypeInfo {
  const char *descr;
  const char *name;
  size_t bytes;
};
constexpr DtypeInfo kDtypes[] = {
    {"<f2", "float16", 2}, {"<f4", "float32", 4}, {"<f8", "float64", 8}};

const DtypeInfo &info(NpyDtype dtype) {
  return kDtypes[static_cast<size_t>(dtype)];
}

/// A strict reader of the header dict: Python literal syntax restricted to
/// what numpy writes (quoted strings without escapes, True/False, tuples of
/// non-negative decimal integers, an optional trailing comma).
class HeaderParser {
public:
  explicit HeaderParser(StringRef text) : rest(text) {}

  bool parse(NpyHeader &header, std::string &error) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    skipSpace();
    if (!consume('{'))
      return fail(error, "the header is not a dictionary ('{' expected)");
    skipSpace();
    while (!consume('}')) {
      std::optional<std::string> key = quoted();
      if (!key)
        return fail(error, "a quoted key expected in the header");
      skipSpace();
      if (!consume(':'))
        return fail(error, "':' expected after '" + *key + "'");
      skipSpace();
      if (*key == "descr") {
        if (haveDescr)
          return fail(error, "'descr' given twice");
        haveDescr = true;
        std::optional<std::string> descr = quoted();
        if (!descr)
          return fail(error, "'descr' must be a quoted dtype string");
        const DtypeInfo *known = llvm::find_if(
            kDtypes, [&](const DtypeInfo &d) { return *descr == d.descr; });
        if (known != std::end(kDtypes))
          header.dtype = static_cast<NpyDtype>(known - kDtypes);
        else
          return unsupported(error, "dtype '" + *descr +
                                        "' (spa-run reads little-endian "
                                        "float16, float32 and float64: "
                                        "'<f2', '<f4', '<f8')");
      } else if (*key == "fortran_order") {
        if (haveOrder)
          return fail(error, "'fortran_order' given twice");
        haveOrder = true;
        if (rest.consume_front("True"))
          return unsupported(error, "Fortran order (save a C-contiguous "
                                    "array)");
        if (!rest.consume_front("False"))
          return fail(error, "'fortran_order' must be True or False");
      } else if (*key == "shape") {
        if (haveShape)
          return fail(error, "'shape' given twice");
        haveShape = true;
        if (!shape(header, error))
          return false;
      } else {
        return fail(error, "unexpected key '" + *key +
                               "' (a .npy header has descr, fortran_order "
                               "and shape)");
      }
      skipSpace();
      if (consume(',')) {
        skipSpace();
        continue;
      }
      skipSpace();
      if (!consume('}'))
        return fail(error, "',' or '}' expected in the header");
      break;
    }
    skipSpace();
    if (!rest.empty())
      return fail(error, "unexpected text after the header dictionary");
    if (!haveDescr || !haveOrder || !haveShape)
      return fail(error, std::string("the header lacks '") +
                             (!haveDescr   ? "descr"
                              : !haveOrder ? "fortran_order"
                                           : "shape") +
                             "'");
    return true;
  }

private:
  StringRef rest;

  static bool fail(std::string &error, const std::string &message) {
    error = "malformed .npy header: " + message;
    return false;
  }

  /// Well-formed, but not an array spa-run can take.
  static bool unsupported(std::string &error, const std::string &what) {
    error = "unsupported .npy array: " + what;
    return false;
  }

  void skipSpace() { rest = rest.ltrim(" \t\r\n"); }

  bool consume(char c) { return rest.consume_front(StringRef(&c, 1)); }

  std::optional<std::string> quoted() {
    if (rest.empty() || (rest.front() != '\'' && rest.front() != '"'))
      return std::nullopt;
    char quote = rest.front();
    size_t end = rest.find(quote, 1);
    if (end == StringRef::npos)
      return std::nullopt;
    StringRef body = rest.slice(1, end);
    // Escapes never occur in what numpy writes; refusing them keeps the
    // reader from having to interpret them.
    if (body.contains('\\') || body.contains('\n'))
      return std::nullopt;
    rest = rest.drop_front(end + 1);
    return body.str();
  }

  /// `(d0, d1, ...)`: Python tuple syntax, so one dimension is `(n,)`.
  bool shape(NpyHeader &header, std::string &error) {
    if (!consume('('))
      return fail(error, "'shape' must be a tuple");
    header.shape.clear();
    header.numElements = 1;
    bool trailingComma = false;
    skipSpace();
    while (!consume(')')) {
      size_t digits = 0;
      while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9')
        ++digits;
      if (digits == 0)
        return fail(error, "'shape' must hold non-negative integers");
      uint64_t value;
      // getAsInteger fails on overflow of the 64-bit value.
      if (rest.take_front(digits).getAsInteger(10, value) ||
          value > static_cast<uint64_t>(INT64_MAX))
        return fail(error, "dimension " + rest.take_front(digits).str() +
                               " is too large");
      rest = rest.drop_front(digits);
      int64_t dim = static_cast<int64_t>(value);
      header.shape.push_back(dim);
      if (llvm::MulOverflow(header.numElements, dim, header.numElements))
        return fail(error, "the element count overflows 64 bits");
      skipSpace();
      trailingComma = consume(',');
      skipSpace();
      if (!trailingComma && !rest.starts_with(")"))
        return fail(error, "',' or ')' expected in 'shape'");
    }
    if (header.shape.size() == 1 && !trailingComma)
      return fail(error, "a one-dimensional 'shape' is written (n,)");
    return true;
  }
};

float widen(NpyDtype dtype, const char *src) {
  switch (dtype) {
  case NpyDtype::F16: {
    uint16_t bits = llvm::support::endian::read16le(src);
    llvm::APFloat value(llvm::APFloat::IEEEhalf(), llvm::APInt(16, bits));
    bool lost;
    value.convert(llvm::APFloat::IEEEsingle(),
                  llvm::APFloat::rmNearestTiesToEven, &lost);
    return value.convertToFloat();
  }
  case NpyDtype::F32: {
    uint32_t bits = llvm::support::endian::read32le(src);
    float value;
    std::memcpy(&value, &bits, 4);
    return value;
  }
  case NpyDtype::F64: {
    uint64_t bits = llvm::support::endian::read64le(src);
    double value;
    std::memcpy(&value, &bits, 8);
    return static_cast<float>(value);
  }
  }
  return 0.0f;
}

} // namespace

const char *npyDtypeName(NpyDtype dtype) { return info(dtype).name; }

bool parseNpyHeader(StringRef text, NpyHeader &header, std::string &error) {
  return HeaderParser(text).parse(header, error);
}

bool readNpy(const std::string &path, NpyArray &array, std::string &error) {
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file) {
    error = "cannot read the file: " + file.getError().message();
    return false;
  }
  StringRef bytes = (*file)->getBuffer();
  if (!bytes.consume_front("\x93NUMPY")) {
    error = "not a .npy file (no \\x93NUMPY magic)";
    return false;
  }
  if (bytes.size() < 2) {
    error = "truncated .npy preamble";
    return false;
  }
  uint8_t major = bytes[0], minor = bytes[1];
  bytes = bytes.drop_front(2);
  size_t lengthBytes = major == 1 ? 2 : 4;
  if ((major < 1 || major > 3) || minor != 0) {
    error = "unsupported .npy version " + std::to_string(major) + "." +
            std::to_string(minor) + " (spa-run reads 1.0, 2.0 and 3.0)";
    return false;
  }
  if (bytes.size() < lengthBytes) {
    error = "truncated .npy preamble";
    return false;
  }
  uint64_t headerLen = lengthBytes == 2
                           ? llvm::support::endian::read16le(bytes.data())
                           : llvm::support::endian::read32le(bytes.data());
  bytes = bytes.drop_front(lengthBytes);
  if (headerLen > kMaxHeaderBytes) {
    error = "header of " + std::to_string(headerLen) + " bytes (at most " +
            std::to_string(kMaxHeaderBytes) + ")";
    return false;
  }
  if (headerLen > bytes.size()) {
    error = "truncated header (" + std::to_string(headerLen) +
            " bytes announced, " + std::to_string(bytes.size()) + " left)";
    return false;
  }
  NpyHeader header;
  if (!parseNpyHeader(bytes.take_front(headerLen), header, error))
    return false;
  bytes = bytes.drop_front(headerLen);

  size_t itemBytes = info(header.dtype).bytes;
  int64_t dataBytes;
  if (llvm::MulOverflow(header.numElements, static_cast<int64_t>(itemBytes),
                        dataBytes)) {
    error = "the data size of " + std::to_string(header.numElements) +
            " elements overflows 64 bits";
    return false;
  }
  if (static_cast<uint64_t>(dataBytes) != bytes.size()) {
    error = "the header announces " + std::to_string(header.numElements) +
            " " + npyDtypeName(header.dtype) + " elements (" +
            std::to_string(dataBytes) + " bytes), the file holds " +
            std::to_string(bytes.size()) + " bytes of data";
    return false;
  }
  array.dtype = header.dtype;
  array.shape = header.shape;
  array.data.resize(header.numElements);
  for (int64_t i = 0; i < header.numElements; ++i)
    array.data[i] = widen(header.dtype, bytes.data() + i * itemBytes);
  return true;
}

bool writeNpy(const std::string &path, const std::vector<int64_t> &shape,
              const std::vector<float> &data, std::string &error) {
  std::string dims = "(";
  for (int64_t d : shape)
    dims += std::to_string(d) + ", ";
  if (shape.size() > 1)
    dims.resize(dims.size() - 2);
  else if (shape.size() == 1)
    dims.resize(dims.size() - 1);
  dims += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " +
                       dims + ", }";
  // Pad so that the data starts on a 64-byte boundary, as numpy does.
  while ((10 + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  if (ec) {
    error = "cannot write " + path + ": " + ec.message();
    return false;
  }
  out.write("\x93NUMPY\x01\x00", 8);
  char length[2];
  llvm::support::endian::write16le(length, header.size());
  out.write(length, 2);
  out << header;
  for (float value : data) {
    char bytes[4];
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    llvm::support::endian::write32le(bytes, bits);
    out.write(bytes, 4);
  }
  out.close();
  if (out.has_error()) {
    error = "cannot write " + path + ": " + out.error().message();
    out.clear_error();
    return false;
  }
  return true;
}

} // namespace spa_run
