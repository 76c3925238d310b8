#!/usr/bin/env python3
"""Compile the backward (spa.attention_grad) correctness matrix here (MLIR),
for bench/gpu_grad_check.py to run on the GPU machine (no MLIR there).

Each layer is one module holding a forward spa.attention (op 0, with
log-sum-exp) and its spa.attention_grad (op 1) on the same band policy, so
the artifact also exercises a module with forward and backward kernels
(launch.json lists forward, dq, dkdv in launch order: the dQ kernel
computes Delta; with --atomic forward, preprocess, dkdv_dq, dq_convert;
with --stored forward, preprocess, dkdv, dq_stored).

Writes DIR/<name>/{kernel.cubin, kernel.ptx, launch.json} and
DIR/manifest.json (shapes, dtype, mode, band table, scale, options).

    PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_grad_prepare.py --out .device/grad
"""
import argparse
import json
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.abspath(__file__))

# name, batch, heads, kv_heads, seq_len (Nk), query_len (Nq), head_dim,
# value_dim, dtype, policy, mode, options
CHECKS = [
    ("ee_bf16_d64_n1000", 1, 8, 8, 1000, 1000, 64, 64, "bf16", "exclusive_equal", "causal", {}),
    ("lpb_f16_d128_gqa_nq500", 2, 4, 2, 777, 500, 128, 128, "f16", "local_plus_band", "causal", {}),
    ("sw_bf16_bidir_n64", 1, 3, 3, 64, 64, 64, 64, "bf16", "sliding_window", "bidirectional", {}),
    ("dense_bf16_nq300_nk200", 1, 2, 1, 200, 300, 128, 128, "bf16", "dense_causal", "causal", {}),
    ("ee_bf16_n1", 1, 1, 1, 1, 1, 64, 64, "bf16", "exclusive_equal", "causal", {}),
    ("gh_bf16_empty_heads", 1, 16, 4, 20, 20, 64, 64, "bf16", "gapped_half", "causal", {}),
    ("pb_bf16_n2048", 1, 16, 16, 2048, 2048, 64, 64, "bf16", "pair_balanced", "causal", {}),
    ("ee_f16_n2047_d128_dv64", 1, 16, 8, 2047, 2047, 128, 64, "f16", "exclusive_equal", "causal", {}),
    ("lpb_bf16_bidir_n513", 1, 4, 4, 513, 513, 64, 64, "bf16", "local_plus_band", "bidirectional", {}),
    ("gh_f16_bidir_gqa_dv32_n130", 2, 6, 3, 130, 130, 64, 32, "f16", "gapped_half", "bidirectional", {}),
    ("ee_bf16_nq1_nk300", 1, 4, 2, 300, 1, 64, 64, "bf16", "exclusive_equal", "causal", {}),
    ("w8k32_bf16_d128_n333", 1, 4, 2, 333, 333, 128, 128, "bf16", "local_plus_band", "causal", {"warps": 8, "tile_k": 32}),
    ("w2k16_f16_d16_n77", 1, 2, 2, 77, 77, 16, 16, "f16", "pair_balanced", "causal", {"warps": 2, "tile_k": 16}),
    ("w1k128_bf16_bidir_n200", 1, 2, 1, 200, 200, 64, 64, "bf16", "dense_causal", "bidirectional", {"warps": 1, "tile_k": 128}),
]
SANITIZE = ["sw_bf16_bidir_n64", "gh_f16_bidir_gqa_dv32_n130",
            "dense_bf16_nq300_nk200"]
