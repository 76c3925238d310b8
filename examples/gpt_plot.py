#!/usr/bin/env python3
"""The figure of examples/train_gpt.py: one loss-curve panel per sequence
length (every method) and a tokens/s bar chart. Also runnable on saved
reports, where the run's machine had no matplotlib or the lengths ran as
separate commands (their runs are merged, in the order given):

    python examples/gpt_plot.py OUT/train_gpt.json        # -> OUT/train_gpt.png
    python examples/gpt_plot.py A/train_gpt.json B/train_gpt.json --out DIR
        # -> DIR/train_gpt.json (merged) and DIR/train_gpt.png
"""

import argparse
import json
import os

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
        if ys:  # skipped methods get no bar and no legend entry
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


def merge(reports):
    """One report of several runs of the same configuration."""
    merged = dict(reports[0], runs=[r for rep in reports
                                    for r in rep["runs"]])
    methods = []
    for rep in reports:
        methods += [m for m in rep["config"]["methods"] if m not in methods]
    merged["config"] = dict(reports[0]["config"], methods=methods)
    return merged


def main():
    p = argparse.ArgumentParser(description="Plot train_gpt.py reports.")
    p.add_argument("reports", nargs="+")
    p.add_argument("--out", help="default: the first report's directory")
    args = p.parse_args()
    reports = []
    for path in args.reports:
        with open(path) as f:
            reports.append(json.load(f))
    out = args.out or os.path.dirname(os.path.abspath(args.reports[0]))
    os.makedirs(out, exist_ok=True)
    report = merge(reports) if len(reports) > 1 else reports[0]
    if len(reports) > 1:
        with open(os.path.join(out, "train_gpt.json"), "w") as f:
            json.dump(report, f, indent=1)
    print(plot(report, out))


if __name__ == "__main__":
    main()
