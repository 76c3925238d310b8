#!/usr/bin/env python3
"""Plot of Nsight Compute's throughput metrics for the forward kernels and
dense SDPA's (issue #14): SM (compute), shared-memory pipe, L2 and DRAM
throughput as % of peak per kernel, read from the `--page details` text
files bench/profile_forward_device.sh writes (<name>_details.txt).

    .venv/bin/python bench/plot_forward_profile.py OUT.png DIR [name=label ...]

Recorded: bench/results/gpu-2026-12-05-h200-wide-pv/ncu/ ->
docs/images/gpu_forward_profile_h200_2026-12-05.png.
"""
import os
import re
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

METRICS = [  # (label, line in the details page)
    ("SM (compute)", r"Compute \(SM\) Throughput\s+%\s+([0-9.]+)"),
    ("shared-memory pipe",
     r"sm__pipe_shared_cycles_active\.avg\.pct_of_peak_sustained_active\s+%\s+([0-9.]+)"),
    ("L2", r"L2 Cache Throughput\s+%\s+([0-9.]+)"),
    ("DRAM", r"DRAM Throughput\s+%\s+([0-9.]+)"),
]
DEFAULT = [
    ("sdpa_dense", "dense causal SDPA\n(cuDNN, 909 us)"),
    ("ee_serial", "spa serial\nexclusive_equal"),
    ("ee_pingpong_k128", "spa ws-pingpong\nexclusive_equal"),
    ("lpb_default", "spa ws (auto)\nlocal_plus_band"),
    ("lpb_pingpong_k128", "spa ws-pingpong\nlocal_plus_band"),
]


def read(path):
    text = open(path).read()
    values = []
    for _, pattern in METRICS:
        found = re.search(pattern, text)
        values.append(float(found.group(1)) if found else np.nan)
    duration = re.search(r"Duration\s+(us|ms)\s+([0-9.,]+)", text)
    return values, duration


def main():
    out, folder = sys.argv[1], sys.argv[2]
    kernels = [tuple(a.split("=", 1)) for a in sys.argv[3:]] or DEFAULT
    rows = [(label, read(os.path.join(folder, f"{name}_details.txt"))[0])
            for name, label in kernels]
    fig, ax = plt.subplots(figsize=(10, 4.2))
    x = np.arange(len(rows))
    width = 0.2
    for m, (metric, _) in enumerate(METRICS):
        ax.bar(x + (m - 1.5) * width, [r[1][m] for r in rows], width,
               label=metric)
    ax.set_xticks(x)
    ax.set_xticklabels([r[0] for r in rows], fontsize=8)
    ax.set_ylabel("% of peak (Nsight Compute)")
    ax.set_ylim(0, 100)
    ax.set_title("Forward kernels, B=2 H=16 N=8192 D=128 bf16, H200 "
                 "(2026-12-05): spa latency-bound, dense SDPA tensor-bound")
    ax.legend(fontsize=8, ncol=4, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print("wrote", out)


if __name__ == "__main__":
    main()
