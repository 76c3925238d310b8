//===- BandTable.h - Band tables and their invariants -----------*- C++ -*-===//
//
// The data every part of the planning library shares: band modes, distance
// intervals, per-head interval sets, the band table and the tile shape, plus
// the one definition of a valid table and of a normalized head.
//
// Conventions (SPEC.md section 1): query row i in [0, Nq), key column j in
// [0, Nk), absolute query position p_i = i + (Nk - Nq), distance d = p_i - j
// (|p_i - j| in bidirectional mode). Head h attends the keys whose distance
// lies in one of its half-open intervals [lo, hi).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_PLANNING_BANDTABLE_H
#define SPA_PLANNING_BANDTABLE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spa::plan {

enum class BandMode { Causal, Bidirectional };

/// Spelling used in IR, reports and Python ("causal", "bidirectional").
std::string_view bandModeName(BandMode mode);
std::optional<BandMode> parseBandMode(std::string_view name);

/// A half-open interval of distances [lo, hi). Never empty in a valid table.
struct Interval {
  int64_t lo = 0;
  int64_t hi = 0;
  bool operator==(const Interval &o) const { return lo == o.lo && hi == o.hi; }
};

/// Sorted, disjoint, non-empty intervals of one query head (may be empty).
using HeadBands = std::vector<Interval>;

struct BandTable {
  BandMode mode = BandMode::Causal;
  std::vector<HeadBands> heads;
  int64_t numHeads() const { return static_cast<int64_t>(heads.size()); }
};

/// Query x key tile shape used by the GPU kernel and the cost model.
struct TileShape {
  int64_t q = 128;
  int64_t k = 128;
};

/// Checks that every interval is non-empty, non-negative, and that each head's
/// intervals are sorted and disjoint. Returns an empty string when valid, else
/// a message naming the head and interval.
std::string validateBandTable(const BandTable &table);

/// Normalises one head's intervals: sorts, merges overlapping or touching
/// intervals, drops empty ones, clips to [0, maxDistance).
HeadBands normalizeBands(HeadBands bands, int64_t maxDistance);

} // namespace spa::plan

#endif // SPA_PLANNING_BANDTABLE_H
