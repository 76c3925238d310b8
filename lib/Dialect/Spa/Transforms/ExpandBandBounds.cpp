//===- ExpandBandBounds.cpp - spa.band_bounds -> index arithmetic ---------===//
//
// Lowers run-time band bounds to elementwise arith on index tensors of the
// key length, mirroring the static planner's formulas, merging and clipping
// (SPEC.md section 1):
//   Wb = N / H, R = N % H, W_h = Wb + (h < R), S_h = h * Wb + min(h, R).
// A lit test checks that, folded on constant lengths, the result equals the
// table -spa-balance-bands writes for every policy and many (N, H).
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Dialect/Spa/Transforms/Passes.h"
#include "spa/Planning/Limits.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <numeric>

namespace mlir::spa {
#define GEN_PASS_DEF_SPAEXPANDBANDBOUNDS
#include "spa/Dialect/Spa/Transforms/Passes.h.inc"
} // namespace mlir::spa

using namespace mlir;
using namespace mlir::spa;

namespace {

/// Builds the bounds with elementwise arith on [Hq, slots, 2] index tensors:
/// a fixed number of ops whatever Hq is (one scalar op chain per head took
/// over 3 minutes through spa-to-llvm-cpu at 100,000 heads), and still
/// folding to the constant table when N is constant.
struct ExpandBandBoundsPattern : public OpRewritePattern<BandBoundsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BandBoundsOp op,
                                PatternRewriter &rewriter) const override {
    BandPolicyAttr policy = op.getPolicy();
    if (!BandBoundsOp::hasRuntimeForm(policy.getKind()))
      return rewriter.notifyMatchFailure(op, "no run-time form");
    Location loc = op.getLoc();
    RankedTensorType type = op.getBounds().getType();
    const int64_t numHeads = type.getDimSize(0), slots = type.getDimSize(1);
    // Every operand below is a tensor of `type`; scalars are splatted.
    auto splat = [&](Value scalar) -> Value {
      return tensor::SplatOp::create(rewriter, loc, type, scalar);
    };
    auto constant = [&](int64_t value) -> Value {
      return arith::ConstantOp::create(
          rewriter, loc,
          DenseElementsAttr::get(type, rewriter.getIndexAttr(value)));
    };
    auto add = [&](Value x, Value y) -> Value {
      return arith::AddIOp::create(rewriter, loc, x, y);
    };
    auto minu = [&](Value x, Value y) -> Value {
      return arith::MinUIOp::create(rewriter, loc, x, y);
    };
    auto cmp = [&](arith::CmpIPredicate pred, Value x, Value y) -> Value {
      return arith::CmpIOp::create(rewriter, loc, pred, x, y);
    };
    auto select = [&](Value cond, Value x, Value y) -> Value {
      return arith::SelectOp::create(rewriter, loc, cond, x, y);
    };
    // Element (h, s, side) sits at flat position (h * slots + s) * 2 + side.
    SmallVector<int64_t> flat(type.getNumElements());
    std::iota(flat.begin(), flat.end(), 0);
    Value position = arith::ConstantOp::create(
        rewriter, loc,
        DenseIntElementsAttr::get(type, ArrayRef<int64_t>(flat)));
    Value side = arith::RemUIOp::create(rewriter, loc, position, constant(2));
    Value slot = arith::RemUIOp::create(
        rewriter, loc,
        arith::DivUIOp::create(rewriter, loc, position, constant(2)),
        constant(slots));
    Value head =
        arith::DivUIOp::create(rewriter, loc, position, constant(2 * slots));

    Value nScalar = op.getKeyLen();
    Value headsScalar = arith::ConstantIndexOp::create(rewriter, loc, numHeads);
    Value n = splat(nScalar);
    Value baseWidth =
        splat(arith::DivUIOp::create(rewriter, loc, nScalar, headsScalar));
    Value remainder =
        splat(arith::RemUIOp::create(rewriter, loc, nScalar, headsScalar));
    Value zero = constant(0), one = constant(1);
    Value isWide = cmp(arith::CmpIPredicate::ult, head, remainder);
    Value width = add(baseWidth, select(isWide, one, zero));
    Value start = add(arith::MulIOp::create(rewriter, loc, head, baseWidth),
                      minu(head, remainder));
    Value end = add(start, width);
    // The shared local window [0, W_h + 1), clipped to the distances.
    auto localWindow = [&]() { return minu(add(width, one), n); };

    // Each slot's [lo, hi), in slot order.
    SmallVector<std::pair<Value, Value>> intervals;
    switch (policy.getKind()) {
    case BandPolicyKind::ExclusiveEqual:
      intervals.push_back({start, end});
      break;
    case BandPolicyKind::GappedHalf:
      intervals.push_back(
          {start, add(start, arith::DivUIOp::create(rewriter, loc, width,
                                                    constant(2)))});
      break;
    case BandPolicyKind::DenseCausal:
      intervals.push_back({zero, n});
      break;
    case BandPolicyKind::SlidingWindow:
      intervals.push_back({zero, policy.getWindow() >= 0
                                     ? minu(constant(policy.getWindow() + 1), n)
                                     : localWindow()});
      break;
    case BandPolicyKind::LocalPlusBand: {
      // [0, a) and [s, e) merge when the band is non-empty and starts
      // inside or right after the window.
      Value local = localWindow();
      Value merge = arith::AndIOp::create(
          rewriter, loc, cmp(arith::CmpIPredicate::ule, start, local),
          cmp(arith::CmpIPredicate::ult, start, end));
      intervals.push_back(
          {zero,
           select(merge, arith::MaxUIOp::create(rewriter, loc, local, end),
                  local)});
      intervals.push_back(
          {select(merge, zero, start), select(merge, zero, end)});
      break;
    }
    case BandPolicyKind::PairBalanced:
    case BandPolicyKind::TileBalanced:
      llvm_unreachable("no run-time form, checked above");
    }
    assert(static_cast<int64_t>(intervals.size()) == slots &&
           "the op's verifier fixes the slot count per policy");

    Value lo = intervals.back().first, hi = intervals.back().second;
    for (int64_t s = slots - 2; s >= 0; --s) {
      Value here = cmp(arith::CmpIPredicate::eq, slot, constant(s));
      lo = select(here, intervals[s].first, lo);
      hi = select(here, intervals[s].second, hi);
    }
    rewriter.replaceOp(
        op, select(cmp(arith::CmpIPredicate::eq, side, zero), lo, hi));
    return success();
  }
};

struct ExpandBandBoundsPass
    : public mlir::spa::impl::SpaExpandBandBoundsBase<ExpandBandBoundsPass> {
  void runOnOperation() override {
    // The bounds are materialised per element (a position constant), so the
    // head count is bounded as for static planning.
    WalkResult tooLarge = getOperation()->walk([](BandBoundsOp op) {
      int64_t numHeads = op.getBounds().getType().getDimSize(0);
      if (numHeads <= ::spa::plan::kMaxHeads)
        return WalkResult::advance();
      op.emitOpError() << "run-time bounds for " << numHeads
                       << " query heads: at most " << ::spa::plan::kMaxHeads
                       << " (2^20) are supported";
      return WalkResult::interrupt();
    });
    if (tooLarge.wasInterrupted())
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    populateExpandBandBoundsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::spa::populateExpandBandBoundsPatterns(RewritePatternSet &patterns) {
  patterns.add<ExpandBandBoundsPattern>(patterns.getContext());
}
