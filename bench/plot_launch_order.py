#!/usr/bin/env python3
"""A training step's kernels in context, with and without
programmatic-launch, on an H100 (2026-12-06, fifth session; issue #11),
from the timeline.json files of bench/kernel_timeline.py
(bench/gpu_launch_order_device.sh): per shape, one horizontal bar per
variant made of its kernels' median durations and the gaps between them
(a negative gap: the kernel's blocks started before its predecessor
ended, and waited), and bench_ms of the whole forward + backward.

    python3 bench/plot_launch_order.py RESULTS_DIR PNG
"""
import json
import os
import sys

SHAPES = ("hE", "hT", "h64", "hL")
COLOURS = {"spa_attention_0": "#4c72b0", "preprocess": "#dd8452",
           "dkdv": "#55a868", "dq": "#c44e52", "dq_stored": "#8172b3"}


def role(kernel):
    for suffix in ("preprocess", "dq_stored", "dkdv", "dq"):
        if kernel.endswith("_" + suffix):
            return suffix
    return "spa_attention_0"


def main():
    results, png = sys.argv[1], sys.argv[2]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(SHAPES), 1, figsize=(12, 9), sharex=False)
    for ax, shape in zip(axes, SHAPES):
        t = json.load(open(os.path.join(results, f"tl_{shape}",
                                        "timeline.json")))
        s = t["shape"]
        for y, v in enumerate(t["variants"]):
            at = 0.0
            for k in v["kernels"]:
                at += k["gap_before_us"]
                r = role(k["kernel"])
                ax.barh(y, k["duration_us"], left=at, color=COLOURS[r],
                        edgecolor="white", label=r if y == 0 else None)
                at += k["duration_us"]
            bench = ", ".join(f"{m * 1000:.1f}" for m in v["fwd_bwd_bench_ms"])
            ax.text(at + 3, y, f"end {at:.1f} us (gaps "
                    f"{v['gaps_sum_us']:+.1f}); bench_ms {bench} us",
                    va="center", fontsize=8)
        ax.set_yticks(range(len(t["variants"])))
        ax.set_yticklabels(["plain" if not v["variant"].endswith("g")
                            else "programmatic" for v in t["variants"]])
        ax.set_title(f"{s['policy']} B{s['batch']} H{s['heads']} "
                     f"N{s['seq_len']} D{s['head_dim']}", fontsize=10)
        ax.set_xlim(-10, max(1.35 * ax.get_xlim()[1], 100))
        ax.legend(fontsize=7, loc="lower right", ncol=5)
    axes[-1].set_xlabel("us from the first kernel's start (medians of 20 "
                        "calls in context)")
    fig.suptitle("forward + backward kernels with and without "
                 "programmatic-launch (H100, 2026-12-06)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    main()