# Heads with more intervals than the kernels unroll (4): the run-time
# interval loop of the dK/dV and dQ kernels (policy "table" = this table).
MANY = [[(7 * i + h, 7 * i + h + 4) for i in range(9)] for h in range(4)]
CHECKS += [
    ("many_bf16_d64_n300", 1, 4, 2, 300, 300, 64, 64, "bf16", "table", "causal", {}),
    ("many_f16_bidir_nq200_nk333", 1, 4, 4, 333, 200, 128, 128, "f16", "table", "bidirectional", {}),
]
# --wgmma: the wgmma backward (mma = wgmma: D, Dv multiples of 64, warps 4
# or 8) on the same kinds of edge cases: odd N, N = 1, Nq != Nk both ways,
# GQA, empty heads, bidirectional, Dv != D, f16 and bf16, tile-k 16 .. 128.
W = {"mma": "wgmma"}
CHECKS_WGMMA = [
    ("wg_ee_bf16_d64_n1000", 1, 8, 8, 1000, 1000, 64, 64, "bf16", "exclusive_equal", "causal", W),
    ("wg_lpb_f16_d128_gqa_nq500", 2, 4, 2, 777, 500, 128, 128, "f16", "local_plus_band", "causal", W),
    ("wg_sw_bf16_bidir_n64", 1, 3, 3, 64, 64, 64, 64, "bf16", "sliding_window", "bidirectional", W),
    ("wg_dense_bf16_nq300_nk200", 1, 2, 1, 200, 300, 128, 128, "bf16", "dense_causal", "causal", W),
    ("wg_ee_bf16_n1", 1, 1, 1, 1, 1, 64, 64, "bf16", "exclusive_equal", "causal", W),
    ("wg_gh_bf16_empty_heads", 1, 16, 4, 20, 20, 64, 64, "bf16", "gapped_half", "causal", W),
    ("wg_ee_f16_n2047_d128_dv64", 1, 16, 8, 2047, 2047, 128, 64, "f16", "exclusive_equal", "causal", W),
    ("wg_ee_bf16_nq1_nk300", 1, 4, 2, 300, 1, 64, 64, "bf16", "exclusive_equal", "causal", W),
    ("wg_w8k32_bf16_d128_n333", 1, 4, 2, 333, 333, 128, 128, "bf16", "local_plus_band", "causal", dict(W, warps=8, tile_k=32)),
    ("wg_w8k128_f16_bidir_dv128_n513", 1, 4, 4, 513, 513, 64, 128, "f16", "local_plus_band", "bidirectional", dict(W, warps=8, tile_k=128)),
    ("wg_k16_bf16_bidir_gqa_n130", 2, 6, 3, 130, 130, 64, 64, "bf16", "gapped_half", "bidirectional", dict(W, tile_k=16)),
]
SANITIZE += ["wg_sw_bf16_bidir_n64", "wg_k16_bf16_bidir_gqa_n130"]
# Timed against FlexAttention and SDPA (SPEC.md's shapes, bf16, causal).
BENCH = [(f"bench_{p}_b{b}_h{h}_n{n}_d{d}", b, h, h, n, n, d, d, "bf16", p,
          "causal", {})
         for b, h, n, d, p in [(2, 16, 8192, 128, "exclusive_equal"),
                               (2, 16, 8192, 128, "local_plus_band"),
                               (1, 32, 16384, 128, "exclusive_equal")]]
# --spec: forward + backward on every SPEC.md benchmark shape and band
# policy with the default options (what a user gets), for the table and
# plot issue #11 asks for (bench/fwd_bwd_table.py).
SPEC_BENCH = [(f"bench_{p}_b{b}_h{h}_n{n}_d{d}", b, h, h, n, n, d, d, "bf16",
               p, "causal", {})
              for b, h, n, d in [(4, 16, 4096, 64), (2, 16, 8192, 128),
                                 (1, 32, 16384, 128)]
              for p in ["exclusive_equal", "local_plus_band", "pair_balanced",
                        "tile_balanced"]]
# --recompute: the wgmma matrix with the recomputing dQ kernel everywhere
# (score-grads = auto stores dS at D = Dv = 128, where the recomputing
# dK/dV kernel now stages lse and Delta by auto as well).
CHECKS_RECOMPUTE = [("rc" + c[0][2:],) + c[1:11] +
                    (dict(c[11], score_grads="recompute"),)
                    for c in CHECKS_WGMMA]
SANITIZE += ["rc_lpb_f16_d128_gqa_nq500"]
# --atomic: the wgmma matrix compiled with deterministic = False (dQ by f32
# atomics from the dK/dV kernel), which takes tile-k 64 or 128 only: the
# tile-k 16 and 32 layers run at tile-k 64 (same shapes and options else).
A = {"deterministic": False}
# The classic dkdv_dq kernel (auto takes the warp-specialised one where it
# applies: D and Dv 64 or 128, tile-k 64).
AC = dict(A, backward_schedule="classic")
def _atomic_name(name, options):
    name = "at" + name[2:]
    return (name.replace("k16_", "k64_").replace("k32_", "k64_")
            if options.get("tile_k", 64) < 64 else name)


