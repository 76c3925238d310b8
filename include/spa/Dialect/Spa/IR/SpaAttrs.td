//===- SpaAttrs.td - spa attributes ------------------------*- tablegen -*-===//
//
// Attributes describing which keys each query head attends: a concrete band
// table (`#spa.bands`) and an unresolved policy (`#spa.band_policy`).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_DIALECT_SPA_IR_SPAATTRS_TD
#define SPA_DIALECT_SPA_IR_SPAATTRS_TD

include "spa/Dialect/Spa/IR/SpaBase.td"

class Spa_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Spa_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Spa_BandsAttr : Spa_Attr<"Bands", "bands"> {
  let summary = "a concrete band table: distance intervals per query head";
  let description = [{
    One list of half-open distance intervals per query head, plus the
    distance mode. An interval `lo:hi` is the half-open range `[lo, hi)`, as
    in a Python slice. In `causal` mode the distance of query row `i` to key
    `j` is `d = p_i - j` with `p_i = i + (Nk - Nq)` and only `d >= 0` is
    admissible; in `bidirectional` mode it is `|p_i - j|`. Head `h` attends
    key `j` iff `d` lies in one of its intervals.

    Intervals of a head are sorted, disjoint and non-empty, with non-negative
    bounds; a head may have no interval at all (`[]`), in which case its
    output rows are zero and its log-sum-exp is `-inf`. Intervals may extend
    past the distances that exist for a given sequence length; they are
    clipped.

    Example (two heads sharing 1024 distances, and a head with two bands):

    ```mlir
    #spa.bands<causal, [0:512], [512:1024]>
    #spa.bands<causal, [0:65, 512:1024], []>
    ```
  }];
  let parameters = (ins
    "::mlir::spa::BandMode":$mode,
    ArrayRefParameter<"int64_t", "interval bounds lo0, hi0, lo1, hi1, ...">:$bounds,
    ArrayRefParameter<"int64_t", "per head: index of its first interval, plus a final end index">:$headOffsets
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "::mlir::spa::BandMode":$mode,
                     "::llvm::ArrayRef<::llvm::SmallVector<std::pair<int64_t, int64_t>>>":$heads)>
  ];
  let extraClassDeclaration = [{
    /// Number of query heads the table describes.
    int64_t getNumHeads() const { return getHeadOffsets().size() - 1; }
    /// Intervals of head `head` as (lo, hi) pairs.
    ::llvm::SmallVector<std::pair<int64_t, int64_t>> getHeadIntervals(int64_t head) const;
  }];
}

def Spa_BandPolicyAttr : Spa_Attr<"BandPolicy", "band_policy"> {
  let summary = "an unresolved band plan: a policy with its parameters";
  let description = [{
    Names one of the band policies of SPEC.md. `-spa-balance-bands` turns it
    into a concrete `#spa.bands` table once the key length is known (or into
    runtime index arithmetic for dynamic lengths).

    Syntax: `#spa.band_policy<mode, kind [, window = w] [, tile = QxK]>`.
    `window` is the `w` of `sliding_window(w)`; without it each head uses its
    own width `W_h`, as in the paper's ablation. `tile` is the tile shape that
    `tile_balanced` balances for (default: the pass option).

    ```mlir
    #spa.band_policy<causal, exclusive_equal>
    #spa.band_policy<causal, sliding_window, window = 128>
    #spa.band_policy<bidirectional, tile_balanced, tile = 128x64>
    ```
  }];
  let parameters = (ins
    "::mlir::spa::BandMode":$mode,
    "::mlir::spa::BandPolicyKind":$kind,
    DefaultValuedParameter<"int64_t", "-1", "sliding window w (-1: per head W_h)">:$window,
    DefaultValuedParameter<"int64_t", "0", "tile rows (0: pass default)">:$tileQ,
    DefaultValuedParameter<"int64_t", "0", "tile columns (0: pass default)">:$tileK
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // SPA_DIALECT_SPA_IR_SPAATTRS_TD
