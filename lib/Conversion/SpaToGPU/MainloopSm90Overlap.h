//===- MainloopSm90Overlap.h - the overlapped wgmma ring --*- C++ -*-===//
//
// forward-schedule = overlap: FlashAttention-3's in-warpgroup overlap. The
// serial schedules wait for Q K^T, run the softmax, then wait for P V, so
// the tensor cores idle during the softmax. Here the products of two tiles
// are in flight together. Per key range [begin, end) of the work item,
// tiles t = 0, 1, ... at j_t = begin + t tileK, S = `stages` >= 2 buffers
// (K and V of tile c of the item in buffer c % S, both on one mbarrier):
//
//   copies of tiles 0 .. S-1 (every buffer is free at a range's start)
//   t = 0:   wait K/V(0); S_0 = Q K_0^T; softmax(S_0) -> P_0, alpha_0;
//            O *= alpha_0
//   t >= 1:  wait K/V(t)
//            issue S_t = Q K_t^T               (group 1)
//            issue O += P_{t-1} V_{t-1}        (group 2)
//            wait for group 1; softmax(S_t) -> P_t, alpha_t (under P V)
//            wait for group 2; O *= alpha_t
//            block barrier; copy tile t - 1 + S into buffer (t - 1) % S
//   end:     O += P_last V_last; block barrier
//
// O is rescaled only after P V completes and before the next issue: an
// instruction writing a wgmma's accumulator registers while an earlier
// group is in flight makes ptxas serialise the wgmma (warning C7513), which
// is what sank an earlier version that rescaled before issuing P V
// (docs/benchmarks.md). Likewise P's packed words, the register A operand
// of P V: the wait for P V keeps them live (waitForAccumulators' aWords),
// or the compiler gives their registers to the next tile's P, written while
// P V still reads them (the same warning, in ws-overlap until 2026-12-04).
// A range pipelines on its own (its first tile is
// peeled; its last P V drains at its end), so the schedule stays one loop
// per range as the serial ones are.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_MAINLOOPSM90OVERLAP_H
#define SPA_LIB_CONVERSION_SPATOGPU_MAINLOOPSM90OVERLAP_H

#include "MainloopSm90.h"
#include "MmaSync.h"

namespace mlir::spa::gpu_kernel {

class MainloopSm90Overlap : public MainloopSm90Base {
public:
  explicit MainloopSm90Overlap(KernelContext &k) : MainloopSm90Base(k) {
    assert(cfg.overlap && cfg.tensorMaps && cfg.stages >= 2 &&
           "chooseForwardSchedule admits this mainloop");
  }

  bool runsRanges() const override { return true; }

  /// Tiles 0 .. S-1 of the range into the next S buffers of the ring.
  void beginRange(ImplicitLocOpBuilder &b, const KeyRange &range) override {
    GpuArith e{b};
    Value first = ring.taken(b);
    for (int64_t t = 0; t < cfg.stages; ++t) {
      Value j0 = e.add(range.begin, e.index(t * cfg.tileK));
      prefetch(b, e.cmp(P::slt, j0, range.end), j0,
               e.rem(e.add(first, e.index(t)), e.index(cfg.stages)),
               Copy::Both);
    }
  }

  SmallVector<Value> runRange(ImplicitLocOpBuilder &b, const KeyRange &range,
                              SmallVector<Value> state,
                              TileSoftmax softmax) override {
    GpuArith e{b};
    auto ifOp = scf::IfOp::create(
        b, e.cmp(P::slt, range.begin, range.end),
        [&](OpBuilder &nb, Location l) {
          ImplicitLocOpBuilder ib(l, nb);
          scf::YieldOp::create(ib, pipeline(ib, range, state, softmax));
        },
        [&](OpBuilder &nb, Location l) { scf::YieldOp::create(nb, l, state); });
    return SmallVector<Value>(ifOp.getResults());
  }

  // The per-tile hooks belong to the serial schedules.
  SmallVector<Value> computeScores(ImplicitLocOpBuilder &, Value,
                                   const KeyRange &, size_t) override {
    llvm_unreachable("the overlapped mainloop runs whole ranges");
  }
  SmallVector<Value> accumulateValues(ImplicitLocOpBuilder &, ArrayRef<Value>,
                                      SmallVector<Value>) override {
    llvm_unreachable("the overlapped mainloop runs whole ranges");
  }

protected:
  /// Every product reading buffer `stage` (tile t - 1, tile t at `j0`) has
  /// been waited for by this thread: here a block barrier (every warp is
  /// done with it), then the buffer takes tile t - 1 + S.
  virtual void releaseTile(ImplicitLocOpBuilder &b, const KeyRange &range,
                           Value j0, Value stage) {
    GpuArith e{b};
    afterWgmma(b);
    Value ahead = e.add(j0, e.index((cfg.stages - 1) * cfg.tileK));
    prefetch(b, e.cmp(P::slt, ahead, range.end), ahead, stage, Copy::Both);
  }
  /// The range's last tile, in buffer `stage`, is done: every buffer is
  /// free for the next range.
  virtual void releaseLastTile(ImplicitLocOpBuilder &b, Value stage) {
    afterWgmma(b);
  }
  /// Around each issue of a tile's products (one or two commit groups):
  /// where ws-pingpong's consumer warpgroups take turns.
  virtual void beforeIssue(ImplicitLocOpBuilder &) {}
  virtual void afterIssue(ImplicitLocOpBuilder &) {}

private:
  /// The carried state of the pipelined loop: m, l (2 each), the O tiles,
  /// the P words of the previous tile, and its buffer.
  struct Carried {
    SmallVector<Value> m, l, o, words;
    Value stage;
  };

