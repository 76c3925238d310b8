#!/usr/bin/env python3
"""Plot of bench/wgmma_rate_probe.py's results (issues #11, #14): the
forward tile's rate as each part of a real kernel is added (products,
softmax, barriers, copies, work items), by warpgroups an SM, beside the
products-only shapes.

    python bench/plot_wgmma_rate.py RESULTS.json --out docs/images/x.png
"""

import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STEPS = [
    ("fwd_k64", None, "products only"),
    ("fwd_k64_softmax", None, "+ softmax"),
    ("fwd_path_s1_barriers", "l2", "+ block barriers"),
    ("fwd_path_s1_copies", "l2", "+ K, V copies (L2)"),
    ("fwd_items_serial", "l2", "+ work items"),
    ("fwd_items_persistent", "l2", "items, next copies early"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results")
    parser.add_argument("--out", required=True)
    parser.add_argument("--kernel-tflops", type=float, default=350.0,
                        help="the real serial forward's rate at the headline")
    args = parser.parse_args()
    data = json.load(open(args.results))
    rate = {}
    for row in data["rows"]:
        if "tflops" in row:
            rate[(row["kernel"], row.get("region"), row["warpgroups"])] = (
                row["tflops"])
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.13
    for i, (kernel, region, label) in enumerate(STEPS):
        xs, ys = [], []
        for w in (1, 2, 3, 4):
            if (kernel, region, w) in rate:
                xs.append(w + (i - 2.5) * width)
                ys.append(rate[(kernel, region, w)])
        ax.bar(xs, ys, width, label=label)
    ax.axhline(args.kernel_tflops, color="k", linestyle="--", linewidth=1,
               label=f"spa's forward at the headline (~{args.kernel_tflops:.0f}, 3 warpgroups)")
    ax.set_xticks([1, 2, 3, 4])
    ax.set_xlabel("warpgroups (128-thread blocks) an SM")
    ax.set_ylabel("TFLOP/s of the tile's products")
    ax.set_title(f"Forward tile (64 x 64, D = 128) on {data['device']}: "
                 "what each part costs")
    ax.legend(fontsize=8, loc="upper center", ncol=3)
    ax.set_ylim(0, 1250)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)


if __name__ == "__main__":
    main()
