#!/usr/bin/env python3
"""Plot of the staged backward steps measured on an H100 on 2026-12-05
(fifth session) for docs/benchmarks.md: the headline layer's backward
kernels (B=2 H=16 N=8192 D=128 bf16 exclusive_equal) per variant of the
stored-dS backward (padded, compact, score-grad-prefetch, 128-row dq_stored,
successor-prefetch), stacked by kernel, from the sweep summary lines under
bench/results/gpu-2026-12-05-h100-staged-steps/compact/compact_summary.txt.

    .venv/bin/python bench/plot_staged_steps_2026_12_05.py
"""
import ast
import os
import re

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAW = os.path.join(ROOT, "bench", "results",
                   "gpu-2026-12-05-h100-staged-steps", "compact",
                   "compact_summary.txt")
OUT = os.path.join(ROOT, "docs", "images",
                   "gpu_staged_steps_h100_2026-12-05.png")
LABELS = {"w4k64d": "padded (default)", "w4k64dp": "compact",
          "w4k64dpf4": "compact + dS prefetch 4",
          "w4k64dpf8": "compact + dS prefetch 8",
          "w4k64dpq": "compact, 128-row dQ",
          "w4k64dpqf8": "compact, 128-row dQ + prefetch 8",
          "w4k64dpn32": "compact + successor 32",
          "w4k64dpn96": "compact + successor 96",
          "w4k64dpf8n32": "compact + prefetch 8 + successor 32"}


def rows():
    """(variant, backward bench_ms, kernel ms dict) of the headline sweep."""
    out = []
    for line in open(RAW):
        m = re.match(r"cA (\S+) fwd \S+ bwd (\S+) (\{.*?\})", line)
        if m:
            out.append((m.group(1), float(m.group(2)),
                        ast.literal_eval(m.group(3))))
    return out


def main():
    data = rows()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    names = [LABELS.get(v, v) for v, _, _ in data]
    left = [0.0] * len(data)
    for kernel, colour in (("preprocess", "#8da0cb"), ("dkdv", "#66c2a5"),
                           ("stored", "#fc8d62")):
        widths = [k.get(kernel, 0.0) for _, _, k in data]
        ax.barh(names, widths, left=left, color=colour,
                label={"stored": "dq_stored"}.get(kernel, kernel))
        left = [a + b for a, b in zip(left, widths)]
    for y, (_, bwd, _) in enumerate(data):
        ax.text(left[y] + 0.003, y, f"{bwd:.3f} ms (bench)", va="center",
                fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(left) * 1.35)
    ax.set_xlabel("kernel time, ms (CUDA profiler, one process)")
    ax.set_title("Stored-dS backward variants, B2 H16 N8192 D128\n"
                 "exclusive_equal bf16, H100 80GB HBM3, 2026-12-05",
                 fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3,
              fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT, dpi=120)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
