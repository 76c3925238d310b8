#!/usr/bin/env python3
"""spa's CPU path against PyTorch's CPU SDPA, in one process (issue #16).

For each sequence length, times spa's JIT-compiled CPU function
(`spa.compile(LayerSpec(...), target="cpu")`, f32) for each policy, and
PyTorch's `scaled_dot_product_attention(is_causal=True)` on the same inputs,
both at the default thread count (torch's; spa: the OpenMP runtime's, all
cores) and at one thread (spa compiled with `threads=1`), so each column
pair is like for like.
Every time is the median wall clock of repeated calls after warm-up calls.
While at it, spa's output is checked against the independent float64
reference (test/lib/spa_reference) on a sample of heads.

Writes JSON (--json) and prints a markdown table; --markdown appends the
table to a file and --plot writes a PNG.

    PYTHONPATH=build/python_packages:python:test/lib .venv/bin/python \
        bench/cpu_bench.py --json bench/results/cpu-2026-12-02-bench.json \
        --plot docs/images/cpu_bench.png
"""
import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICIES = ["local_plus_band", "exclusive_equal", "dense_causal"]
# The targets at N=2048: spa time / SDPA causal time (default threads).
TARGETS = {"local_plus_band": 0.5, "dense_causal": 1.5}
TOLERANCE = 1e-4  # f32 output against float64, max |d| / (1 + |ref|)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def median_ms(fn, warmup, min_reps, budget_s):
    """Median wall clock (ms) of fn() over at least min_reps calls after
    `warmup` calls; more calls while the budget lasts (at most 50)."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or (time.perf_counter() - start < budget_s
                                    and len(times) < 50):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), len(times)


def pairs_per_batch(table, n):
    """Causal admissible pairs of a band table, N = Nq = Nk (SPEC.md s.2)."""
    total = 0
    for ivs in table:
        for lo, hi in ivs:
            lo, hi = max(0, lo), min(n, hi)
            # distance d has n - d (query, key) pairs
            total += sum(n - d for d in range(lo, hi))
    return total


def check_heads(out, q, k, v, table, heads):
    """max relative error of spa's output on the sampled heads (float64)."""
    from spa_reference import reference
    sub = [table[h] for h in heads]
    ref, _ = reference.attention(q[:, heads], k[:, heads], v[:, heads], sub)
    return reference.max_rel_error(out[:, heads], ref)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seq-lens", default="512,1024,2048")
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--tile-q", type=int, help="spa-to-llvm-cpu tile_q")
    parser.add_argument("--tile-k", type=int, help="spa-to-llvm-cpu tile_k")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--min-reps", type=int, default=3)
    parser.add_argument("--budget-s", type=float, default=2.0,
                        help="keep repeating a measurement while under this")
    parser.add_argument("--check-heads", type=int, default=2,
                        help="heads checked against float64 (0: none)")
    parser.add_argument("--vector-lanes", type=int, default=None,
                        help="spa-to-llvm-cpu vector-lanes (default: the "
                        "pipeline's, from the host CPU; 0: scalar form)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--markdown", help="append the table to this file")
    parser.add_argument("--plot", help="write a bar chart (PNG) here")
    args = parser.parse_args()

    import spa
    import torch
    import torch.nn.functional as F
    from spa_reference import reference

    default_threads = torch.get_num_threads()
    options = {}
    if args.tile_q:
        options["tile_q"] = args.tile_q
    if args.tile_k:
        options["tile_k"] = args.tile_k
    if args.vector_lanes is not None:
        options["vector_lanes"] = args.vector_lanes
    rng = np.random.default_rng(args.seed)
    b, nh, d = args.batch, args.heads, args.head_dim
    rows = []
    failed = False
    for n in [int(s) for s in args.seq_lens.split(",")]:
        shape = (b, nh, n, d)
        q, k, v = (rng.standard_normal(shape, dtype=np.float32)
                   for _ in range(3))
        tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
        sdpa = {}
        for threads in sorted({default_threads, 1}, reverse=True):
            torch.set_num_threads(threads)
            with torch.inference_mode():
                ms, reps = median_ms(
                    lambda: F.scaled_dot_product_attention(
                        tq, tk, tv, is_causal=True),
                    args.warmup, args.min_reps, args.budget_s)
            sdpa[threads] = ms
            print(f"N={n:5d} torch SDPA causal, {threads} thread(s): "
                  f"{ms:9.2f} ms ({reps} calls)", flush=True)
        torch.set_num_threads(default_threads)
        dense_pairs = pairs_per_batch([[(0, n)]] * nh, n) * b
        for policy in args.policies.split(","):
            spec = spa.LayerSpec(batch=b, heads=nh, seq_len=n, head_dim=d,
                                 dtype="f32", policy=policy, with_lse=False)
            fn = spa.compile(spec, target="cpu", **options)
            table = reference.band_table(policy, n, nh)
            pairs = pairs_per_batch(table, n) * b
            ms, reps = median_ms(lambda: fn(q, k, v), args.warmup,
                                 args.min_reps, args.budget_s)
            one = spa.compile(spec, target="cpu", threads=1, **options)
            ms_1t, _ = median_ms(lambda: one(q, k, v), args.warmup,
                                 args.min_reps, args.budget_s)
            err = None
            if args.check_heads:
                out = fn(q, k, v)
                heads = sorted(set(np.linspace(
                    0, nh - 1, min(args.check_heads, nh)).round().astype(int)))
                err = check_heads(out, q, k, v, table, heads)
                if not err <= TOLERANCE:
                    failed = True
            row = {
                "seq_len": n, "policy": policy, "pairs": pairs,
                "pair_fraction": pairs / dense_pairs,
                "spa_ms": ms, "spa_calls": reps, "spa_1t_ms": ms_1t,
                "spa_compile_ms": fn.compile_ms,
                "sdpa_ms": sdpa[default_threads], "sdpa_1t_ms": sdpa[1],
                "ratio": ms / sdpa[default_threads],
                "ratio_1t": ms_1t / sdpa[1],
                "useful_gflops": 4 * d * pairs / (ms * 1e-3) / 1e9,
                "max_rel_err": err,
                "target_ratio": TARGETS.get(policy) if n == 2048 else None,
            }
            rows.append(row)
            print(f"N={n:5d} spa {policy:16s} {ms:9.2f} ms ({reps} calls), "
                  f"{row['ratio']:.2f}x SDPA, err {err}", flush=True)

    spa_threads = int(os.environ.get("OMP_NUM_THREADS", 0)) or os.cpu_count()
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores",
        "command": " ".join(["python", "bench/cpu_bench.py"] + sys.argv[1:]),
        "torch": torch.__version__, "torch_threads": default_threads,
        "spa_threads": spa_threads, "spa_options": options,
        "batch": b, "heads": nh, "head_dim": d, "dtype": "f32",
        "load_average": os.getloadavg(),
        "timer": f"median wall clock, {args.warmup} warm-up call(s), "
                 f">= {args.min_reps} calls or {args.budget_s:g} s",
    }
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)

    lines = [
        "",
        f"### spa CPU path vs PyTorch CPU SDPA: B={b} H={nh} D={d} f32, "
        f"{meta['date']}",
        "",
        f"- machine: {meta['machine']}; torch {meta['torch']}; load average "
        f"at the end {meta['load_average'][0]:.2f} (other jobs share it)",
        f"- command: `PYTHONPATH=build/python_packages:python:test/lib "
        f".venv/bin/{meta['command']}`",
        f"- threads: SDPA at torch's default {default_threads} "
        f"(`torch.set_num_threads`) and at 1; spa at the OpenMP default "
        f"({spa_threads}) and compiled with `threads=1`",
        f"- timer: {meta['timer']}; spa checked against float64 on "
        f"{args.check_heads} heads per layer (max rel. error column)",
        "",
        f"| N | policy | pairs vs dense | spa ms ({spa_threads}t) | SDPA "
        f"causal ms ({default_threads}t) | spa / SDPA | spa 1t ms | SDPA 1t "
        f"ms | spa / SDPA 1t | target | max rel. err |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        target = "n/a"
        if r["target_ratio"] is not None:
            ok = "met" if r["ratio"] <= r["target_ratio"] else "not met"
            target = f"<= {r['target_ratio']}x ({ok})"
        err = "n/a" if r["max_rel_err"] is None else f"{r['max_rel_err']:.1e}"
        lines.append(
            f"| {r['seq_len']} | {r['policy']} | {r['pair_fraction']:.1%} | "
            f"{r['spa_ms']:.1f} | {r['sdpa_ms']:.1f} | {r['ratio']:.2f}x | "
            f"{r['spa_1t_ms']:.1f} | {r['sdpa_1t_ms']:.1f} | "
            f"{r['ratio_1t']:.2f}x | {target} | "
            f"{err} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write(text)
    if args.plot:
        plot(rows, meta, args.plot)
    if failed:
        print(f"error: spa's output differs from the float64 reference by "
              f"more than {TOLERANCE:g}", file=sys.stderr)
        return 1
    return 0


def plot(rows, meta, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    lens = sorted({r["seq_len"] for r in rows})
    policies = list(dict.fromkeys(r["policy"] for r in rows))
    series = [(f"SDPA causal ({meta['torch_threads']} threads)", "sdpa_ms",
               None), ("SDPA causal (1 thread)", "sdpa_1t_ms", None)]
    series += [(f"spa {p}", "spa_ms", p) for p in policies]
    series += [(f"spa {p} (1 thread)", "spa_1t_ms", p) for p in policies]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(series)
    for i, (label, key, policy) in enumerate(series):
        ys = []
        for n in lens:
            match = [r for r in rows if r["seq_len"] == n
                     and (policy is None or r["policy"] == policy)]
            ys.append(match[0][key] if match else math.nan)
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(lens))]
        bars = ax.bar(xs, ys, width, label=label)
        ax.bar_label(bars, fmt="%.0f", fontsize=6)
    ax.set_xticks(range(len(lens)), [f"N={n}" for n in lens])
    ax.set_yscale("log")
    ax.set_ylabel("ms (lower is better)")
    ax.set_title(f"CPU, B={meta['batch']} H={meta['heads']} "
                 f"D={meta['head_dim']} f32 ({meta['date']}, "
                 f"{meta['machine']})", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
