#!/usr/bin/env python3
"""Plot of the warp-specialised forward schedules (forward_schedule="ws",
"ws-overlap") against the serial wgmma kernel and FlexAttention on the
headline shape (B=2 H=16 N=8192 D=128 bf16), per policy, from the
bench.json reports of bench/gpu_device.py (bench/results/
gpu-2026-12-03-h200-ws/): docs/images/gpu_forward_ws_h200_2026-12-03.png.

    .venv/bin/python bench/plot_forward_ws.py OUT.png persistent/bench.json \
        ws-overlap/bench.json

Serial and FlexAttention come from the first report (the same process as
its ws rows); each later report's serial rows are left out.
"""
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

POLICIES = ["exclusive_equal", "local_plus_band", "pair_balanced",
            "tile_balanced"]
SHAPE = "_b2_h16_n8192_d128"
VARIANTS = [  # (name suffix, label, colour)
    ("", "serial (default)", "#555555"),
    ("_ws_w4k64s0", "ws, 1 consumer warpgroup, 2 blocks/SM", "#3b75af"),
    ("_ws", "ws, 2 consumer warpgroups", "#8fb3d9"),
    ("_ws_overlap_w4k64s0", "ws-overlap, 1 warpgroup (C7513)", "#c9772f"),
    ("_ws_overlap", "ws-overlap, 2 warpgroups (C7513)", "#e8b27d"),
]


def main():
    target, first, *rest = sys.argv[1:]
    rows, flex = {}, {}
    for i, path in enumerate([first] + rest):
        for r in json.load(open(path))["bench"]:
            if i > 0 and r["name"].endswith(SHAPE):
                continue
            rows[r["name"]] = r["spa_ms"]
            if i == 0:
                flex[r["policy"]] = r["flex_ms"]
    x = np.arange(len(POLICIES))
    width = 0.8 / (len(VARIANTS) + 1)
    fig, ax = plt.subplots(figsize=(11, 4.4))
    for v, (suffix, label, colour) in enumerate(VARIANTS):
        ms = [rows.get(f"bench_{p}{SHAPE}{suffix}", np.nan) for p in POLICIES]
        ax.bar(x + (v - len(VARIANTS) / 2) * width, ms, width, label=label,
               color=colour)
    ax.bar(x + (len(VARIANTS) / 2) * width, [flex[p] for p in POLICIES],
           width, label="FlexAttention (dynamic=False)", color="#bbbbbb",
           hatch="//")
    ax.set_xticks(x, POLICIES)
    ax.set_ylabel("forward ms (do_bench method, lower is better)")
    ax.set_title("Warp-specialised forward vs serial, H200, B=2 H=16 N=8192 "
                 "D=128 bf16, 2026-12-03")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(target, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
