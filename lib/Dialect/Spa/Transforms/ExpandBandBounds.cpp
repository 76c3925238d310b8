//===- ExpandBandBounds.cpp - spa.band_bounds -> index arithmetic ---------===//
//
// Lowers run-time band bounds to arith on the key length, mirroring the
// static planner's formulas, merging and clipping (SPEC.md section 1):
//   Wb = N / H, R = N % H, W_h = Wb + (h < R), S_h = h * Wb + min(h, R).
// A lit test checks that, folded on constant lengths, the result equals the
// table -spa-balance-bands writes for every policy and many (N, H).
//
//===----------------------------------------------------------------------===//

#include "spa/Dialect/Spa/IR/SpaDialect.h"
#include "spa/Dialect/Spa/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::spa {
#define GEN_PASS_DEF_SPAEXPANDBANDBOUNDS
#include "spa/Dialect/Spa/Transforms/Passes.h.inc"
} // namespace mlir::spa

using namespace mlir;
using namespace mlir::spa;

namespace {

struct ExpandBandBoundsPattern : public OpRewritePattern<BandBoundsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BandBoundsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getBounds().getType();
    int64_t numHeads = type.getDimSize(0);
    BandPolicyAttr policy = op.getPolicy();
    auto constant = [&](int64_t value) -> Value {
      return arith::ConstantIndexOp::create(rewriter, loc, value);
    };
    Value n = op.getKeyLen();
    Value zero = constant(0), one = constant(1), heads = constant(numHeads);
    Value baseWidth = arith::DivUIOp::create(rewriter, loc, n, heads);
    Value remainder = arith::RemUIOp::create(rewriter, loc, n, heads);

    SmallVector<Value> elements;
    auto push = [&](Value lo, Value hi) {
      elements.push_back(lo);
      elements.push_back(hi);
    };
    for (int64_t h = 0; h < numHeads; ++h) {
      Value head = constant(h);
      Value isWide = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::ult, head, remainder);
      Value width = arith::AddIOp::create(
          rewriter, loc, baseWidth,
          arith::SelectOp::create(rewriter, loc, isWide, one, zero));
      Value start = arith::AddIOp::create(
          rewriter, loc, arith::MulIOp::create(rewriter, loc, head, baseWidth),
          arith::MinUIOp::create(rewriter, loc, head, remainder));
      Value end = arith::AddIOp::create(rewriter, loc, start, width);
      // The shared local window [0, W_h + 1), clipped to the distances.
      auto localWindow = [&]() -> Value {
        return arith::MinUIOp::create(
            rewriter, loc, arith::AddIOp::create(rewriter, loc, width, one),
            n);
      };

      switch (policy.getKind()) {
      case BandPolicyKind::ExclusiveEqual:
        push(start, end);
        break;
      case BandPolicyKind::GappedHalf:
        push(start, arith::AddIOp::create(
                        rewriter, loc, start,
                        arith::DivUIOp::create(rewriter, loc, width,
                                               constant(2))));
        break;
      case BandPolicyKind::DenseCausal:
        push(zero, n);
        break;
      case BandPolicyKind::SlidingWindow: {
        Value hi = policy.getWindow() >= 0
                       ? arith::MinUIOp::create(
                             rewriter, loc, constant(policy.getWindow() + 1), n)
                       : localWindow();
        push(zero, hi);
        break;
      }
      case BandPolicyKind::LocalPlusBand: {
        // [0, a) and [s, e) merge when the band is non-empty and starts
        // inside or right after the window.
        Value local = localWindow();
        Value touches = arith::CmpIOp::create(
            rewriter, loc, arith::CmpIPredicate::ule, start, local);
        Value nonEmpty = arith::CmpIOp::create(
            rewriter, loc, arith::CmpIPredicate::ult, start, end);
        Value merge = arith::AndIOp::create(rewriter, loc, touches, nonEmpty);
        push(zero, arith::SelectOp::create(
                       rewriter, loc, merge,
                       arith::MaxUIOp::create(rewriter, loc, local, end),
                       local));
        push(arith::SelectOp::create(rewriter, loc, merge, zero, start),
             arith::SelectOp::create(rewriter, loc, merge, zero, end));
        break;
      }
      case BandPolicyKind::PairBalanced:
      case BandPolicyKind::TileBalanced:
        return rewriter.notifyMatchFailure(op, "no run-time form");
      }
    }
    rewriter.replaceOpWithNewOp<tensor::FromElementsOp>(op, type, elements);
    return success();
  }
};

struct ExpandBandBoundsPass
    : public mlir::spa::impl::SpaExpandBandBoundsBase<ExpandBandBoundsPass> {
  void runOnOperation() override {
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
