//===- Passes.td - spa transformation passes ---------------*- tablegen -*-===//

#ifndef SPA_DIALECT_SPA_TRANSFORMS_PASSES_TD
#define SPA_DIALECT_SPA_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SpaBalanceBands : Pass<"spa-balance-bands"> {
  let summary = "Resolve #spa.band_policy into per-head band tables";
  let description = [{
    Rewrites the `bands` of every `spa.attention` that still holds a
    `#spa.band_policy` into a concrete `#spa.bands` table, computed by the
    planning library exactly as SPEC.md defines each policy. The
    `tile_balanced` policy balances the cost model's estimate for the tile
    shape and SM count given as options (or in the policy itself).

    When the key length `Nk` is dynamic, the table depends on the run-time
    length: the pass inserts `spa.band_bounds` on `Nk` (read with
    `tensor.dim`/`memref.dim`) and passes its result as the op's
    `band_bounds`; `-spa-expand-band-bounds` turns that into index
    arithmetic. One compiled module then serves every length.

    With `report`, the pass prints for each op the per-head intervals,
    useful pairs, share of the layer, full and partial key tiles and cost,
    and the layer summary (fraction of dense causal work, cost spread, and
    the makespan of a longest-job-first schedule over the SMs).

    ```
    spa-opt layer.mlir --spa-balance-bands="policy=pair_balanced report"
    ```
  }];
  let options = [
    Option<"policy", "policy", "::mlir::spa::PolicyOverride",
           /*default=*/"::mlir::spa::PolicyOverride()",
           "Override every op's policy kind (a #spa.band_policy name); "
           "empty keeps each op's own">,
    Option<"tileQ", "tile-q", "int64_t", /*default=*/"128",
           "Query rows per tile for the cost model and tile_balanced">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"128",
           "Key columns per tile for the cost model and tile_balanced">,
    Option<"numSMs", "num-sms", "int64_t", /*default=*/"132",
           "Processors for the schedule estimate (H100 SXM: 132)">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Print the per-head plan and cost report to stdout">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::memref::MemRefDialect"
  ];
}

def SpaExpandBandBounds : Pass<"spa-expand-band-bounds"> {
  let summary = "Lower spa.band_bounds to elementwise arith on index tensors";
  let description = [{
    Expands each `spa.band_bounds` into the closed-form index arithmetic of
    its policy (`Wb = N / H`, `R = N % H`, `W_h = Wb + (h < R)`,
    `S_h = h * Wb + min(h, R)`), with the same merging and clipping as the
    static planner, computed elementwise on `[Hq, slots, 2]` index tensors:
    a fixed number of ops for any head count. With a constant key length
    the result folds to a constant equal to the static table. Bufferizing
    the result needs `-convert-elementwise-to-linalg` (spa-to-llvm-cpu runs
    it).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SpaCheckInput : Pass<"spa-check-input"> {
  let summary = "Reject input IR that upstream passes of the pipelines crash on";
  let description = [{
    The first pass of spa's pipelines: gives a located error for IR that the
    verifiers accept but a later upstream pass of the pipeline crashes on,
    so that no user input ends in a signal. Today: `tensor.dim` and
    `memref.dim` with a constant index outside `[0, rank)` (MLIR 22's
    canonicalizer segfaults folding it).
  }];
}

def SpaOutlineAttention : Pass<"spa-outline-attention", "::mlir::ModuleOp"> {
  let summary = "Move each spa.attention / spa.attention_grad into its own "
                "private function, called where the op was";
  let description = [{
    Every `spa.attention` and `spa.attention_grad` on tensors inside a
    `func.func @f` of the module becomes a call of a new
    `func.func private @f_attention_<i>` (i counts the ops of `@f` in walk
    order; a name already taken is skipped). The new function takes the
    op's tensor inputs and returns its results; it holds the cloned op
    (bands, mode, scale and location kept) on `tensor.empty` destinations
    (the op writes every element of its destinations, so their contents do
    not matter; dynamic sizes come from `tensor.dim` of the inputs). It is
    marked `spa.outlined` and keeps the op's location.

    The result is one attention op per function, the shape spa's GPU
    compiler, and any runtime that routes attention to its own kernel (an
    IREE external dispatch), takes: the host code around it calls it by
    name. Running the pass again changes nothing (functions marked
    `spa.outlined` are skipped).

    Refused with a located error: ops on memrefs (outline before
    bufferization), ops with run-time `band_bounds` (outline before
    `-spa-balance-bands`), ops outside a `func.func` of the module.
  }];
  let dependentDialects = [
    "::mlir::func::FuncDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SpaScheduleWorkItems : Pass<"spa-schedule-work-items"> {
  let summary = "Give the OpenMP loops of spa's CPU work items a dynamic "
                "schedule";
  let description = [{
    Run after `-convert-scf-to-openmp` in spa-to-llvm-cpu: every `omp.wsloop`
    without a schedule gets `schedule(dynamic, 1)`. The CPU vector form's
    work items (batch, head, block of query rows) differ in cost by the
    band plan (a head of `exclusive_equal` reaching distances near N has
    keys only for the last query blocks), and OpenMP's default static
    schedule hands each thread one contiguous range of them: on two threads
    that ran `exclusive_equal` no faster than one. Taking the next work item
    as a thread frees up balances them for one atomic per work item.
    Loops that already carry a schedule are left as they are.
  }];
  let dependentDialects = ["::mlir::omp::OpenMPDialect"];
}

#endif // SPA_DIALECT_SPA_TRANSFORMS_PASSES_TD
