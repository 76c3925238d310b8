#!/usr/bin/env python3
"""Plots the staged-store options measured on 2026-12-07 (issues #11, #14;
bench/gpu_tma_stores_device.sh): the headline layer's dK/dV kernel time
(CUDA profiler) and forward time (bench_ms) of every variant, each process
of the H100 calls in its own colour (variants are only compared within a
process).

    .venv/bin/python bench/plot_stores.py \\
        bench/results/gpu-2026-12-07-h100-stores docs/images/gpu_stores_h100_2026-12-07.png
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

LABELS = {
    "w4k64": "defaults",
    "w4k64e": "defaults (again, last)",
    "w4k64t": "tma-stores",
    "w4k64tu": "tma-stores + warp dS stores",
    "w4k64tum": "tma-stores + warp dS stores + stmatrix",
    "w4k64tm": "tma-stores + stmatrix",
    "w4k64m": "stmatrix",
}


def rows(path):
    """[(label, dK/dV ms, forward ms)] of the sweep at `path`, in order."""
    out = []
    for row in json.load(open(path))["results"]:
        dkdv = next(v for k, v in row["kernels_ms"].items()
                    if k.endswith("_dkdv"))
        out.append((LABELS.get(row["name"], row["name"]), dkdv, row["fwd_ms"]))
    return out


def main():
    results, image = sys.argv[1], sys.argv[2]
    processes = [(call, rows(os.path.join(results, call, "exclusive_equal",
                                          "grad_sweep.json")))
                 for call in ("call1", "call2")]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    colours = {"call1": "tab:blue", "call2": "tab:orange"}
    labels = []
    for _, data in processes:
        labels += [label for label, _, _ in data if label not in labels]
    for call, data in processes:
        for label, dkdv, fwd in data:
            y = labels.index(label) + (0.2 if call == "call2" else -0.2)
            for ax, value in zip(axes, (dkdv, fwd)):
                ax.barh(y, value, height=0.4, color=colours[call])
                ax.text(value, y, f" {value:.4f}", va="center", fontsize=7)
    axes[0].set_yticks(range(len(labels)), labels, fontsize=8)
    axes[0].set_xlabel("dK/dV kernel ms (CUDA profiler)")
    axes[1].set_xlabel("forward ms (bench_ms)")
    axes[0].set_xlim(0.19, 0.22)
    axes[1].set_xlim(0.10, 0.12)
    axes[0].legend(handles=[Patch(color=colours["call1"], label="process 1"),
                            Patch(color=colours["call2"], label="process 2")],
                   fontsize=8, loc="lower right")
    fig.suptitle("Staged stores, headline B2 H16 N8192 D128 bf16 "
                 "exclusive_equal, H100, 2026-12-07 (lower is better)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(image, dpi=110)


if __name__ == "__main__":
    main()
