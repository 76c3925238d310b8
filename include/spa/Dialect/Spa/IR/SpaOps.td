//===- SpaOps.td - spa operations --------------------------*- tablegen -*-===//
//
// `spa.attention` (banded multi-head attention) and `spa.attention_grad`
// (its gradients), in destination-passing style on tensors or memrefs, and
// `spa.band_bounds` (a policy's table for a run-time key length).
//
//===----------------------------------------------------------------------===//

#ifndef SPA_DIALECT_SPA_IR_SPAOPS_TD
#define SPA_DIALECT_SPA_IR_SPAOPS_TD

include "spa/Dialect/Spa/IR/SpaBase.td"
include "spa/Dialect/Spa/IR/SpaAttrs.td"
include "spa/Dialect/Spa/IR/SpaInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Spa_AnyBandsAttr : AnyAttrOf<[Spa_BandsAttr, Spa_BandPolicyAttr]>;

def Spa_AttentionOp : Spa_Op<"attention", [
    AttrSizedOperandSegments,
    Spa_BandedAttentionOpInterface,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "banded multi-head attention (SPAttention)";
  let description = [{
    Computes, for every batch `b`, query head `h`, query row `i`:

    ```
    O[b,h,i,:] = sum_j softmax_j(scale * <Q[b,h,i,:], K[b,g(h),j,:]>) V[b,g(h),j,:]
                 over the keys j with dist(i, j) in I_h
    g(h) = h / (Hq / Hkv)                      (grouped-query attention)
    dist(i, j) = p_i - j  (causal, d >= 0)  or |p_i - j|  (bidirectional)
    p_i = i + (Nk - Nq)                        (bottom-right aligned queries)
    ```

    where `I_h` is head `h`'s interval set from `bands`. A row with no
    admissible key gives zeros and a log-sum-exp of `-inf`.

    Operands: `query` `[B, Hq, Nq, D]`, `key` `[B, Hkv, Nk, D]`, `value`
    `[B, Hkv, Nk, Dv]`, and in `outs` the output `[B, Hq, Nq, Dv]` followed
    optionally by the log-sum-exp `[B, Hq, Nq]` (f32, natural log), which
    training needs for the backward pass. `query`, `key` and `value` share
    one element type (f16, bf16 or f32); accumulation is always f32. `scale`
    defaults to `1/sqrt(D)`. `B`, `Nq` and `Nk` may be dynamic; `Hq`, `Hkv`,
    `D` and `Dv` must be static.

    On tensors the op returns one result per `outs` operand; on memrefs it
    writes them in place and returns nothing.

    When the key length is dynamic, `-spa-balance-bands` cannot write a
    table; it keeps the policy in `bands` and passes the bounds computed at
    run time (`spa.band_bounds`) as `band_bounds`, a `[Hq, M, 2]` index
    tensor of `[lo, hi)` pairs (`lo == hi` marks an unused slot).

    Example:

    ```mlir
    %o, %lse = spa.attention bands(#spa.bands<causal, [0:512], [512:1024]>)
        scale(1.250000e-01)
        ins(%q, %k, %v : tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>,
                         tensor<1x2x1024x64xbf16>)
        outs(%init, %lse_init : tensor<1x2x1024x64xbf16>, tensor<1x2x1024xf32>)
        -> tensor<1x2x1024x64xbf16>, tensor<1x2x1024xf32>
    ```
  }];

  let arguments = (ins
    AnyShaped:$query,
    AnyShaped:$key,
    AnyShaped:$value,
    Optional<AnyShaped>:$band_bounds,
    Variadic<AnyShaped>:$outputs,
    Spa_AnyBandsAttr:$bands,
    OptionalAttr<F64Attr>:$scale
  );
  let results = (outs Variadic<AnyRankedTensor>:$results);

  let assemblyFormat = [{
    `bands` `(` $bands `)`
    (`band_bounds` `(` $band_bounds^ `:` type($band_bounds) `)`)?
    (`scale` `(` $scale^ `)`)?
    `ins` `(` $query `,` $key `,` $value `:` type($query) `,` type($key) `,` type($value) `)`
    `outs` `(` $outputs `:` type($outputs) `)`
    attr-dict (`->` type($results)^)?
  }];

  let hasVerifier = 1;

  let extraClassDeclaration = [{
    /// The scale actually applied: the attribute, or 1/sqrt(D).
    double getEffectiveScale();
    /// True when the op has tensor semantics (returns its results).
    bool hasPureTensorSemantics();
    /// The output operand `[B, Hq, Nq, Dv]`.
    ::mlir::Value getOutput() { return getOutputs()[0]; }
    /// The log-sum-exp destination, or null when not requested.
    ::mlir::Value getLogSumExp() {
      return getOutputs().size() > 1 ? getOutputs()[1] : ::mlir::Value();
    }
    /// The concrete band table, or null when `bands` is still a policy.
    ::mlir::spa::BandsAttr getBandTable() {
      return ::llvm::dyn_cast<::mlir::spa::BandsAttr>(getBands());
    }
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputsMutable();
    }
  }];
}

