#!/usr/bin/env python3
"""Plot of the staged epilogue stores (StagedStores.h) and the chained
forward's deferred Q wait: per-kernel times before and after at the two
backward shapes, one process each, from the sweep summary lines of
bench/gpu_staged_stores_device.sh ("sweep<A|B> <variant> fwd F bwd B
{'preprocess': .., 'dkdv': .., 'dq': ..}"), and the forward at the four
policies (its fbench.txt / fbench_before.txt lines):
docs/images/gpu_staged_stores_h200_2026-12-03.png.

    .venv/bin/python bench/plot_staged_stores.py OUT.png RESULTS_DIR
"""
import os
import re
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grad_sweep_summary import read_summary  # noqa: E402

BENCH = re.compile(r"^bench bench_(\w+?)_b\d+_h\d+_n\d+_d\d+\s+spa\s+(\S+) ms")


def read_bench(path):
    with open(path) as f:
        return {m.group(1): float(m.group(2))
                for m in map(BENCH.match, f) if m}


def main():
    out, results = sys.argv[1], sys.argv[2]
    runs = read_summary(os.path.join(results, "sweep_summary.txt"))
    after = read_bench(os.path.join(results, "fbench.txt"))
    before = read_bench(os.path.join(results, "fbench_before.txt"))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    parts = ["forward", "preprocess", "dkdv", "dq"]
    for ax, (sweep, title) in zip(axes, [
            ("sweepA", "A: B2 H16 N8192 D128 exclusive_equal"),
            ("sweepB", "B: B2 H16 N16384 D64 local_plus_band")]):
        variants = [("w4k64_before", "before"), ("w4k64", "staged stores\n+ Q wait deferred")]
        if (sweep, "w4k64_nostage") in runs:
            variants.insert(1, ("w4k64_nostage", "Q wait deferred\nonly"))
        for x, (name, label) in enumerate(variants):
            bottom = 0.0
            for i, part in enumerate(parts):
                value = runs[(sweep, name)].get(part, 0.0)
                ax.bar(x, value, bottom=bottom, color=f"C{i}",
                       label=part if x == 0 else None)
                bottom += value
            ax.text(x, bottom, f"{bottom:.3f}", ha="center", va="bottom")
        ax.set_xticks(range(len(variants)), [v[1] for v in variants])
        ax.set_ylabel("ms (forward bench_ms + backward kernels)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    policies = [p for p in before if p in after and not p.endswith("mmasync")]
    ax = axes[2]
    for i, (data, label) in enumerate([(before, "before"), (after, "after")]):
        ax.bar([x + 0.4 * i for x in range(len(policies))],
               [data[p] for p in policies], width=0.4, label=label)
    ax.set_xticks([x + 0.2 for x in range(len(policies))],
                  [p.replace("_", "\n") for p in policies], fontsize=8)
    ax.set_ylabel("forward ms (bench_ms)")
    ax.set_title("forward, B2 H16 N8192 D128", fontsize=10)
    ax.legend(fontsize=8)
    fig.suptitle("Staged epilogue stores, H200, 2026-12-03 (one process per "
                 "panel's before/after)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
