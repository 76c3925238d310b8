#!/usr/bin/env python3
"""Plot of the forward with three consumer warpgroups (forward-schedule=ws,
warps=12) against the default forward on every SPEC shape, as spa's time
over FlexAttention's (same process), from the report that
bench/gpu_forward_ws12_device.sh's `shapes` part writes:
docs/images/gpu_ws12_h100_2026-12-07.png.

    .venv/bin/python bench/plot_ws12.py \\
        bench/results/gpu-2026-12-07-h100-ws12/shapes/gpu_report_partial.json \\
        docs/images/gpu_ws12_h100_2026-12-07.png
"""
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main():
    source, target = sys.argv[1], sys.argv[2]
    rows = {}
    for r in json.load(open(source))["bench"]:
        if r["name"].endswith("_mmasync"):
            continue
        kind = "ws12" if r["name"].endswith("_ws12") else "default"
        key = (r["policy"], r["B"], r["H"], r["N"], r["D"])
        rows.setdefault(key, {})[kind] = r["spa_vs_flex"]
    keys = sorted((k for k in rows if len(rows[k]) == 2),
                  key=lambda k: (k[4], k[3], k[0]))
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(12, 4.2))
    ax.bar(x - 0.2, [rows[k]["default"] for k in keys], 0.4,
           label="default forward (serial; ws with one consumer warpgroup "
           "for local_plus_band at D = 128)")
    ax.bar(x + 0.2, [rows[k]["ws12"] for k in keys], 0.4,
           label="forward-schedule=ws warps=12 (three consumer warpgroups)")
    ax.axhline(0.5, color="k", lw=0.8, ls="--")
    ax.set_xticks(x)
    short = {"exclusive_equal": "excl_equal", "local_plus_band": "local+band",
             "pair_balanced": "pair_bal", "tile_balanced": "tile_bal"}
    ax.set_xticklabels([f"{short[p]}\nN{n} D{d}" for p, b, h, n, d in keys],
                       fontsize=8)
    ax.set_ylabel("spa forward / FlexAttention forward")
    ax.set_title("Three consumer warpgroups sharing each K/V tile: slower on "
                 "every SPEC row (NVIDIA H100, 2026-12-07)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target, dpi=120)


if __name__ == "__main__":
    main()
