//===- SpaAttrs.cpp - #spa.bands and #spa.band_policy ---------------------===//
//
// Custom syntax and verification of the band attributes. The table syntax is
// meant to be written by hand:
//   #spa.bands<causal, [0:65, 512:1024], [65:512], []>
// `lo:hi` is half-open, as in a Python slice (the MLIR lexer needs balanced
// brackets, which rules out the mathematical `[lo, hi)`).
// Table validity (sorted, disjoint, non-empty, non-negative intervals) is
// checked by the planning library so that the IR, the passes and Python agree
// on one definition.
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Dialect/Spa/IR/PlanInterop.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::spa;

#include "spa/Dialect/Spa/IR/SpaEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "spa/Dialect/Spa/IR/SpaAttrs.cpp.inc"

void SpaDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "spa/Dialect/Spa/IR/SpaAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

static ParseResult parseBandMode(AsmParser &parser, BandMode &mode) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<BandMode> parsed = symbolizeBandMode(keyword);
  if (!parsed)
    return parser.emitError(loc, "unknown band mode '")
           << keyword << "'; expected 'causal' or 'bidirectional'";
  mode = *parsed;
  return success();
}

//===----------------------------------------------------------------------===//
// BandsAttr
//===----------------------------------------------------------------------===//

BandsAttr BandsAttr::get(MLIRContext *context, BandMode mode,
                         ArrayRef<SmallVector<std::pair<int64_t, int64_t>>> heads) {
  SmallVector<int64_t> bounds, offsets;
  for (const auto &head : heads) {
    offsets.push_back(bounds.size() / 2);
    for (auto [lo, hi] : head) {
      bounds.push_back(lo);
      bounds.push_back(hi);
    }
  }
  offsets.push_back(bounds.size() / 2);
  return Base::get(context, mode, bounds, offsets);
}

SmallVector<std::pair<int64_t, int64_t>>
BandsAttr::getHeadIntervals(int64_t head) const {
  SmallVector<std::pair<int64_t, int64_t>> intervals;
  ArrayRef<int64_t> offsets = getHeadOffsets();
  ArrayRef<int64_t> bounds = getBounds();
  for (int64_t i = offsets[head]; i < offsets[head + 1]; ++i)
    intervals.push_back({bounds[2 * i], bounds[2 * i + 1]});
  return intervals;
}

/// head-list ::= `[` (interval (`,` interval)*)? `]`
/// interval  ::= integer `:` integer            (half-open [lo, hi))
Attribute BandsAttr::parse(AsmParser &parser, Type) {
  BandMode mode;
  if (parser.parseLess() || parseBandMode(parser, mode))
    return {};
  SmallVector<int64_t> bounds, offsets;
  while (succeeded(parser.parseOptionalComma())) {
    offsets.push_back(bounds.size() / 2);
    if (parser.parseLSquare())
      return {};
    if (succeeded(parser.parseOptionalRSquare()))
      continue;
    do {
      int64_t lo, hi;
      if (parser.parseInteger(lo) || parser.parseColon() ||
          parser.parseInteger(hi))
        return {};
      bounds.push_back(lo);
      bounds.push_back(hi);
    } while (succeeded(parser.parseOptionalComma()));
    if (parser.parseRSquare())
      return {};
  }
  offsets.push_back(bounds.size() / 2);
  if (parser.parseGreater())
    return {};
  return parser.getChecked<BandsAttr>(parser.getContext(), mode, bounds,
                                      offsets);
}

// The table text is the planning library's, so the IR, the pass reports and
// the tools spell a table one way.
void BandsAttr::print(AsmPrinter &printer) const {
  printer << "<" << ::spa::plan::formatBandTable(toPlanTable(*this)) << ">";
}

/// Converts the attribute storage to the planning library's table.
static ::spa::plan::BandTable tableFromStorage(BandMode mode,
                                          ArrayRef<int64_t> bounds,
                                          ArrayRef<int64_t> offsets) {
  ::spa::plan::BandTable table;
  table.mode = toPlanMode(mode);
  for (size_t h = 0; h + 1 < offsets.size(); ++h) {
    ::spa::plan::HeadBands head;
    for (int64_t i = offsets[h]; i < offsets[h + 1]; ++i)
      head.push_back({bounds[2 * i], bounds[2 * i + 1]});
    table.heads.push_back(std::move(head));
  }
  return table;
}

::spa::plan::BandMode mlir::spa::toPlanMode(BandMode mode) {
  return mode == BandMode::Causal ? ::spa::plan::BandMode::Causal
                                  : ::spa::plan::BandMode::Bidirectional;
}

BandMode mlir::spa::fromPlanMode(::spa::plan::BandMode mode) {
  return mode == ::spa::plan::BandMode::Causal ? BandMode::Causal
                                               : BandMode::Bidirectional;
}

// The IR enum and the planner enum share spellings; convert through them so
// adding a policy cannot silently mismatch.
::spa::plan::PolicyKind mlir::spa::toPlanKind(BandPolicyKind kind) {
  return *::spa::plan::parsePolicyKind(stringifyBandPolicyKind(kind).str());
}

std::optional<BandPolicyKind>
mlir::spa::fromPlanKind(::spa::plan::PolicyKind kind) {
  return symbolizeBandPolicyKind(
      std::string(::spa::plan::policyKindName(kind)));
}

::spa::plan::BandTable mlir::spa::toPlanTable(BandsAttr bands) {
  return tableFromStorage(bands.getMode(), bands.getBounds(),
                       bands.getHeadOffsets());
}