def Spa_AttentionGradOp : Spa_Op<"attention_grad", [
    AttrSizedOperandSegments,
    Spa_BandedAttentionOpInterface,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "gradients of banded multi-head attention";
  let description = [{
    The backward pass of `spa.attention` with the same `bands`, `scale` and
    geometry. From the forward's `output` O and natural-log `log_sum_exp`
    L, and the output gradient dO, for every batch, query head h (key/value
    head g(h)) and query row i, over the admissible keys j of the row:

    ```
    P[i,j]  = exp(scale * <Q[i], K[j]> - L[i])      (recomputed, f32)
    Delta_i = sum_d dO[i,d] O[i,d]
    dP[i,j] = <dO[i], V[j]>
    dS[i,j] = P[i,j] (dP[i,j] - Delta_i)
    dQ[i]   = scale sum_j dS[i,j] K[j]
    dK[j]   = scale sum_{h in group(g), i} dS[i,j] Q[i]
    dV[j]   = sum_{h in group(g), i} P[i,j] dO[i]
    ```

    Grouped-query heads: the key and value gradients of a key/value head sum
    the contributions of all query heads of its group. Rows without an
    admissible key contribute nothing and get a zero query gradient; keys
    no row reaches get zero key and value gradients. Accumulation is f32;
    the results have the inputs' element type.

    Operands: `query [B, Hq, Nq, D]`, `key [B, Hkv, Nk, D]`, `value
    [B, Hkv, Nk, Dv]`, `output [B, Hq, Nq, Dv]`, `log_sum_exp [B, Hq, Nq]`
    (f32), `output_grad [B, Hq, Nq, Dv]`, and in `outs` the destinations of
    the query, key and value gradients (shaped like query, key and value).
    `bands`, `band_bounds` and `scale` are as on `spa.attention`, and
    `-spa-balance-bands` resolves a policy here exactly as there, so a
    forward op and its gradient op share one band table.

    Example:

    ```mlir
    %dq, %dk, %dv = spa.attention_grad
        bands(#spa.bands<causal, [0:512], [512:1024]>)
        ins(%q, %k, %v, %o, %lse, %do
            : tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>,
              tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>,
              tensor<1x2x1024xf32>, tensor<1x2x1024x64xbf16>)
        outs(%dq0, %dk0, %dv0 : tensor<1x2x1024x64xbf16>,
             tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>)
        -> tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>,
           tensor<1x2x1024x64xbf16>
    ```
  }];

  let arguments = (ins
    AnyShaped:$query,
    AnyShaped:$key,
    AnyShaped:$value,
    AnyShaped:$output,
    AnyShaped:$log_sum_exp,
    AnyShaped:$output_grad,
    Optional<AnyShaped>:$band_bounds,
    Variadic<AnyShaped>:$outputs,
    Spa_AnyBandsAttr:$bands,
    OptionalAttr<F64Attr>:$scale
  );
  let results = (outs Variadic<AnyRankedTensor>:$results);

  let assemblyFormat = [{
    `bands` `(` $bands `)`
    (`band_bounds` `(` $band_bounds^ `:` type($band_bounds) `)`)?
    (`scale` `(` $scale^ `)`)?
    `ins` `(` $query `,` $key `,` $value `,` $output `,` $log_sum_exp `,`
        $output_grad `:` type($query) `,` type($key) `,` type($value) `,`
        type($output) `,` type($log_sum_exp) `,` type($output_grad) `)`
    `outs` `(` $outputs `:` type($outputs) `)`
    attr-dict (`->` type($results)^)?
  }];

  let hasVerifier = 1;

  let extraClassDeclaration = [{
    /// The scale actually applied: the attribute, or 1/sqrt(D).
    double getEffectiveScale();
    /// True when the op has tensor semantics (returns its results).
    bool hasPureTensorSemantics();
    /// The query gradient destination `[B, Hq, Nq, D]`.
    ::mlir::Value getQueryGrad() { return getOutputs()[0]; }
    /// The key gradient destination `[B, Hkv, Nk, D]`.
    ::mlir::Value getKeyGrad() { return getOutputs()[1]; }
    /// The value gradient destination `[B, Hkv, Nk, Dv]`.
    ::mlir::Value getValueGrad() { return getOutputs()[2]; }
    /// The concrete band table, or null when `bands` is still a policy.
    ::mlir::spa::BandsAttr getBandTable() {
      return ::llvm::dyn_cast<::mlir::spa::BandsAttr>(getBands());
    }
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputsMutable();
    }
  }];
}

def Spa_BandBoundsOp : Spa_Op<"band_bounds", [Pure]> {
  let summary = "band bounds of a policy for a key length known at run time";
  let description = [{
    Computes the interval table of `policy` for `Nk = key_len` query heads
    `H` (the result's first dimension) as index arithmetic, so that one
    compiled module serves every sequence length. The result is a
    `[H, M, 2]` tensor of half-open `[lo, hi)` pairs, `M` the most intervals
    any head of the policy can have (2 for `local_plus_band`, else 1); an
    unused or empty slot has `lo == hi`. Intervals are merged and clipped to
    `[0, Nk)` exactly as the static planner does, so for a constant `key_len`
    the values equal the `#spa.bands` table `-spa-balance-bands` would write.

    `-spa-expand-band-bounds` lowers it to elementwise `arith` on index tensors.
    Only policies with a closed form are supported; `pair_balanced` and
    `tile_balanced` need a static key length.

    ```mlir
    %b = spa.band_bounds #spa.band_policy<causal, local_plus_band> key_len(%n)
        : tensor<16x2x2xindex>
    ```
  }];
  let arguments = (ins Spa_BandPolicyAttr:$policy, Index:$key_len);
  let results = (outs RankedTensorOf<[Index]>:$bounds);
  let assemblyFormat = [{
    qualified($policy) `key_len` `(` $key_len `)` attr-dict `:` type($bounds)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Interval slots per head that `kind` needs at run time.
    static int64_t getSlotsPerHead(::mlir::spa::BandPolicyKind kind);
    /// Whether `kind` has a closed form usable at run time.
    static bool hasRuntimeForm(::mlir::spa::BandPolicyKind kind);
  }];
}

#endif // SPA_DIALECT_SPA_IR_SPAOPS_TD
