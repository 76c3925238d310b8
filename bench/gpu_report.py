#!/usr/bin/env python3
"""Turns a gpu_report.json from bench/gpu_device.py into the markdown table
of docs/benchmarks.md and a plot (ms per layer, spa vs FlexAttention vs
dense causal SDPA).

    python bench/gpu_report.py bench/results/gpu-2026-11-22-h100.json \
        --plot docs/images/gpu_forward_h100.png
"""
import argparse
import json


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report")
    parser.add_argument("--plot")
    args = parser.parse_args()
    with open(args.report) as f:
        report = json.load(f)
    rows = report["bench"]
    print("| B H N D | policy | spa kernel | spa ms | FlexAttention ms | "
          "dense SDPA ms | spa / Flex time | spa useful TFLOP/s | "
          "Flex useful TFLOP/s | dense TFLOP/s | spa / dense TFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        # Reports before 2026-11-23 predate the wgmma kernel.
        kernel = r.get("mma", "mma.sync")
        print(f"| {r['B']} {r['H']} {r['N']} {r['D']} | {r['policy']} | "
              f"{kernel} | "
              f"{r['spa_ms']:.3f} | {r['flex_ms']:.3f} | {r['dense_ms']:.3f} | "
              f"{r['spa_ms'] / r['flex_ms']:.2f} | {r['spa_tflops']:.0f} | "
              f"{r['flex_tflops']:.0f} | {r['dense_tflops']:.0f} | "
              f"{r['spa_tflops'] / r['dense_tflops']:.0%} |")
    checks = report.get("checks", [])
    if checks:
        worst = max(c.get("error", 0) for c in checks if c["ok"])
        print(f"\n{sum(c['ok'] for c in checks)}/{len(checks)} correctness "
              f"checks passed; worst output error {worst:.2e}.")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
        labels = [f"{r['policy']}\nB{r['B']} H{r['H']} N{r['N']} D{r['D']}"
                  + (f" ({r['mma']})" if r.get("mma") == "mma.sync"
                     and "mma" in r else "")
                  for r in rows]
        x = np.arange(len(rows))
        fig, ax = plt.subplots(figsize=(13, 5.5))
        w = 0.27
        ax.bar(x - w, [r["spa_ms"] for r in rows], w, label="spa (ours)",
               color="#228833")
        ax.bar(x, [r["flex_ms"] for r in rows], w,
               label="FlexAttention (same mask)", color="#4477aa")
        ax.bar(x + w, [r["dense_ms"] for r in rows], w,
               label="dense causal SDPA", color="#bbbbbb")
        ax.set_yscale("log")
        ax.set_ylabel("forward ms (log, lower is better)")
        ax.set_xticks(x)
        ax.set_xticklabels(labels, fontsize=7, rotation=35, ha="right")
        ax.set_title(f"Banded attention forward, bf16, {report['device']}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    main()
