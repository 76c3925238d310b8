#!/usr/bin/env python3
"""Plot of the TMA tile loads against cp.async (tma=false) for the wgmma
forward and backward, per policy, from the sweep summary lines that
bench/gpu_forward_tma_device.sh writes ("sweep_<policy> w4k64[c] fwd F bwd
B ..."): docs/images/gpu_tma_ab_h200_2026-12-02.png.

    .venv/bin/python bench/plot_tma_ab.py \\
        bench/results/gpu-2026-12-02-h200-session6-forward-tma/sweep_summary.txt \\
        docs/images/gpu_tma_ab_h200_2026-12-02.png
"""
import re
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read(path):
    """{policy: {"tma" | "cp.async": (fwd_ms, bwd_ms)}}"""
    rows = {}
    for line in open(path):
        m = re.match(r"sweep_(\w+) w\d+k\d+(c?) fwd ([\d.]+) bwd ([\d.]+)",
                     line)
        if m:
            kind = "cp.async" if m.group(2) else "tma"
            rows.setdefault(m.group(1), {})[kind] = (float(m.group(3)),
                                                     float(m.group(4)))
    return rows


def main():
    source, target = sys.argv[1], sys.argv[2]
    rows = read(source)
    policies = [p for p in ("exclusive_equal", "local_plus_band",
                            "pair_balanced", "tile_balanced") if p in rows]
    x = np.arange(len(policies))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, part, title in zip(axes, (0, 1), (
            "forward (with log-sum-exp)",
            "backward (preprocess + dK/dV + dQ)")):
        c = [rows[p]["cp.async"][part] for p in policies]
        t = [rows[p]["tma"][part] for p in policies]
        ax.bar(x - 0.2, c, 0.4, label="cp.async (tma=false)", color="#999999")
        ax.bar(x + 0.2, t, 0.4, label="TMA (default)", color="#3b75af")
        for i in range(len(x)):
            ax.text(x[i] + 0.2, t[i], f"{100 * (t[i] / c[i] - 1):+.0f}%",
                    ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, [p.replace("_", "\n") for p in policies],
                      fontsize=8)
        ax.set_ylabel("ms (bench_ms median)")
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8)
    fig.suptitle("spa wgmma kernels, TMA tile loads vs cp.async, H200, "
                 "B=2 H=16 N=8192 D=128 bf16 (2026-12-02)", fontsize=10)
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    main()