BandsAttr mlir::spa::fromPlanTable(MLIRContext *context,
                                   const ::spa::plan::BandTable &table) {
  SmallVector<SmallVector<std::pair<int64_t, int64_t>>> heads;
  for (const ::spa::plan::HeadBands &head : table.heads) {
    heads.emplace_back();
    for (const ::spa::plan::Interval &interval : head)
      heads.back().push_back({interval.lo, interval.hi});
  }
  return BandsAttr::get(context, fromPlanMode(table.mode), heads);
}

LogicalResult BandsAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                BandMode mode, ArrayRef<int64_t> bounds,
                                ArrayRef<int64_t> headOffsets) {
  // The storage invariants only builders can break; the parser cannot.
  if (bounds.size() % 2 != 0 || headOffsets.empty() ||
      headOffsets.front() != 0 ||
      headOffsets.back() != static_cast<int64_t>(bounds.size() / 2) ||
      !llvm::is_sorted(headOffsets))
    return emitError() << "malformed band table storage";
  if (headOffsets.size() < 2)
    return emitError() << "band table must list at least one head";
  std::string error =
      ::spa::plan::validateBandTable(tableFromStorage(mode, bounds, headOffsets));
  if (!error.empty())
    return emitError() << "invalid band table: " << error;
  return success();
}

//===----------------------------------------------------------------------===//
// BandPolicyAttr
//===----------------------------------------------------------------------===//

/// The kinds #spa.band_policy accepts, spelled and ordered as the planning
/// library's name list. `explicit` is not among them: an explicit table is
/// written as #spa.bands, so the IR enum has no such case.
static std::string acceptedPolicyNames() {
  std::string names;
  for (std::string_view name : ::spa::plan::policyKindNames())
    if (symbolizeBandPolicyKind(name))
      names += (names.empty() ? "" : ", ") + std::string(name);
  return names;
}

/// Why `tile = QxK` is not a tile shape, or an empty string.
static std::string tileShapeError(int64_t tileQ, int64_t tileK) {
  if (tileQ > 0 && tileK > 0)
    return "";
  return "tile shape must be positive, got " + std::to_string(tileQ) + "x" +
         std::to_string(tileK);
}

/// policy ::= `<` mode `,` kind (`,` `window` `=` int)? (`,` `tile` `=` QxK)? `>`
Attribute BandPolicyAttr::parse(AsmParser &parser, Type) {
  BandMode mode;
  if (parser.parseLess() || parseBandMode(parser, mode) ||
      parser.parseComma())
    return {};
  SMLoc kindLoc = parser.getCurrentLocation();
  StringRef kindName;
  if (parser.parseKeyword(&kindName))
    return {};
  std::optional<BandPolicyKind> kind = symbolizeBandPolicyKind(kindName);
  if (!kind) {
    parser.emitError(kindLoc, "unknown band policy '")
        << kindName << "'; expected one of " << acceptedPolicyNames();
    return {};
  }
  int64_t window = -1, tileQ = 0, tileK = 0;
  bool sawWindow = false, sawTile = false;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (key == "window" && !sawWindow) {
      sawWindow = true;
      if (parser.parseInteger(window))
        return {};
    } else if (key == "tile" && !sawTile) {
      sawTile = true;
      SmallVector<int64_t, 2> dims;
      SMLoc dimsLoc = parser.getCurrentLocation();
      if (parser.parseDimensionList(dims, /*allowDynamic=*/false,
                                    /*withTrailingX=*/false))
        return {};
      if (dims.size() != 2) {
        parser.emitError(dimsLoc, "expected tile shape as <rows>x<cols>");
        return {};
      }
      tileQ = dims[0];
      tileK = dims[1];
      // Checked here, not only in the verifier: a written `tile = 0x0` would
      // otherwise read as "no tile" (the storage's 0x0) and be dropped.
      if (std::string error = tileShapeError(tileQ, tileK); !error.empty()) {
        parser.emitError(dimsLoc, error);
        return {};
      }
    } else {
      parser.emitError(keyLoc, "unexpected or repeated band policy "
                               "parameter '")
          << key << "'; expected 'window' or 'tile'";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<BandPolicyAttr>(parser.getContext(), mode, *kind,
                                           window, tileQ, tileK);
}

void BandPolicyAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyBandMode(getMode()) << ", "
          << stringifyBandPolicyKind(getKind());
  if (getWindow() != -1)
    printer << ", window = " << getWindow();
  if (getTileQ() != 0 || getTileK() != 0)
    printer << ", tile = " << getTileQ() << "x" << getTileK();
  printer << ">";
}

LogicalResult
BandPolicyAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       BandMode mode, BandPolicyKind kind, int64_t window,
                       int64_t tileQ, int64_t tileK) {
  if (window != -1 && kind != BandPolicyKind::SlidingWindow)
    return emitError() << "'window' applies only to sliding_window, not to "
                       << stringifyBandPolicyKind(kind);
  if (window < -1)
    return emitError() << "sliding window must be >= 0, got " << window;
  bool hasTile = tileQ != 0 || tileK != 0;
  if (hasTile && kind != BandPolicyKind::TileBalanced)
    return emitError() << "'tile' applies only to tile_balanced, not to "
                       << stringifyBandPolicyKind(kind);
  if (hasTile)
    if (std::string error = tileShapeError(tileQ, tileK); !error.empty())
      return emitError() << error;
  return success();
}