CHECKS_ATOMIC = [
    (_atomic_name(c[0], c[11]),) + c[1:11] +
    (dict(c[11], **AC, **({"tile_k": 64}
                          if c[11].get("tile_k", 64) < 64 else {})),)
    for c in CHECKS_WGMMA]
SANITIZE += ["at_sw_bf16_bidir_n64", "at_k64_bf16_bidir_gqa_n130"]
# --atomic --bench: the first timed layer, atomic and deterministic (both
# wgmma, in the same run).
BENCH_ATOMIC = [(BENCH[0][0] + "_atomic", ) + BENCH[0][1:-1] + (AC, ),
                (BENCH[0][0], ) + BENCH[0][1:-1] + (W, )]
# --ws: the wgmma matrix with backward_schedule = "ws" (the warp-specialised
# dK/dV kernel: D and Dv 64 or 128, tile-k 64; other tile-k run at 64, the
# warps apply to the dQ kernel), plus the run-time interval loop.
S = {"backward_schedule": "ws"}
CHECKS_WS = [
    ("ws" + c[0][2:],) + c[1:11] + (dict(c[11], **S, tile_k=64),)
    for c in CHECKS_WGMMA] + [
    ("ws_many_bf16_d64_n300", 1, 4, 2, 300, 300, 64, 64, "bf16", "table", "causal", dict(W, **S)),
    ("ws_many_f16_bidir_nq200_nk333", 1, 4, 4, 333, 200, 128, 128, "f16", "table", "bidirectional", dict(W, **S)),
]
SANITIZE += ["ws_dense_bf16_nq300_nk200", "ws_k16_bf16_bidir_gqa_n130",
             "ws_many_f16_bidir_nq200_nk333"]
BENCH_WS = [(BENCH[0][0] + "_ws", ) + BENCH[0][1:-1] + (dict(W, **S), ),
            (BENCH[0][0], ) + BENCH[0][1:-1] + (W, )]
# --ws --atomic: the ws matrix with deterministic = False (dQ fused into the
# warp-specialised dK/dV kernel: BackwardQueryReduceWs.h).
CHECKS_WS_ATOMIC = [
    ("wa" + c[0][2:],) + c[1:11] + (dict(c[11], **A),) for c in CHECKS_WS]
SANITIZE += ["wa_dense_bf16_nq300_nk200", "wa_k16_bf16_bidir_gqa_n130",
             "wa_many_f16_bidir_nq200_nk333"]
# --ws --atomic --bench: the headline layer fused (ws, deterministic =
# False) against the other three backward forms, in one run.
BENCH_WS_ATOMIC = [
    (BENCH[0][0] + "_ws_atomic", ) + BENCH[0][1:-1] + (dict(W, **S, **A), ),
    (BENCH[0][0] + "_atomic", ) + BENCH[0][1:-1] + (dict(W, **AC), ),
    (BENCH[0][0] + "_ws", ) + BENCH[0][1:-1] + (dict(W, **S), ),
    (BENCH[0][0], ) + BENCH[0][1:-1] + (W, )]
# --stored: the wgmma matrix with score_grads = "store" (the dK/dV kernel
# stores each tile pair's dS, the dQ kernel is one product a tile pair:
# ScoreGradStore.h), which takes 64 x 64 tiles only (warps 4, tile-k 64:
# other tiles run at 64, the layer's shapes unchanged), plus the run-time
# interval loop.
D = {"score_grads": "store", "warps": 4, "tile_k": 64}
CHECKS_STORED = [
    ("sd" + c[0][2:],) + c[1:11] + (dict(c[11], **D),)
    for c in CHECKS_WGMMA] + [
    ("sd_many_bf16_d64_n300", 1, 4, 2, 300, 300, 64, 64, "bf16", "table", "causal", dict(W, **D)),
    ("sd_many_f16_bidir_nq200_nk333", 1, 4, 4, 333, 200, 128, 128, "f16", "table", "bidirectional", dict(W, **D)),
]
SANITIZE += ["sd_dense_bf16_nq300_nk200", "sd_k16_bf16_bidir_gqa_n130",
             "sd_many_f16_bidir_nq200_nk333"]
# --stored --bench: the timed layers stored and recomputing, in one run.
BENCH_STORED = [
    (b[0] + suffix, ) + b[1:-1] + (options, )
    for b in BENCH for suffix, options in [("_stored", dict(W, **D)),
                                           ("", W)]]
