#!/usr/bin/env python3
"""CPU reference path benchmark: one banded layer per policy, compiled by
spa-run through spa-to-llvm-cpu, next to dense causal through the same path.

Useful work follows SPEC.md section 2: P = B * sum_h pairs_h (from the
planner's report), forward FLOPs = 4 * D * P.

    PYTHONPATH=python python bench/cpu_reference.py --seq-len 4096 \
        --heads 16 --head-dim 64 --markdown docs/benchmarks.md \
        --plot docs/images/cpu_reference.png
"""
import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile

from spa.layer import layer_mlir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICIES = ["exclusive_equal", "pair_balanced", "tile_balanced",
            "local_plus_band", "dense_causal"]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--seq-len", type=int, default=4096)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--tile-q", type=int, default=16)
    parser.add_argument("--tile-k", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--markdown", help="append the table to this file")
    parser.add_argument("--plot", help="write a bar chart (PNG) here")
    args = parser.parse_args()

    spa_opt = os.path.join(args.build_dir, "bin", "spa-opt")
    spa_run = os.path.join(args.build_dir, "bin", "spa-run")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for policy in args.policies.split(","):
            path = os.path.join(tmp, f"{policy}.mlir")
            with open(path, "w") as f:
                f.write(layer_mlir(
                    batch=args.batch, heads=args.heads, kv_heads=args.heads,
                    query_len=args.seq_len, key_len=args.seq_len,
                    head_dim=args.head_dim, value_dim=args.head_dim,
                    dtype="f32", mode="causal", bands=policy,
                    with_lse=False))
            report = subprocess.run(
                [spa_opt, path, "--spa-balance-bands=report", "-o",
                 os.devnull], check=True, capture_output=True, text=True)
            pairs = int(re.search(r"layer: (\d+) pairs per batch",
                                  report.stdout).group(1)) * args.batch
            repeat = 1 if policy == "dense_causal" else args.repeat
            run = subprocess.run(
                [spa_run, path, f"--tile-q={args.tile_q}",
                 f"--tile-k={args.tile_k}", f"--repeat={repeat}"],
                check=True, capture_output=True, text=True)
            ms = float(re.search(r"ran in ([0-9.]+) ms", run.stdout).group(1))
            gflops = 4 * args.head_dim * pairs / (ms * 1e-3) / 1e9
            rows.append((policy, pairs, ms, gflops))
            print(f"{policy:16s} pairs {pairs:>12,d}  {ms:10.1f} ms  "
                  f"{gflops:6.2f} useful GFLOP/s", flush=True)

    dense_ms = next((ms for p, _, ms, _ in rows if p == "dense_causal"), None)
    command = " ".join(["PYTHONPATH=python", "python", "bench/cpu_reference.py"]
                       + sys.argv[1:])
    lines = [
        "",
        f"### CPU reference path: B={args.batch} H={args.heads} "
        f"N={args.seq_len} D={args.head_dim} f32",
        "",
        f"- date: {datetime.date.today().isoformat()}; machine: {cpu_name()}, "
        f"{os.cpu_count()} cores (single-threaded code)",
        f"- command: `{command}`",
        f"- path: spa-to-llvm-cpu (tile {args.tile_q}x{args.tile_k}), "
        f"median of {args.repeat} runs (dense: 1)",
        "",
        "| policy | useful pairs | ms | useful GFLOP/s | speed-up vs dense |",
        "|---|---|---|---|---|",
    ]
    for policy, pairs, ms, gflops in rows:
        speedup = f"{dense_ms / ms:.1f}x" if dense_ms else "n/a"
        lines.append(f"| {policy} | {pairs:,d} | {ms:.1f} | {gflops:.2f} | "
                     f"{speedup} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write(text)
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 3.5))
        names = [r[0] for r in rows]
        ax.bar(names, [r[2] for r in rows], color="#4477aa")
        ax.set_ylabel("ms (lower is better)")
        ax.set_yscale("log")
        ax.set_title(f"CPU reference path, H={args.heads} N={args.seq_len} "
                     f"D={args.head_dim}")
        for i, r in enumerate(rows):
            ax.text(i, r[2], f"{r[2]:.0f}", ha="center", va="bottom",
                    fontsize=8)
        plt.xticks(rotation=20)
        fig.tight_layout()
        os.makedirs(os.path.dirname(args.plot) or ".", exist_ok=True)
        fig.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    main()
