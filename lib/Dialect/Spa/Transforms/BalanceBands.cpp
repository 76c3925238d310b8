//===- BalanceBands.cpp - resolve band policies into tables ---------------===//
//
// -spa-balance-bands: every `#spa.band_policy` on a `spa.attention` or
// `spa.attention_grad` (any BandedAttentionOpInterface op; both resolve the
// same policy to the same table) becomes a concrete `#spa.bands` table when the key length is static, or run-time
// bounds (`spa.band_bounds` on the dynamic length) otherwise. All policy
// formulas and costs come from the planning library.
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/IR/PlanInterop.h"
#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Dialect/Spa/Transforms/Passes.h"
#include "spa/Planning/BandPlan.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::spa {
#define GEN_PASS_DEF_SPABALANCEBANDS
#include "spa/Dialect/Spa/Transforms/Passes.h.inc"
} // namespace mlir::spa

using namespace mlir;
using namespace mlir::spa;
namespace plan = ::spa::plan;

namespace {

/// Prints the per-head plan and the layer summary of one op; fails with a
/// located error where the problem is too large to report on.
LogicalResult printReport(raw_ostream &os, BandedAttentionOpInterface op,
                          const plan::BandTable &table, StringRef planName,
                          int64_t queryLen, int64_t keyLen,
                          plan::TileShape tile, int64_t numSMs) {
  plan::LayerReport report =
      plan::analyzeBandTable(table, queryLen, keyLen, tile, numSMs);
  if (!report.error.empty())
    return op->emitOpError("cannot report on the band plan: ") << report.error;
  auto func = op->getParentOfType<FunctionOpInterface>();
  os << "=== spa-balance-bands report: @"
     << (func ? func.getName() : StringRef("?")) << " " << op->getLoc()
     << "\n";
  os << "plan " << planName << " ("
     << plan::bandModeName(table.mode) << "), Hq = " << table.numHeads()
     << ", Nq = " << queryLen << ", Nk = " << keyLen << ", tile " << tile.q
     << "x" << tile.k << ", " << numSMs << " SMs\n";
  os << llvm::format("%4s  %-24s %12s %8s %10s %10s %10s\n", "head",
                     "intervals", "pairs", "share", "full", "partial",
                     "cost");
  for (int64_t h = 0; h < table.numHeads(); ++h) {
    const plan::HeadReport &head = report.heads[h];
    os << llvm::format("%4lld  %-24s %12lld %7.2f%% %10lld %10lld %10.1f\n",
                       static_cast<long long>(h),
                       plan::formatHeadBands(table.heads[h]).c_str(),
                       static_cast<long long>(head.pairs), 100.0 * head.share,
                       static_cast<long long>(head.tiles.full),
                       static_cast<long long>(head.tiles.partial), head.cost);
  }
  os << llvm::format("layer: %lld pairs per batch, %.2f%% of dense causal; "
                     "head cost spread (max/mean) %.3f; LPT makespan %.1f, "
                     "ideal %.1f, ratio %.3f\n",
                     static_cast<long long>(report.totalPairs),
                     100.0 * report.fractionOfDense, report.costSpread,
                     report.makespan, report.idealMakespan,
                     report.makespanRatio);
  return success();
}

struct BalanceBandsPass
    : public mlir::spa::impl::SpaBalanceBandsBase<BalanceBandsPass> {
  using Base::Base;

  void runOnOperation() override {
    Operation *root = getOperation();
    if (tileQ <= 0 || tileK <= 0 || numSMs <= 0) {
      root->emitError() << "spa-balance-bands: tile shape and SM count must "
                           "be positive, got tile "
                        << tileQ.getValue() << "x" << tileK.getValue() << ", "
                        << numSMs.getValue() << " SMs";
      return signalPassFailure();
    }
    std::optional<BandPolicyKind> overrideKind = policy.getValue().kind;
    WalkResult result = root->walk([&](BandedAttentionOpInterface op) {
      return failed(balance(op, overrideKind)) ? WalkResult::interrupt()
                                               : WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }

  LogicalResult balance(BandedAttentionOpInterface op,
                        std::optional<BandPolicyKind> overrideKind) {
    auto queryType = cast<ShapedType>(op.getQuery().getType());
    auto keyType = cast<ShapedType>(op.getKey().getType());
    int64_t numHeads = queryType.getDimSize(1);
    int64_t queryLen = queryType.getDimSize(2);
    int64_t keyLen = keyType.getDimSize(2);

    auto policyAttr = dyn_cast<BandPolicyAttr>(op.getBands());
    if (!policyAttr || op.getBandBounds()) {
      // Already a table (or run-time bounds): report it, change nothing.
      if (report && !policyAttr && !ShapedType::isDynamic(keyLen))
        return printReport(llvm::outs(), op, toPlanTable(op.getBandTable()),
                           "given table",
                           ShapedType::isDynamic(queryLen) ? keyLen : queryLen,
                           keyLen, {tileQ, tileK}, numSMs);
      return success();
    }

    BandPolicyKind kind = overrideKind.value_or(policyAttr.getKind());
    if (kind != policyAttr.getKind()) {
      // Parameters of another policy do not carry over.
      policyAttr = BandPolicyAttr::get(
          op.getContext(), policyAttr.getMode(), kind,
          kind == BandPolicyKind::SlidingWindow ? policyAttr.getWindow() : -1,
          kind == BandPolicyKind::TileBalanced ? policyAttr.getTileQ() : 0,
          kind == BandPolicyKind::TileBalanced ? policyAttr.getTileK() : 0);
    }
    plan::TileShape tile{tileQ, tileK};
    if (policyAttr.getTileQ() > 0)
      tile = {policyAttr.getTileQ(), policyAttr.getTileK()};

    // Both the static tables and the run-time bounds are built per head.
    if (numHeads > plan::kMaxHeads)
      return op->emitOpError() << "cannot plan bands for " << numHeads
                              << " query heads: band planning takes at most "
                              << plan::kMaxHeads << " (2^20)";
    if (ShapedType::isDynamic(keyLen))
      return materializeRuntimeBounds(op, policyAttr, numHeads);

    if (keyLen == 0)
      return op->emitOpError("cannot plan bands for an empty key sequence "
                            "(Nk = 0)");
    // Fewer distances than heads is a valid layer (SPEC section 1): the
    // distance-partitioning policies leave heads Nk..Hq-1 with an empty
    // band, whose rows have no keys (zero outputs and gradients), exactly
    // as the run-time bounds of a dynamic Nk give them, so that one layer
    // means the same whether its length is static or not (a decode step
    // at Nk < Hq included).

    plan::PolicyOptions options;
    options.window = policyAttr.getWindow();
    options.tile = tile;
    options.queryLen = ShapedType::isDynamic(queryLen) ? -1 : queryLen;
    plan::PlanResult planned =
        plan::makeBandTable(toPlanKind(kind), keyLen, numHeads,
                            toPlanMode(policyAttr.getMode()), options);
    if (!planned)
      return op->emitOpError() << "cannot plan bands: " << planned.error;
    op.setBandsAttr(fromPlanTable(op.getContext(), *planned.table));
    if (report)
      return printReport(llvm::outs(), op, *planned.table,
                         stringifyBandPolicyKind(kind),
                         ShapedType::isDynamic(queryLen) ? keyLen : queryLen,
                         keyLen, tile, numSMs);
    return success();
  }

  /// Dynamic Nk: bounds are computed at run time from the key length.
  LogicalResult materializeRuntimeBounds(BandedAttentionOpInterface op,
                                         BandPolicyAttr policyAttr,
                                         int64_t numHeads) {
    BandPolicyKind kind = policyAttr.getKind();
    if (!BandBoundsOp::hasRuntimeForm(kind))
      return op->emitOpError()
             << "policy " << stringifyBandPolicyKind(kind)
             << " needs a static key length, but key dimension 2 (Nk) is "
                "dynamic";
    if (!op.hasPureTensorSemantics())
      return op->emitOpError("run-time band bounds need tensor semantics; run "
                            "-spa-balance-bands before bufferization");
    OpBuilder builder(op);
    Location loc = op.getLoc();
    Value keyLen = tensor::DimOp::create(builder, loc, op.getKey(), 2);
    auto boundsType = RankedTensorType::get(
        {numHeads, BandBoundsOp::getSlotsPerHead(kind), 2},
        builder.getIndexType());
    Value bounds =
        BandBoundsOp::create(builder, loc, boundsType, policyAttr, keyLen);
    op.getBandBoundsMutable().assign(bounds);
    op.setBandsAttr(policyAttr);
    if (report) {
      auto func = op->getParentOfType<FunctionOpInterface>();
      llvm::outs() << "=== spa-balance-bands report: @"
                   << (func ? func.getName() : StringRef("?")) << " "
                   << op->getLoc() << "\nplan "
                   << stringifyBandPolicyKind(kind) << " ("
                   << stringifyBandMode(policyAttr.getMode())
                   << "), Hq = " << numHeads
                   << ", Nk dynamic: bounds computed at run time by "
                      "spa.band_bounds\n";
    }
    return success();
  }
};

} // namespace
