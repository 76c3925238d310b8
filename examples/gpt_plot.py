#!/usr/bin/env python3
"""The figure of examples/train_gpt.py: one loss-curve panel per sequence
length (every method) and a tokens/s bar chart. Also runnable on a saved
report where the run's machine had no matplotlib:

    python examples/gpt_plot.py OUT/train_gpt.json   # writes OUT/train_gpt.png
"""

import json
import os
import sys

COLORS = {"sdpa": "tab:gray", "flex": "tab:orange", "spa": "tab:blue"}


def plot(report: dict, out_dir: str) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    runs = report["runs"]
    fig, axes = plt.subplots(1, len(runs) + 1,
                             figsize=(4.5 * (len(runs) + 1), 3.6))
    for ax, run in zip(axes, runs):
        for method, res in run["methods"].items():
            if "losses" in res:
                ax.plot(res["losses"], label=method, lw=1.2,
                        color=COLORS.get(method))
        ax.set_title(f"loss, N={run['seq_len']}, B={run['batch']}")
        ax.set_xlabel("step")
        ax.legend()
    bars = axes[-1]
    methods = [m for m in report["config"]["methods"]]
    width = 0.8 / max(1, len(methods))
    for i, method in enumerate(methods):
        xs, ys = [], []
        for j, run in enumerate(runs):
            res = run["methods"].get(method, {})
            if "tokens_per_s" in res:
                xs.append(j + i * width)
                ys.append(res["tokens_per_s"])
        bars.bar(xs, ys, width, label=method, color=COLORS.get(method))
    bars.set_xticks([j + width * (len(methods) - 1) / 2
                     for j in range(len(runs))])
    bars.set_xticklabels([f"N={r['seq_len']}" for r in runs])
    bars.set_title(f"tokens/s ({report['config']['device_name']})")
    bars.legend()
    fig.tight_layout()
    path = os.path.join(out_dir, "train_gpt.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        print(plot(json.load(f), os.path.dirname(os.path.abspath(
            sys.argv[1]))))
