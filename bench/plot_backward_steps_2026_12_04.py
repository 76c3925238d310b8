#!/usr/bin/env python3
"""Plot of the backward steps of 2026-12-04 (docs/benchmarks.md, steps
6f, 6g, 6i): the change of the backward time (bench_ms, same process,
before -> after) per shape, from the sweep summaries the device runs wrote
(lines "sweep<X> <variant> fwd F bwd B {...}"; the "before" or plain
variant first, the change second):
docs/images/gpu_backward_steps_h200_2026-12-04.png.

    .venv/bin/python bench/plot_backward_steps_2026_12_04.py OUT.png
"""
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grad_sweep_summary import read_summary  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
SHAPES = {"sweepA": "A: ee N8192 D128", "sweepB": "B: lpb N16384 D64",
          "sweepC": "lpb N8192 D128", "pb": "pb N8192 D128",
          "tb": "tb N8192 D128", "eeD64": "ee N8192 D64"}
# (title, results folder, {sweep: (before variant, after variant)}, taken)
STEPS = [
    ("6f: Delta in the dQ kernel (kept)", "gpu-2026-12-04-h200-delta-in-dq",
     {s: ("w4k64_before", "w4k64") for s in ("sweepA", "sweepB")}, None),
    ("6g: own-tile wait deferred (kept)", "gpu-2026-12-04-h200-own-wait",
     {s: ("w4k64_before", "w4k64") for s in ("sweepA", "sweepB")}, None),
    ("6i: dK/dV row masks (kept where hatched)",
     "gpu-2026-12-04-h200-key-row-masks",
     {s: ("w4k64", "w4k64_rowmask")
      for s in ("sweepA", "tb", "pb", "sweepC", "eeD64", "sweepB")},
     {"sweepC", "eeD64", "sweepB"}),
]


def main():
    out = sys.argv[1]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
    for ax, (title, folder, pairs, taken) in zip(axes, STEPS):
        runs = read_summary(os.path.join(RESULTS, folder, "sweep_summary.txt"))
        names, changes = [], []
        for sweep, (before, after) in pairs.items():
            b = runs[(sweep, before)]["backward"]
            a = runs[(sweep, after)]["backward"]
            names.append(SHAPES[sweep])
            changes.append(100.0 * (a - b) / b)
        bars = ax.bar(range(len(names)), changes,
                      color=["tab:green" if c < 0 else "tab:red"
                             for c in changes])
        if taken is not None:
            for bar, sweep in zip(bars, pairs):
                if sweep in taken:
                    bar.set_hatch("//")
        for i, c in enumerate(changes):
            ax.annotate(f"{c:+.1f}%", (i, c), ha="center",
                        va="top" if c < 0 else "bottom", fontsize=8)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel("backward time change, % (bench_ms)")
    fig.suptitle("spa backward steps, H200, 2026-12-04 (B=2 H=16 bf16; "
                 "same process before/after)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print("wrote", out)


if __name__ == "__main__":
    main()
