//===- Policies.cpp - Band policies and their tables ----------------------===//
//
// Implementation of spa/Planning/Policies.h: the policy spellings and the
// band tables of every policy in SPEC.md section 1. The formula policies are
// written out here; pair_balanced searches its boundaries here too, and
// tile_balanced delegates its search to TileBalancing.cpp.
//
//===----------------------------------------------------------------------===//

#include "spa/Planning/Policies.h"

#include "PlanningInternal.h"
#include "spa/Planning/Counting.h"
#include "spa/Planning/Limits.h"

#include <algorithm>
#include <utility>

namespace spa::plan {

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

namespace {
struct PolicySpelling {
  PolicyKind kind;
  std::string_view name;
};
constexpr PolicySpelling kPolicySpellings[] = {
    {PolicyKind::ExclusiveEqual, "exclusive_equal"},
    {PolicyKind::LocalPlusBand, "local_plus_band"},
    {PolicyKind::GappedHalf, "gapped_half"},
    {PolicyKind::SlidingWindow, "sliding_window"},
    {PolicyKind::DenseCausal, "dense_causal"},
    {PolicyKind::PairBalanced, "pair_balanced"},
    {PolicyKind::TileBalanced, "tile_balanced"},
    {PolicyKind::Explicit, "explicit"},
};
} // namespace

std::string_view policyKindName(PolicyKind kind) {
  for (const PolicySpelling &s : kPolicySpellings)
    if (s.kind == kind)
      return s.name;
  return "unknown";
}

std::optional<PolicyKind> parsePolicyKind(std::string_view name) {
  for (const PolicySpelling &s : kPolicySpellings)
    if (s.name == name)
      return s.kind;
  return std::nullopt;
}

std::vector<std::string_view> policyKindNames() {
  std::vector<std::string_view> names;
  for (const PolicySpelling &s : kPolicySpellings)
    names.push_back(s.name);
  return names;
}

//===----------------------------------------------------------------------===//
// Exclusive-band helpers shared by the balancing policies
//===----------------------------------------------------------------------===//

namespace {

/// Turns boundaries 0 = b_0 <= b_1 <= ... <= b_H = N into one band per head
/// (an empty set where b_h == b_{h+1}).
std::vector<HeadBands> bandsFromBoundaries(const std::vector<int64_t> &bnd) {
  std::vector<HeadBands> heads(bnd.size() - 1);
  for (size_t h = 0; h + 1 < bnd.size(); ++h)
    if (bnd[h] < bnd[h + 1])
      heads[h].push_back({bnd[h], bnd[h + 1]});
  return heads;
}

/// Makes boundaries strictly increasing (each head gets >= 1 distance) while
/// keeping b_0 = 0 and b_H = N. Requires N >= H. A forward pass lifts, a
/// backward pass caps; afterwards h <= b_h <= N - (H - h).
void forceStrictlyIncreasing(std::vector<int64_t> &bnd) {
  const size_t numHeads = bnd.size() - 1;
  for (size_t h = 1; h < numHeads; ++h)
    bnd[h] = std::max(bnd[h], bnd[h - 1] + 1);
  for (size_t h = numHeads - 1; h >= 1; --h)
    bnd[h] = std::min(bnd[h], bnd[h + 1] - 1);
}

} // namespace

//===----------------------------------------------------------------------===//
// Tables
//===----------------------------------------------------------------------===//

PlanResult makeBandTable(PolicyKind kind, int64_t seqLen, int64_t numHeads,
                         BandMode mode, const PolicyOptions &options) {
  auto fail = [](std::string message) {
    PlanResult result;
    result.error = std::move(message);
    return result;
  };
  // Options are checked for every policy so that a bad option is reported
  // where it is written, not only when a policy happens to read it.
  // Sizes are bounded too (Limits.h): beyond them counts overflow, tables
  // exhaust memory or the tile_balanced search runs for minutes.
  auto tooLarge = [](const char *name, int64_t value, int64_t limit,
                     const char *why) {
    return std::string(name) + " must be at most " + std::to_string(limit) +
           " (" + why + "), got " + std::to_string(value);
  };
  if (seqLen <= 0)
    return fail("seqLen must be positive, got " + std::to_string(seqLen));
  if (seqLen > kMaxSeqLen)
    return fail(tooLarge("seqLen", seqLen, kMaxSeqLen, "2^31"));
  if (numHeads <= 0)
    return fail("numHeads must be positive, got " + std::to_string(numHeads));
  if (numHeads > kMaxHeads)
    return fail(tooLarge("numHeads", numHeads, kMaxHeads, "2^20"));
  if (options.window < -1)
    return fail("window must be -1 (per-head W_h) or non-negative, got " +
                std::to_string(options.window));
  if (options.tile.q <= 0)
    return fail("tile.q must be positive, got " +
                std::to_string(options.tile.q));
  if (options.tile.q > kMaxTileSide)
    return fail(
        tooLarge("tile.q", options.tile.q, kMaxTileSide, "a cost-model tile"));
  if (options.tile.k <= 0)
    return fail("tile.k must be positive, got " +
                std::to_string(options.tile.k));
  if (options.tile.k > kMaxTileSide)
    return fail(
        tooLarge("tile.k", options.tile.k, kMaxTileSide, "a cost-model tile"));
  if (options.queryLen < -1 || options.queryLen == 0)
    return fail("queryLen must be -1 (equal to seqLen) or positive, got " +
                std::to_string(options.queryLen));
  if (options.queryLen > kMaxSeqLen)
    return fail(tooLarge("queryLen", options.queryLen, kMaxSeqLen, "2^31"));
  if (kind == PolicyKind::Explicit)
    return fail("policy 'explicit' has no formula: explicit band tables are "
                "supplied by the user, not built by makeBandTable");
  if (kind == PolicyKind::TileBalanced && numHeads > kMaxTileBalancedHeads)
    return fail(tooLarge("tile_balanced: numHeads", numHeads,
                         kMaxTileBalancedHeads,
                         "its search time grows with the heads; "
                         "pair_balanced takes more"));

  const int64_t n = seqLen, numH = numHeads;
  const int64_t wb = n / numH, rem = n % numH;
  auto width = [&](int64_t h) { return wb + (h < rem ? 1 : 0); };
  auto start = [&](int64_t h) { return h * wb + std::min(h, rem); };
  const int64_t queryLen = options.queryLen == -1 ? n : options.queryLen;

  BandTable table;
  table.mode = mode;
  table.heads.resize(static_cast<size_t>(numH));
  auto exclusiveEqual = [&]() {
    for (int64_t h = 0; h < numH; ++h)
      if (width(h) > 0)
        table.heads[h] = {{start(h), start(h) + width(h)}};
  };

  switch (kind) {
  case PolicyKind::ExclusiveEqual:
    exclusiveEqual();
    break;
  case PolicyKind::LocalPlusBand:
    for (int64_t h = 0; h < numH; ++h)
      table.heads[h] = normalizeBands(
          {{0, width(h) + 1}, {start(h), start(h) + width(h)}}, n);
    break;
  case PolicyKind::GappedHalf:
    for (int64_t h = 0; h < numH; ++h)
      if (width(h) / 2 > 0)
        table.heads[h] = {{start(h), start(h) + width(h) / 2}};
    break;
  case PolicyKind::SlidingWindow:
    for (int64_t h = 0; h < numH; ++h) {
      int64_t w = options.window == -1 ? width(h) : options.window;
      table.heads[h] = {{0, std::min(w, n - 1) + 1}}; // clip to [0, N)
    }
    break;
  case PolicyKind::DenseCausal:
    for (int64_t h = 0; h < numH; ++h)
      table.heads[h] = {{0, n}};
    break;
  case PolicyKind::PairBalanced: {
    if (n < numH) { // not enough distances: same table as exclusive_equal
      exclusiveEqual();
      break;
    }
    // cum(b) = pairs with distance < b, in this mode, for queryLen x N.
    auto cum = [&](int64_t b) {
      return detail::countPairsBelow(b, queryLen, n, mode);
    };
    const long double total = static_cast<long double>(cum(n));
    std::vector<int64_t> bnd(static_cast<size_t>(numH) + 1, 0);
    bnd[numH] = n;
    for (int64_t h = 1; h < numH; ++h) {
      // Scaled by H to stay in integers: target h * total / H.
      const long double target = static_cast<long double>(h) * total;
      auto scaled = [&](int64_t b) {
        return static_cast<long double>(cum(b)) * static_cast<long double>(numH);
      };
      int64_t lo = 0, hi = n; // first b with H * cum(b) >= target
      while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (scaled(mid) >= target)
          hi = mid;
        else
          lo = mid + 1;
      }
      int64_t b = lo;
      // Round to nearest: the previous boundary may be closer.
      if (b > 0 && target - scaled(b - 1) < scaled(b) - target)
        b = b - 1;
      bnd[h] = b;
    }
    forceStrictlyIncreasing(bnd);
    table.heads = bandsFromBoundaries(bnd);
    break;
  }
  case PolicyKind::TileBalanced: {
    if (n < numH) {
      exclusiveEqual();
      break;
    }
    std::vector<int64_t> bnd = detail::tileBalancedBoundaries(
        n, numH, queryLen, mode, options.tile, CostWeights{});
    table.heads = bandsFromBoundaries(bnd);
    break;
  }
  case PolicyKind::Explicit:
    break; // rejected above
  }
  PlanResult result;
  result.table = std::move(table);
  return result;
}

} // namespace spa::plan