  static SmallVector<Value> pack(const Carried &c) {
    SmallVector<Value> v(c.m);
    v.append(c.l.begin(), c.l.end());
    v.append(c.o.begin(), c.o.end());
    v.append(c.words.begin(), c.words.end());
    v.push_back(c.stage);
    return v;
  }

  Carried unpack(ValueRange v) const {
    int64_t oTiles = cfg.valueDim / 8, words = cfg.tileK / 4;
    Carried c;
    c.m.assign(v.begin(), v.begin() + 2);
    c.l.assign(v.begin() + 2, v.begin() + 4);
    c.o.assign(v.begin() + 4, v.begin() + 4 + oTiles);
    c.words.assign(v.begin() + 4 + oTiles, v.begin() + 4 + oTiles + words);
    c.stage = v[4 + oTiles + words];
    return c;
  }

  /// O rows g and g + 8 times alpha (after every product writing O).
  SmallVector<Value> rescale(ImplicitLocOpBuilder &b, ArrayRef<Value> o,
                             ArrayRef<Value> alpha) {
    Value alphaTile =
        make2x2(b, {alpha[0], alpha[0], alpha[1], alpha[1]}, b.getF32Type());
    SmallVector<Value> out;
    for (Value tile : o)
      out.push_back(arith::MulFOp::create(b, tile, alphaTile));
    return out;
  }

  static SmallVector<Value> flatten(ImplicitLocOpBuilder &b,
                                    ArrayRef<Value> tiles) {
    SmallVector<Value> flat;
    for (Value t : tiles)
      appendFlat(b, t, flat);
    return flat;
  }

  /// The buffer of the next tile once its copies landed.
  Value waitNextTile(ImplicitLocOpBuilder &b) {
    Value c = ring.taken(b);
    ring.waitFor(b, keyBarriers, c); // K and V of tile c
    ring.take(b, c);
    return ring.buffer(b, c);
  }

  /// The range's tiles (at least one).
  SmallVector<Value> pipeline(ImplicitLocOpBuilder &b, const KeyRange &range,
                              ArrayRef<Value> state, TileSoftmax softmax) {
    GpuArith e{b};
    // Tile 0: nothing of this range in flight yet.
    Carried first;
    first.stage = waitNextTile(b);
    beforeIssue(b);
    SmallVector<Value> firstScores =
        issueScores(b, cfg, qDesc, kDesc, first.stage);
    afterIssue(b);
    SmallVector<Value> scores = toTiles(b, waitForAccumulators(b, firstScores));
    SoftmaxStep step =
        softmax(b, range.begin, scores, state.take_front(2), state.slice(2, 2));
    first.m = step.m;
    first.l = step.l;
    first.o = rescale(b, state.drop_front(4), step.alpha);
    first.words = packProbabilities(b, cfg, step.probs);

    auto loop = scf::ForOp::create(
        b, e.add(range.begin, e.index(cfg.tileK)), range.end,
        e.index(cfg.tileK), pack(first),
        [&](OpBuilder &nb, Location l, Value j0, ValueRange iterArgs) {
          ImplicitLocOpBuilder ib(l, nb);
          scf::YieldOp::create(
              ib, pack(tile(ib, range, j0, unpack(iterArgs), softmax)));
        });
    // The last tile's P V.
    Carried last = unpack(loop.getResults());
    Value vStage = stageDescriptor(b, cfg, vDesc, last.stage, cfg.valueDim);
    beforeIssue(b);
    SmallVector<Value> lastValues =
        issueRegisterAProduct(b, cfg.elementType, vStage, cfg.tileK,
                              cfg.valueDim, last.words, flatten(b, last.o));
    afterIssue(b);
    SmallVector<Value> o = toTiles(
        b, waitForAccumulators(b, lastValues, /*pending=*/0, last.words));
    releaseLastTile(b, last.stage);
    SmallVector<Value> result(last.m);
    result.append(last.l.begin(), last.l.end());
    result.append(o.begin(), o.end());
    return result;
  }

  /// Tile t >= 1 at j0: S_t and P_{t-1} V_{t-1} in flight together.
  Carried tile(ImplicitLocOpBuilder &b, const KeyRange &range, Value j0,
               const Carried &prev, TileSoftmax softmax) {
    GpuArith e{b};
    Carried next;
    next.stage = waitNextTile(b);
    beforeIssue(b);
    SmallVector<Value> scoresFlat =
        issueScores(b, cfg, qDesc, kDesc, next.stage);
    Value vStage = stageDescriptor(b, cfg, vDesc, prev.stage, cfg.valueDim);
    SmallVector<Value> oFlat =
        issueRegisterAProduct(b, cfg.elementType, vStage, cfg.tileK,
                              cfg.valueDim, prev.words, flatten(b, prev.o));
    afterIssue(b);
    SmallVector<Value> scores =
        toTiles(b, waitForAccumulators(b, scoresFlat, /*pending=*/1));
    SoftmaxStep step = softmax(b, j0, scores, prev.m, prev.l);
    next.m = step.m;
    next.l = step.l;
    next.words = packProbabilities(b, cfg, step.probs);
    SmallVector<Value> o =
        toTiles(b, waitForAccumulators(b, oFlat, /*pending=*/0, prev.words));
    next.o = rescale(b, o, step.alpha);
    releaseTile(b, range, j0, prev.stage);
    return next;
  }
};

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_MAINLOOPSM90OVERLAP_H