# --wgmma --bench: the first timed layer on both backward kernels (mma = auto
# takes wgmma there on sm_90a).
BENCH_WGMMA = [(BENCH[0][0], ) + BENCH[0][1:-1] + (W, ),
               (BENCH[0][0] + "_mmasync", ) + BENCH[0][1:-1] +
               ({"mma": "mma.sync"}, )]


def module_text(spa, layer):
    """The layer's forward (with log-sum-exp) and gradient functions, as
    spa.layer writes them: op 0 the forward, op 1 its gradient."""
    return spa.LayerSpec(
        batch=layer["batch"], heads=layer["heads"],
        kv_heads=layer["kv_heads"], seq_len=layer["seq_len"],
        query_len=layer["query_len"], head_dim=layer["head_dim"],
        value_dim=layer["value_dim"], dtype=layer["dtype"],
        policy=layer["policy"], bands=layer.get("table"),
        mode=layer["mode"]).to_mlir(backward=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(ROOT),
                                                      ".device", "grad"))
    parser.add_argument("--chip", default="sm_90a")
    parser.add_argument("--bench", action="store_true",
                        help="also the timed layers (SPEC.md's shapes)")
    parser.add_argument("--bench-only", action="store_true",
                        help="only the timed layers")
    parser.add_argument("--wgmma", action="store_true",
                        help="the wgmma backward's matrix instead (with "
                        "--bench: one timed layer on wgmma and mma.sync)")
    parser.add_argument("--ws", action="store_true",
                        help="the wgmma matrix with backward_schedule=ws "
                        "(with --bench: one timed layer, ws and classic)")
    parser.add_argument("--recompute", action="store_true",
                        help="the wgmma matrix with score_grads = "
                        "\"recompute\" (at D = Dv = 128 the auto staged lse "
                        "and Delta of the recomputing dK/dV kernel); names "
                        "gain the prefix rc")
    parser.add_argument("--stored", action="store_true",
                        help="the wgmma matrix with score_grads=store "
                        "(with --bench: the timed layers stored and not)")
    parser.add_argument("--spec", action="store_true",
                        help="only the timed layers, every SPEC.md shape and "
                        "policy with the default options")
    parser.add_argument("--stored-dq-rows", type=int, default=0,
                        help="with --stored: the dq_stored kernel's rows an "
                        "item (64 or 128; 0: auto); the layers are named "
                        "s<rows>_... instead of sd_...")
    parser.add_argument("--score-grad-layout", default="",
                        choices=["", "padded", "compact"],
                        help="with --stored: the dS scratch's layout "
                        "(compact: the visited tile pairs through a table); "
                        "the layers' prefix gains a c (sdc_..., s128c_...)")
    parser.add_argument("--atomic", action="store_true",
                        help="the wgmma matrix with deterministic=False "
                        "(with --bench: one timed layer, atomic and not; "
                        "with --ws: the ws matrix deterministic=False, and "
                        "the timed layer in four backward forms)")
    parser.add_argument("--shared-stream-lse", action="store_true",
                        help="every layer with shared_stream_lse=True (the "
                        "classic wgmma dK/dV kernel's lse through shared "
                        "memory; for the --stored, --wgmma and --atomic "
                        "matrices); names gain the prefix x")
    parser.add_argument("--shared-stream-delta", action="store_true",
                        help="every layer with shared_stream_delta=True (the "
                        "classic wgmma dK/dV kernel's Delta through shared "
                        "memory; for the --stored, --wgmma and --atomic "
                        "matrices); names gain the prefix y")
    parser.add_argument("--zero-tail-items", type=int, default=0,
                        help="every layer with zero_tail_items=N (a block "
                        "writes N items of each kernel's zero tail); names "
                        "gain the prefix z<N>")
    parser.add_argument("--zero-tail-with-items", action="store_true",
                        help="every layer with zero_tail_with_items=True (each "
                        "kernel's zero tail written by the blocks of its items "
                        "with keys); names gain the prefix j")
    parser.add_argument("--zero-tail-spread", action="store_true",
                        help="every layer with zero_tail_spread=True (each "
                        "kernel's zero tail's own blocks spread among the "
                        "blocks of its items with keys); names gain the "
                        "prefix r")
    parser.add_argument("--no-tma", action="store_true",
                        help="every layer with tma=False (the cp.async "
                        "tile copies); names gain the prefix nt_")
    parser.add_argument("--tma-stores", action="store_true",
                        help="every layer with tma_stores=True (the staged "
                        "epilogues out by TMA bulk tensor stores; the "
                        "default since 2026-12-07); names keep theirs")
    parser.add_argument("--score-grad-warp-stores", action="store_true",
                        help="every layer that may store dS (score_grads "
                        "not recompute) with score_grad_warp_stores=True "
                        "(each warp of the dK/dV kernel stores its rows "
                        "of the dS tile); names keep theirs")
    parser.add_argument("--stmatrix-staging", action="store_true",
                        help="every layer with stmatrix_staging=True "
                        "(staged rows written by stmatrix); names keep "
                        "theirs")
    parser.add_argument("--interleaved-dq", type=int, default=None,
                        metavar="LAG",
                        help="with --stored (or --spec: its D = 128 rows): "
                        "every stored layer with "
                        "interleaved_dq=True and interleaved_dq_lag=LAG "
                        "(the dq_stored blocks in the dK/dV kernel's "
                        "launch: roles preprocess, dkdv_dq_stored); names "
                        "gain the prefix i (--spec: keep theirs)")
    parser.add_argument("--programmatic-launch", action="store_true",
                        help="every layer with programmatic_launch=True "
                        "(griddepcontrol in every kernel, launched with "
                        "programmatic stream serialization; auto, the "
                        "default since 2026-12-07, is on for sm_90a); "
                        "names gain the prefix g")
    args = parser.parse_args()
    import spa

    checks, bench = ((CHECKS_WS_ATOMIC, BENCH_WS_ATOMIC)
                     if args.atomic and args.ws else
                     (CHECKS_ATOMIC, BENCH_ATOMIC) if args.atomic else
                     (CHECKS_STORED, BENCH_STORED) if args.stored else
                     (CHECKS_WS, BENCH_WS) if args.ws else
                     (CHECKS_RECOMPUTE, []) if args.recompute else
                     (CHECKS_WGMMA, BENCH_WGMMA) if args.wgmma else
                     (CHECKS, BENCH))
    rows = (([] if args.bench_only else checks) +
            (bench if args.bench or args.bench_only else []))
    if args.spec:
        rows = SPEC_BENCH
    if args.stored_dq_rows or args.score_grad_layout:
        if not args.stored:
            parser.error("--stored-dq-rows and --score-grad-layout need "
                         "--stored")
        prefix = (f"s{args.stored_dq_rows or 'd'}"
                  + ("c" if args.score_grad_layout == "compact" else ""))
        extra = {}
        if args.stored_dq_rows:
            extra["stored_dq_rows"] = args.stored_dq_rows
        if args.score_grad_layout:
            extra["score_grad_layout"] = args.score_grad_layout
        rows = [(prefix + c[0][2:] if c[0].startswith("sd") else c[0],)
                + c[1:11] +
                (dict(c[11], **extra)
                 if c[11].get("score_grads") == "store" else c[11],)
                for c in rows]
        SANITIZE.extend([prefix + n[2:] for n in SANITIZE
                         if n.startswith("sd")])
    if args.shared_stream_lse:
        rows = [("x" + c[0],) + c[1:11] +
                (dict(c[11], shared_stream_lse=True),) for c in rows]
        SANITIZE.extend(["x" + n for n in SANITIZE])
    if args.shared_stream_delta:
        rows = [("y" + c[0],) + c[1:11] +
                (dict(c[11], shared_stream_delta=True),) for c in rows]
        SANITIZE.extend(["y" + n for n in SANITIZE])
    if args.zero_tail_items:
        z = f"z{args.zero_tail_items}"
        rows = [(z + c[0],) + c[1:11] +
                (dict(c[11], zero_tail_items=args.zero_tail_items),)
                for c in rows]
        SANITIZE.extend([z + n for n in SANITIZE])
    if args.zero_tail_with_items:
        rows = [("j" + c[0],) + c[1:11] +
                (dict(c[11], zero_tail_with_items=True),) for c in rows]
        SANITIZE.extend(["j" + n for n in SANITIZE])
    if args.zero_tail_spread:
        rows = [("r" + c[0],) + c[1:11] +
                (dict(c[11], zero_tail_spread=True),) for c in rows]
        SANITIZE.extend(["r" + n for n in SANITIZE])
    if args.no_tma:
        rows = [("nt_" + c[0],) + c[1:11] + (dict(c[11], tma=False),)
                for c in rows]
        SANITIZE.extend(["nt_" + n for n in SANITIZE])
    if args.tma_stores:
        rows = [c[:11] + (dict(c[11], tma_stores=True),) for c in rows]
    if args.score_grad_warp_stores:
        rows = [c[:11] + (dict(c[11], score_grad_warp_stores=True)
                          if c[11].get("score_grads") != "recompute"
                          else c[11],) for c in rows]
    if args.stmatrix_staging:
        rows = [c[:11] + (dict(c[11], stmatrix_staging=True),) for c in rows]
    if args.interleaved_dq is not None:
        if not (args.stored or args.spec):
            parser.error("--interleaved-dq needs --stored or --spec")
        # With --spec: the D = Dv = 128 rows (where auto stores dS).
        rows = [(c[0] if args.spec else "i" + c[0],) + c[1:11] +
                (dict(c[11], score_grads="store", interleaved_dq=True,
                      interleaved_dq_lag=args.interleaved_dq),)
                for c in rows if c[11].get("score_grads") == "store" or
                (args.spec and c[6] == c[7] == 128)]
        SANITIZE.extend(["i" + n for n in SANITIZE])
    if args.programmatic_launch:
        rows = [("g" + c[0],) + c[1:11] +
                (dict(c[11], programmatic_launch=True),) for c in rows]
        SANITIZE.extend(["g" + n for n in SANITIZE])
    manifest = []
    for c in rows:
        layer = dict(name=c[0], batch=c[1], heads=c[2], kv_heads=c[3],
                     seq_len=c[4], query_len=c[5], head_dim=c[6],
                     value_dim=c[7], dtype=c[8], policy=c[9], mode=c[10],
                     options=c[11], sanitize=c[0] in SANITIZE,
                     deterministic=c[11].get("deterministic", True),
                     # The option flags prefix the names (g, x, y, z,
                     # nt_, i): a timed layer is one whose name holds
                     # "bench_" (no check layer's does).
                     bench="bench_" in c[0])
        if c[9] == "table":
            layer["table"] = MANY
        start = time.time()
        options = dict(c[11])
        artifact = spa.compile(module_text(spa, layer),
                               target=f"cuda:{args.chip}", **options)
        artifact.save(os.path.join(args.out, layer["name"]))
        kernels = artifact.metadata["kernels"]
        roles = [(k["op"], k["role"]) for k in kernels]
        stored = (["preprocess", "dkdv_dq_stored"]
                  if options.get("interleaved_dq") else
                  ["preprocess", "dkdv", "dq_stored"])
        expected = (stored if options.get("score_grads") == "store" else
                    ["dq", "dkdv"] if layer["deterministic"]
                    else ["preprocess", "dkdv_dq", "dq_convert"])
        # score_grads="auto" (the default) may store dS (D = Dv = 128).
        allowed = [expected] + (
            [stored] if options.get("score_grads", "auto") == "auto" and
            layer["deterministic"] else [])
        assert roles in [[(0, "forward")] + [(1, r) for r in e]
                         for e in allowed], roles
        warps = options.get("warps", 4)
        tile = (16 * warps, options.get("tile_k", 64))
        if "table" in layer:
            plan = spa.bands.BandPlan(
                mode=layer["mode"], heads=layer["table"],
                seq_len=layer["seq_len"], query_len=layer["query_len"],
                report=spa.bands.analyze(layer["mode"], layer["table"],
                                         layer["query_len"],
                                         layer["seq_len"], tile))
        else:
            plan = spa.bands.plan(layer["policy"], layer["seq_len"],
                                  layer["heads"], mode=layer["mode"],
                                  query_len=layer["query_len"], tile=tile)
        # Every kernel must use exactly the planner's table.
        for kernel in kernels:
            assert kernel["bands"] == plan.to_attr(), (kernel["bands"],
                                                       plan.to_attr())
        layer.update(bands=plan.heads,
                     scale=1.0 / math.sqrt(layer["head_dim"]),
                     pairs=plan.report["total_pairs"] * layer["batch"],
                     grids={k["role"]: k["grid"][0] for k in kernels},
                     shared={k["role"]: k["kernel_shared_bytes"]
                             for k in kernels})
        manifest.append(layer)
        print(f"{layer['name']:32s} {time.time() - start:5.1f} s, "
              f"{len(artifact.cubin)} B cubin, grids {layer['grids']}",
              flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"wrote {len(manifest)} layers to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
