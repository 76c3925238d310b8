//===- Passes.td - spa conversion passes -------------------*- tablegen -*-===//

#ifndef SPA_CONVERSION_PASSES_TD
#define SPA_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSpaToLinalg : Pass<"convert-spa-to-linalg"> {
  let summary = "Lower spa.attention (online softmax) and spa.attention_grad "
                "to tiled linalg/scf";
  let description = [{
    Rewrites every `spa.attention` on tensors into upstream `linalg`,
    `tensor`, `arith`, `math` and `scf` only, without ever forming the
    N x N score matrix:

    * loops over batch, query head and query tiles of `tile-q` rows;
    * per head interval (and per side in bidirectional mode), a loop over
      key tiles of `tile-k` columns bounded by the interval: keys `j` with
      `p_i - hi < j <= p_i - lo` for the tile's rows, so untouched tiles are
      never visited;
    * an online softmax in f32 (base-2, with `log2(e)` folded into the
      scale) updated tile by tile; memory is O(tile) per work item;
    * only tiles where some pair falls outside the interval evaluate the
      mask (`scf.if` on a tile-level test); interior tiles take an unmasked
      path.

    Rows without an admissible key produce zeros and a log-sum-exp of
    `-inf`. Grouped-query heads read key/value head `h / (Hq / Hkv)`;
    queries are bottom-right aligned (`p_i = i + Nk - Nq`). The band table
    comes from `#spa.bands` (as a constant) or from the op's run-time
    `band_bounds`; run `-spa-balance-bands` first to resolve policies.

    Every `spa.attention_grad` on tensors is lowered on the same band walk
    (the same work items, key tiles and edge-tile masks): per key tile it
    recomputes `P` from the forward's log-sum-exp in base 2, forms
    `dS = scale * P * (dP - Delta)` with `Delta = rowsum(dO * O)`, adds
    `dS K` into the tile's f32 dQ and `dS^T Q`, `P^T dO` into f32 dK and
    dV over the whole key/value tensors (GQA heads of a group add into one
    key/value head), and converts to the element type at the end. Rows
    without keys get a zero dQ, keys no row reaches zero dK and dV.

    With `static-tiles=true` every forward tile has the static shape
    tile-q x tile-k: the query is padded with zero rows to whole query
    tiles, key and value by one key tile, a key tile is interior only when
    it also ends inside its key range (others mask keys past the range's
    end), and the padded query rows are sliced off the results. The band
    table is an i64 constant in both forms.

    With `vector-lanes=L` every `spa.attention` takes the CPU vector form:
    the work items (batch, head, block of L query rows, a head's blocks
    from the last one down so its heaviest come first under causal bands)
    form one
    `scf.forall` marked `spa.work_items` (the pipeline runs it on threads);
    each visits the same key blocks (L keys) as the band walk above, with the
    scores of a block as L vectors of L lanes (key rows, query lanes), built
    by rank-1 updates `vector.fma(broadcast(K[j, d]), Qt[d], St[j])`, masked
    on edge blocks only, the online softmax on whole vectors, and the
    accumulator transposed ([Dv][L]) so `P V` is rank-1 updates too. Inputs
    are padded as in the static-tile form. `2^x` is `exp(x ln 2)`, and the
    `math.exp` ops inside the work items are replaced by upstream's
    polynomial approximation. Gradient ops take the vector form's two
    passes (VectorAttentionGrad.cpp), each one `scf.forall` of work items:
    per (batch, query head, block of L query rows) dQ and Delta (into an f32
    scratch), per (batch, key/value head, block of L keys) dK and dV over
    the group's query heads and the query blocks that reach the keys
    (`BandedTiles::forEachQueryTile`); S and dP are computed in both
    passes, so no work item adds into another's output.
  }];
  let options = [
    Option<"tileQ", "tile-q", "int64_t", /*default=*/"32",
           "Query rows per work item">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"64",
           "Key columns per inner tile">,
    Option<"staticTiles", "static-tiles", "bool", /*default=*/"false",
           "Every tile exactly tile-q x tile-k: query, key and value padded "
           "with zeros, keys past the tile's range masked, padded rows "
           "dropped (no dynamically sized loop-carried tensors: the form "
           "IREE compiles). spa.attention only">,
    Option<"vectorLanes", "vector-lanes", "int64_t", /*default=*/"0",
           "> 0: spa.attention and spa.attention_grad in the CPU vector "
           "form: work items of this many query rows (or keys) in an "
           "scf.forall, L x L blocks of pairs computed in registers by "
           "vector ops; a power of two from 2 to 64 (0: the linalg form)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ConvertSpaToGPU : Pass<"convert-spa-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower buffer-form spa.attention(_grad) to GPU kernels";
  let description = [{
    For every `spa.attention` on memrefs (static shapes, f16/bf16/f32,
    concrete band table) generates a FlashAttention-2 style forward kernel in a
    `gpu.module @spa_kernels` (gpu, nvgpu, vector, scf, arith, math ops) and
    replaces the op by a `gpu.launch_func`: one block of `warps` warps per
    work item (batch, head, query tile of 16 x warps rows), launched in the
    order of a work
    list sorted by the cost model (heaviest first). The band table and the
    work list become private `memref.global` constants passed to the kernel.

    Inside the kernel, key tiles of 64 keys are visited only within each
    head interval's reach; tiles entirely inside the interval skip the mask.
    With `mma=mma.sync`, S = QK^T and O += PV use `nvgpu.mma.sync`
    (m16n8k16) with `ldmatrix` fragments and synchronous tile copies. With
    `mma=wgmma` (sm_90a, f16/bf16) each warpgroup of 64 query rows computes
    S with `nvvm.wgmma.mma_async`
    from 128-byte-swizzled shared tiles and O += PV with wgmma taking P from
    registers; K and V tiles arrive by `cp.async`, the next tile's copy
    overlapping the current tile's softmax and products. The softmax is
    online, in f32, base 2. f32 inputs take the mma.sync kernel on tf32
    tensor cores (m16n8k8). `forward-schedule=ws` (opt-in) splits the
    wgmma kernel into a TMA producer warpgroup and one or two consumer
    warpgroups meeting on mbarriers (setmaxnreg 24/240 or 24/232), in a
    persistent grid of at most 132 blocks an SM slot; `ws-overlap` adds the
    overlapped consumers of `forward-schedule=overlap`; `ws-pingpong` has
    its two consumer warpgroups (warps = 8) take turns to issue their
    products (FlashAttention-3's ping-pong).

    Every `spa.attention_grad` becomes two launches in order (docs/gpu.md):
    `dq` (one block per batch, head and query tile: first Delta =
    rowsum(dO * O) of its rows into an f32 scratch buffer allocated by
    gpu.alloc, then the forward's key ranges streamed) and `dkdv` (one
    block per batch, key/value head and key tile of 16 x warps keys,
    streaming the query tiles of tile-k rows that reach it, reading
    Delta); both recompute P from the saved
    log-sum-exp and use ldmatrix + mma.sync (f16/bf16; f32 is refused with a
    located error), no atomics. On sm_90a with warps 4 or 8 and D, Dv of 64
    or 128, `mma=auto` (and `mma=wgmma`, which also takes other multiples of
    64) runs both product kernels on wgmma with swizzled tiles and a
    two-stage cp.async ring of stream tiles. With `backward-schedule=ws`
    (what `auto` takes at D = Dv = 64) the dK/dV kernel is warp-specialised:
    384 threads own 128 keys, a producer warp issues the TMA copies of the
    query tiles and stages their row statistics, two consumer warpgroups of
    64 keys share a three-stage ring on mbarriers (setmaxnreg 24/240). With
    `deterministic=false`
    (wgmma backward only, tile-k 64 or 128) the launches are three:
    `preprocess` (Delta, and zeros into an f32 scratch dQaccum of padded
    64-row blocks, BackwardQueryAtomic.h), `dkdv_dq` (the dK/dV kernel that
    also multiplies each tile's dS by its own K tile, stages the product in
    shared memory and adds it to dQaccum with bulk asynchronous reductions,
    `cp.reduce.async.bulk ... .add.f32`) and `dq_convert` (dQ = scale *
    dQaccum in the element type). With `score-grads=store` (wgmma, TMA,
    warps 4, tile-k 64, deterministic, classic dK/dV kernel) both product
    kernels walk one grid of 64 x 64 tile pairs aligned to multiples of 64,
    and the launches are `preprocess` (Delta), `dkdv` (which also stages
    each visited tile pair's dS^T in shared memory and stores it with one
    bulk copy, `cp.async.bulk.global.shared::cta`, into a scratch
    `score_grad` of [B Hq R KT Q][64 x 64] elements, ScoreGradStore.h) and
    `dq_stored` (dQ = sum of dS K: one wgmma product a tile pair with both
    operands from shared memory, the dS^T tile brought back by one bulk
    copy on the K tile's mbarrier).
  }];
  let options = [
    Option<"warps", "warps", "int64_t", /*default=*/"4",
           "Warps per block (1, 2, 4, 8, or 12: three consumer warpgroups "
           "of the warp-specialised forward); each owns 16 query rows">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"64",
           "Keys per key tile (16, 32, 64, 128)">,
    Option<"mma", "mma", "::mlir::spa::MmaKind",
           /*default=*/"::mlir::spa::MmaKind::Auto",
           "Matrix instructions", [{::llvm::cl::values(
             clEnumValN(::mlir::spa::MmaKind::Auto, "auto",
                        "wgmma where chip and shape allow, else mma.sync"),
             clEnumValN(::mlir::spa::MmaKind::MmaSync, "mma.sync",
                        "ldmatrix + mma.sync, any sm_80+ (tf32 for f32)"),
             clEnumValN(::mlir::spa::MmaKind::Wgmma, "wgmma",
                        "sm_90a, f16/bf16, warps 4 or 8, D and Dv "
                        "multiples of 64"))}]>,
    Option<"stages", "stages", "int64_t", /*default=*/"0",
           "wgmma kernel: K/V shared buffers (1: one each, next copies "
           "interleaved with compute; n > 1: a ring of n tiles; 0: 2 where "
           "three blocks still fit on an SM, else 1)">,
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "Target chip; wgmma needs sm_90a">,
    Option<"deterministic", "deterministic", "bool", /*default=*/"true",
           "Gradient ops: true runs dQ in its own kernel (every element "
           "written once, bitwise reproducible); false adds each tile's dQ "
           "to an f32 scratch by atomics from the dK/dV kernel (wgmma "
           "backward only; faster, not bitwise reproducible)">,
    Option<"tma", "tma", "bool", /*default=*/"true",
           "wgmma kernels (forward and backward): load the Q/K/V (own and "
           "stream) tiles with TMA (cp.async.bulk.tensor on mbarriers, one "
           "thread issuing) from tensor maps the launcher encodes per call, "
           "where the buffers' layouts allow; false keeps every thread's "
           "cp.async">,
    Option<"tmaStores", "tma-stores", "bool", /*default=*/"true",
           "wgmma kernels whose epilogue stages its rows in shared memory "
           "(the serial forward's O, the dK/dV kernels' dK and dV, the "
           "dq_stored kernel's dQ): one lane a warp writes them with TMA "
           "bulk tensor stores (cp.async.bulk.tensor, a 16 x 64 box each, "
           "rows past the length clipped by the copy engine) from a tensor "
           "map the launcher encodes per call, where the output's layout "
           "allows (the default: with programmatic-launch, -0.2 to -2.5% "
           "fwd+bwd on every SPEC row, docs/benchmarks.md); false keeps "
           "every thread's 16-byte row stores">,
    Option<"backwardSchedule", "backward-schedule",
           "::mlir::spa::BackwardSchedule",
           /*default=*/"::mlir::spa::BackwardSchedule::Auto",
           "Gradient ops on sm_90a: the dK/dV kernel's schedule",
           [{::llvm::cl::values(
             clEnumValN(::mlir::spa::BackwardSchedule::Auto, "auto",
                        "warp-specialised where it applies and measured "
                        "faster, else classic"),
             clEnumValN(::mlir::spa::BackwardSchedule::WarpSpecialized, "ws",
                        "a TMA producer warp and two consumer warpgroups of "
                        "64 keys (wgmma, TMA, f16/bf16, D and Dv 64 or 128, "
                        "tile-k 64, deterministic)"),
             clEnumValN(::mlir::spa::BackwardSchedule::Classic, "classic",
                        "every warp computes, block barriers around the "
                        "stream ring"))}]>,
    Option<"scoreGrads", "score-grads", "::mlir::spa::ScoreGrads",
           /*default=*/"::mlir::spa::ScoreGrads::Auto",
           "Gradient ops: where the dQ kernel takes dS from",
           [{::llvm::cl::values(
             clEnumValN(::mlir::spa::ScoreGrads::Auto, "auto",
                        "store where it applies and measured faster (D = Dv "
                        "= 128, a dS scratch of at most 1 GiB), else "
                        "recompute"),
             clEnumValN(::mlir::spa::ScoreGrads::Recompute, "recompute",
                        "the dQ kernel recomputes S and dP (three products "
                        "a tile; no scratch)"),
             clEnumValN(::mlir::spa::ScoreGrads::Store, "store",
                        "the dK/dV kernel stores each tile pair's dS in a "
                        "scratch (B Hq x intervals x sides x key tiles x Q "
                        "tiles of 64 x 64) and the dQ "
                        "kernel runs one product a tile over it (wgmma, TMA, "
                        "warps 4, tile-k 64, deterministic, classic dK/dV "
                        "schedule)"))}]>,
    Option<"storedDqRows", "stored-dq-rows", "int64_t", /*default=*/"0",
           "Gradient ops with score-grads = store: query rows of a dq_stored "
           "work item; 64 (one warpgroup a block) or 128 (two warpgroups "
           "sharing every K tile: half the K traffic); 0: auto">,
    Option<"successorPrefetch", "successor-prefetch", "int64_t",
           /*default=*/"0",
           "Attention and gradient ops on sm_90a with TMA loads: each block "
           "of a kernel that runs one work item a block also sends into L2 "
           "the tiles that only work item (its own + N) reads (the "
           "forward's Q, the dK/dV kernel's K and V, the recomputing dQ "
           "kernel's Q and dO), so that the block which takes that item "
           "later finds them in L2 instead of memory (an item's first "
           "wait); 0: off, at most 65536; the persistent warp-specialised "
           "forward, the warp-specialised dK/dV kernel, the dq_stored "
           "kernel, split keys and run-time lengths have none">,
    Option<"scoreGradPrefetch", "score-grad-prefetch", "int64_t",
           /*default=*/"0",
           "Gradient ops with score-grads = store: the dq_stored kernel "
           "also prefetches its dS tiles into L2 this many tiles ahead of "
           "the one it multiplies (a range's first ones when it begins), "
           "so that the tiles it reads once from memory are in flight "
           "together rather than a ring's depth at a time; 0: off, at "
           "most 16">,
    Option<"stmatrixStaging", "stmatrix-staging", "bool",
           /*default=*/"false",
           "wgmma kernels that stage accumulator rows in shared memory (the "
           "staged epilogues, the dK/dV kernel's dS tiles): each warp writes "
           "them with stmatrix (four 8 x 8 matrices an instruction, 16 "
           "bytes a lane) instead of one 4-byte store per fragment pair; "
           "the staged bytes are the same">,
    Option<"scoreGradWarpStores", "score-grad-warp-stores", "bool",
           /*default=*/"false",
           "Gradient ops with score-grads = store: each warp of the dK/dV "
           "kernel sends its 16 rows of the staged dS tile to the scratch "
           "itself (one 2048-byte bulk copy from its lane 0 after a warp "
           "sync), instead of a block barrier a tile and one 8192-byte copy "
           "from thread 0; the scratch's bytes are the same">,
    Option<"interleavedDq", "interleaved-dq", "bool", /*default=*/"false",
           "Gradient ops with score-grads = store on the classic wgmma "
           "dK/dV kernel: the dq_stored items run in the dK/dV kernel's "
           "launch, interleaved with its items (one list; each block claims "
           "the next entry), each dQ item waiting for the dK/dV items whose "
           "dS it reads, so that it reads them back from L2; static lengths "
           "only">,
    Option<"interleavedDqStages", "interleaved-dq-stages", "int64_t",
           /*default=*/"4",
           "interleaved-dq: stages of the dQ blocks' ring of K and dS tiles "
           "(2 to 4; the dK/dV blocks' shared memory holds four): its blocks "
           "run at the dK/dV kernel's two an SM, not the dq_stored kernel's "
           "four, so each keeps more tiles in flight">,
    Option<"interleavedDqLag", "interleaved-dq-lag", "int64_t",
           /*default=*/"256",
           "interleaved-dq: how many dK/dV items after the last one whose "
           "dS a dQ item reads it is listed (fewer: dS more often in L2, "
           "more waits); 0 or more">,
    Option<"sharedStreamLse", "shared-stream-lse",
           "::mlir::spa::AutoToggle",
           /*default=*/"::mlir::spa::AutoToggle::Auto",
           "Gradient ops on the classic wgmma dK/dV kernel: each query "
           "tile's lse comes into shared memory with the tile (one 4-byte "
           "cp.async a thread, a tile ahead) instead of a global load per "
           "tile that the products wait for; 512 more bytes of shared "
           "memory a block at 64-row tiles",
           [{::mlir::spa::stagedStreamStatValues()}]>,
    Option<"zeroTailItems", "zero-tail-items", "int64_t",
           /*default=*/"0",
           "Attention and gradient ops with a static work list: items of "
           "its zero tail (those whose rows reach no key, or keys no query) "
           "one block writes, its work-list entries read together and its "
           "zeros stored in 16-byte chunks; 1: a block an item, writing "
           "its zeros as the item's epilogue would; 0: auto (8 for the "
           "recomputing wgmma dQ kernel at D = Dv = 64, warps 4, tile-k "
           "64, where measured faster; else 1); at most 64. The "
           "persistent, split-keys and run-time-length forms keep one an "
           "item">,
    Option<"zeroTailWithItems", "zero-tail-with-items",
           "::mlir::spa::AutoToggle",
           /*default=*/"::mlir::spa::AutoToggle::Auto",
           "Attention and gradient ops with a static work list and one item "
           "a block (the serial forward, the classic dK/dV kernel, the "
           "recomputing dQ and dq_stored kernels): the zero rows of the "
           "list's tail are "
           "written by the blocks of the items with keys (block b also "
           "writes tail items b, b + K, ... of the K items with keys), "
           "so that those stores overlap the products instead of running "
           "alone after them; auto and false: the tail keeps blocks of its "
           "own (auto until the form is measured on a GPU)",
           [{::mlir::spa::zeroTailWithItemsValues()}]>,
    Option<"zeroTailSpread", "zero-tail-spread",
           "::mlir::spa::AutoToggle",
           /*default=*/"::mlir::spa::AutoToggle::Auto",
           "Attention and gradient ops with a static work list whose zero "
           "tail keeps blocks of its own (one item a block): those blocks "
           "are spread evenly among the blocks of the items with keys "
           "after the first wave (block order only: the same items, the "
           "same code), so the tail's stores run beside the products "
           "instead of alone after them; auto and false: the tail's "
           "blocks last (auto until the form is measured on a GPU)",
           [{::mlir::spa::zeroTailSpreadValues()}]>,
    Option<"sharedStreamDelta", "shared-stream-delta",
           "::mlir::spa::AutoToggle",
           /*default=*/"::mlir::spa::AutoToggle::Auto",
           "Gradient ops on the classic wgmma dK/dV kernel: each query "
           "tile's Delta (rowsum(dO * O), the preprocess's output) comes "
           "into one shared buffer at the tile's start, read where dS is "
           "formed (behind a block barrier) instead of a global load per "
           "tile held in registers across the products; 256 more bytes of "
           "shared memory a block at 64-row tiles",
           [{::mlir::spa::stagedStreamStatValues()}]>,
    Option<"waveStaggerNs", "wave-stagger-ns", "int64_t",
           /*default=*/"0",
           "Attention ops on the serial sm_90a kernel (one work item a "
           "block, static work list, split-keys = 1): the blocks of the "
           "launch's first wave that share an SM start apart (slot s of an "
           "SM sleeps s times this many ns times the first item's key "
           "tiles), so that co-resident blocks of equal items do not wait "
           "for their first tiles and store their outputs in lockstep; 0: "
           "auto (D * 11 / 2 ns a tile, 704 at D = 128, with one interval a "
           "head, two waves of equal items leading the list and the blocks "
           "an SM known: TMA, 4 warps, tile-k 64, 16-bit operands, D = Dv "
           "= 128 at stages 1 or D = Dv = 64 at stages 1 or 2); -1: off; "
           "else 1 to 10000 ns a key tile on any list (an error on the "
           "other kernel forms, and without blocks-per-sm where the count "
           "is not known)">,
    Option<"programmaticLaunch", "programmatic-launch",
           "::mlir::spa::AutoToggle",
           /*default=*/"::mlir::spa::AutoToggle::Auto",
           "Every kernel (forward and backward) begins with "
           "griddepcontrol.wait and then griddepcontrol.launch_dependents, "
           "and its launch.json entry says programmatic_launch: the "
           "launcher launches it with programmatic stream serialization, so "
           "that its blocks start while the kernel before it on the stream "
           "drains and go on once that kernel has completed",
           [{::mlir::spa::programmaticLaunchValues()}]>,
    Option<"scoreGradLayout", "score-grad-layout",
           "::mlir::spa::ScoreGradLayout",
           /*default=*/"::mlir::spa::ScoreGradLayout::Auto",
           "Gradient ops with score-grads = store: the dS scratch's layout",
           [{::llvm::cl::values(
             clEnumValN(::mlir::spa::ScoreGradLayout::Auto, "auto",
                        "padded until compact is measured on the GPU"),
             clEnumValN(::mlir::spa::ScoreGradLayout::Padded, "padded",
                        "B Hq x intervals x sides x key tiles x Q tiles of "
                        "64 x 64, Q the most query tiles a key tile's walk "
                        "has (a closed form)"),
             clEnumValN(::mlir::spa::ScoreGradLayout::Compact, "compact",
                        "only the visited tile pairs (B x the band plan's "
                        "tiles), through a table of slot bases per (head, "
                        "query tile, interval, side), argument "
                        "score_grad_slots"))}]>,
    Option<"splitKeys", "split-keys", "int64_t", /*default=*/"1",
           "Attention ops: blocks sharing each work item's key tiles (grid "
           "y), each storing unnormalised partials to scratch that a "
           "combine kernel merges (FlashDecoding: few work items against "
           "long key ranges, e.g. decode); 1: no split, at most 64, static "
           "lengths only">,
    Option<"blocksPerSM", "blocks-per-sm", "int64_t", /*default=*/"0",
           "Attention ops: blocks of the forward kernel an SM should hold "
           "(PTX .minnctapersm: ptxas caps each thread's registers so that "
           "many blocks fit, spilling if it must); 0: ptxas's choice (the "
           "warp-specialised schedules keep their own budget); 1 to 16, "
           "their shared memory must fit an SM and leave each thread 64 "
           "registers or more">,
    Option<"forwardSchedule", "forward-schedule",
           "::mlir::spa::ForwardSchedule",
           /*default=*/"::mlir::spa::ForwardSchedule::Auto",
           "Attention ops on sm_90a: the order of a key tile's products",
           [{::llvm::cl::values(
             clEnumValN(::mlir::spa::ForwardSchedule::Auto, "auto",
                        "the schedule measured fastest for the shape"),
             clEnumValN(::mlir::spa::ForwardSchedule::Overlap, "overlap",
                        "Q K^T of tile t issued together with P V of tile "
                        "t - 1, the softmax of t under P V (wgmma, TMA, "
                        "stages >= 2; stages = 0 takes 3)"),
             clEnumValN(::mlir::spa::ForwardSchedule::Serial, "serial",
                        "each tile's products one after the other"),
             clEnumValN(::mlir::spa::ForwardSchedule::WarpSpecialized, "ws",
                        "a producer warp issues the K/V copies by TMA into "
                        "a ring the consumer warpgroups release on "
                        "mbarriers, no block barrier a tile (wgmma, TMA; "
                        "stages = 0 takes as many as fit, up to 4))"),
             clEnumValN(
                 ::mlir::spa::ForwardSchedule::WarpSpecializedOverlap,
                 "ws-overlap",
                 "ws with the consumers' products overlapped as in "
                 "overlap (stages >= 2))"),
             clEnumValN(
                 ::mlir::spa::ForwardSchedule::WarpSpecializedPingPong,
                 "ws-pingpong",
                 "ws-overlap with the two consumer warpgroups taking turns "
                 "to issue their products on named barriers, so that one's "
                 "softmax runs under the other's (warps = 8))"))}]>
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def SpaTensorMapParams : Pass<"spa-tensor-map-params",
                              "::mlir::gpu::GPUModuleOp"> {
  let summary = "Make tensor-map kernel parameters 128-byte grid constants";
  let description = [{
    Runs after `convert-gpu-to-nvvm`. A kernel generated with TMA loads
    lists its tensor-map parameters (type `!llvm.ptr`) in the function
    attribute `spa.tensor_map_args` (argument indices); upstream's lowering
    keeps function attributes but drops non-LLVM argument attributes, so the
    marking travels this way. Each listed argument becomes
    `{llvm.byval = !llvm.array<128 x i8>, llvm.align = 64 : i64,
    nvvm.grid_constant}`: NVPTX then declares it `.param .align 64 .b8 [128]`
    and takes its generic address with `cvta.param` instead of copying it to
    local memory, which is what `cp.async.bulk.tensor` needs. The attribute
    is removed.

    Example: `llvm.func @k(%m: !llvm.ptr, ...) attributes {nvvm.kernel,
    spa.tensor_map_args = array<i32: 0>}` becomes `llvm.func @k(%m:
    !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>,
    nvvm.grid_constant}, ...)`.

    A listed index past the arguments, or an argument that is not an
    `!llvm.ptr`, or a function that is not an `nvvm.kernel`, is an error.
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect"
  ];
}

#endif // SPA_CONVERSION_PASSES_TD
