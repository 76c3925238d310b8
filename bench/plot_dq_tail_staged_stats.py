#!/usr/bin/env python3
"""Backward times of two default changes measured on an H100 (2026-12-06,
fourth session; issue #11): the recomputing dQ kernel's grouped zero tail at
D = 64 (auto 8 against zero-tail-items=1) and the recomputing dK/dV kernel's
staged lse and Delta at D = 128 (auto now, against the global loads), from
the grad_sweep.json files of bench/gpu_dq_zero_tail_device.sh and
bench/gpu_recompute_staged_device.sh.

    python3 bench/plot_dq_tail_staged_stats.py RESULTS_DIR PNG
"""
import json
import os
import sys


def sweep(path):
    d = json.load(open(path))
    s = d["shape"]
    label = (f"{s['policy']}\nB{s['batch']} H{s['heads']} N{s['seq_len']} "
             f"D{s['head_dim']}")
    return label, {r["name"]: r["bwd_ms"] for r in d["results"]}


def main():
    results, png = sys.argv[1], sys.argv[2]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [
        ("D = 64: dQ zero tail, 8 items a block (auto) vs 1",
         [f"call1/z_{p}/grad_sweep.json" for p in
          ("exclusive_equal", "pair_balanced", "tile_balanced",
           "local_plus_band")], "w4k64z1", "w4k64"),
        ("D = 128 recomputing dK/dV: staged lse + Delta (auto) vs global",
         [f"call2/{d}/grad_sweep.json" for d in
          ("lpb8", "tb8", "pb16", "tb16", "lpb16")], "w4k64", "w4k64xy"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(15, 5.5))
    for ax, (title, files, before, after) in zip(axes, panels):
        labels, old, new = [], [], []
        for f in files:
            label, times = sweep(os.path.join(results, f))
            labels.append(label)
            old.append(times[before])
            new.append(times[after])
        x = range(len(labels))
        ax.bar([i - 0.2 for i in x], old, 0.4, label="before")
        ax.bar([i + 0.2 for i in x], new, 0.4, label="new default")
        for i, (a, b) in enumerate(zip(old, new)):
            ax.text(i + 0.2, b, f"{(b / a - 1) * 100:+.1f}%", ha="center",
                    va="bottom", fontsize=8)
        ax.set_xticks(list(x), labels, fontsize=7)
        ax.set_ylabel("backward, ms (bench_ms)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle("H100 80GB HBM3, 2026-12-06 (fourth session), one process "
                 "a shape")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    main()
