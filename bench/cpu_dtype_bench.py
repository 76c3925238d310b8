#!/usr/bin/env python3
"""spa's CPU path per element type: forward and backward of the same layer
in f32, bf16 and f16, in one process (median wall clock after a warm-up
call, bench/cpu_bench.py's timer), so that what a narrow type costs over
f32 is visible. Writes JSON (--json); --plot draws one or more such JSON
files side by side (e.g. before and after a change, each from its own
build).

    PYTHONPATH=build/python_packages:python:test/lib .venv/bin/python \\
        bench/cpu_dtype_bench.py --label after --json after.json
    .venv/bin/python bench/cpu_dtype_bench.py --plot out.png before.json \\
        after.json
"""

import argparse
import datetime
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

DTYPES = ["f32", "bf16", "f16"]


def measure(args):
    import ml_dtypes
    import numpy as np
    import spa
    from cpu_bench import cpu_name, median_ms
    rng = np.random.default_rng(0)
    numpy_type = {"f32": np.float32, "bf16": ml_dtypes.bfloat16,
                  "f16": np.float16}
    rows = []
    for n in (int(x) for x in args.seq_lens.split(",")):
        for policy in args.policies.split(","):
            for dtype in DTYPES:
                spec = spa.LayerSpec(batch=1, heads=args.heads,
                                     kv_heads=args.heads, seq_len=n,
                                     head_dim=args.head_dim, dtype=dtype,
                                     policy=policy)
                forward, gradient = spa.compile(spec, target="cpu",
                                                backward=True)
                q, k, v, dout = (rng.standard_normal(
                    (1, args.heads, n, args.head_dim)).astype(
                        numpy_type[dtype]) for _ in range(4))
                fwd, _ = median_ms(lambda: forward(q, k, v), 1, 3, 2.0)
                out, lse = forward(q, k, v)
                bwd, _ = median_ms(
                    lambda: gradient(q, k, v, out, lse, dout), 1, 3, 2.0)
                row = dict(seq_len=n, policy=policy, dtype=dtype,
                           forward_ms=round(fwd, 2), backward_ms=round(bwd, 2))
                print(json.dumps(row), flush=True)
                rows.append(row)
    return dict(label=args.label, cpu=cpu_name(),
                date=datetime.date.today().isoformat(),
                heads=args.heads, head_dim=args.head_dim, rows=rows)


def plot(path, runs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = [(r["seq_len"], r["policy"]) for r in runs[0]["rows"]
            if r["dtype"] == "f32"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    width = 0.8 / (len(runs) * len(DTYPES))
    for ax, what in zip(axes, ("forward_ms", "backward_ms")):
        for ri, run in enumerate(runs):
            times = {(r["seq_len"], r["policy"], r["dtype"]): r[what]
                     for r in run["rows"]}
            for di, dtype in enumerate(DTYPES):
                offset = (ri * len(DTYPES) + di) * width - 0.4 + width / 2
                ax.bar([i + offset for i in range(len(keys))],
                       [times[(n, p, dtype)] for n, p in keys], width,
                       label=f"{run['label']} {dtype}",
                       alpha=0.45 if ri < len(runs) - 1 else 1.0)
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels([f"{p}\nN={n}" for n, p in keys], fontsize=7)
        ax.set_ylabel("ms (median)")
        ax.set_title(what.replace("_ms", ""))
    axes[0].legend(fontsize=7, ncol=len(runs))
    fig.suptitle(f"spa CPU path per element type (B=1 H={runs[0]['heads']} "
                 f"D={runs[0]['head_dim']}, {runs[0]['cpu']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq-lens", default="1024,2048")
    ap.add_argument("--policies", default="local_plus_band,dense_causal")
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--label", default="spa")
    ap.add_argument("--json", help="write the measurements here")
    ap.add_argument("--plot", help="draw the JSON files given here")
    ap.add_argument("runs", nargs="*", help="JSON files for --plot")
    args = ap.parse_args()
    if args.plot:
        runs = []
        for path in args.runs:
            with open(path) as f:
                runs.append(json.load(f))
        plot(args.plot, runs)
        return
    result = measure(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
