#!/usr/bin/env python3
"""Plots the real kernels' ablation (bench/gpu_ablation_device.sh; issues
#11, #14): for each removed part, the headline layer's dK/dV kernel time
(CUDA profiler) and forward time (bench_ms) relative to the default build
in the same process, both processes of the 2026-12-07 H100 call, and the
two mask candidates.

    .venv/bin/python bench/plot_ablation.py \\
        bench/results/gpu-2026-12-07-h100-ablation docs/images/gpu_ablation_h100_2026-12-07.png
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {
    "nomask": "edge masks",
    "noepi": "epilogue (O/lse; dK, dV)",
    "nostore": "dS staging + bulk store",
    "nostats": "lse / Delta reads",
    "all": "all four",
    "dspzero": "candidate: dS without masked branch",
    "rowmasks": "candidate: per-row masks",
    "rowmasksdspzero": "candidate: both",
}


def relative(path):
    """{tag: (dK/dV kernel change %, forward change %)} against variant
    w4k64 of the sweep at `path` (bench/grad_sweep.py's JSON)."""
    rows = {r["name"]: r for r in json.load(open(path))["results"]}

    def dkdv(row):
        return next(v for k, v in row["kernels_ms"].items() if k.endswith("_dkdv"))

    base = rows.pop("w4k64")
    return {name.split("_", 1)[1]: (100 * dkdv(row) / dkdv(base) - 100,
                                    100 * row["fwd_ms"] / base["fwd_ms"] - 100)
            for name, row in rows.items()}


def main():
    results, image = sys.argv[1], sys.argv[2]
    runs = [relative(os.path.join(results, d, "grad_sweep.json"))
            for d in ("exclusive_equal", "again-headline")]
    tags = list(LABELS)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, which, title in ((axes[0], 0, "dK/dV kernel (profiler)"),
                             (axes[1], 1, "forward (bench_ms)")):
        for i, run in enumerate(runs):
            values = [run[t][which] for t in tags]
            ax.barh([y + 0.4 * i for y in range(len(tags))], values, height=0.38,
                    label=f"process {i + 1}")
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(title)
        ax.set_xlabel("time change against the default build (%)")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks([y + 0.2 for y in range(len(tags))])
    axes[0].set_yticklabels([LABELS[t] for t in tags])
    axes[0].invert_yaxis()
    axes[1].legend()
    fig.suptitle("spa's headline layer (B2 H16 N8192 D128 bf16 exclusive_equal): "
                 "each part removed, H100, 2026-12-07")
    fig.tight_layout()
    fig.savefig(image, dpi=110)


if __name__ == "__main__":
    main()
