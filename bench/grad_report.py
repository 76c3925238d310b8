#!/usr/bin/env python3
"""Turns the forward+backward timings of bench/gpu_grad_check.py --bench
(grad_check.json) into docs/benchmarks.md's table and a plot.

    python bench/grad_report.py bench/results/.../fwd_bwd_bench.json \
        --plot docs/images/gpu_fwd_bwd_h200.png
"""
import argparse
import json


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report")
    parser.add_argument("--plot")
    args = parser.parse_args()
    rows = [r for r in json.load(open(args.report)) if "bench" in r]
    print("| layer | spa fwd | spa bwd | spa fwd+bwd | Flex fwd | Flex fwd+bwd "
          "| SDPA fwd+bwd | spa / Flex fwd+bwd | spa useful TFLOP/s | Flex "
          "useful TFLOP/s | SDPA TFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t = r["bench"]
        name = r["name"].replace("bench_", "")
        print(f"| {name} | {t['spa_fwd']:.3f} | {t['spa_bwd']:.3f} | "
              f"{t['spa_fwd_bwd']:.3f} | {t['flex_fwd']:.3f} | "
              f"{t['flex_fwd_bwd']:.3f} | {t['sdpa_fwd_bwd']:.3f} | "
              f"{t['ratio_spa_to_flex_fwd_bwd']:.2f} | "
              f"{t['spa_useful_tflops_fwd_bwd']:.0f} | "
              f"{t['flex_useful_tflops_fwd_bwd']:.0f} | "
              f"{t['sdpa_tflops_fwd_bwd']:.0f} |")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
        x = np.arange(len(rows))
        fig, ax = plt.subplots(figsize=(9, 4.5))
        w = 0.27
        names = [r["name"].replace("bench_", "").replace("_", "\n", 1)
                 for r in rows]
        for i, (key, label, color) in enumerate((
                ("spa_fwd_bwd", "spa", "#228833"),
                ("flex_fwd_bwd", "FlexAttention (same mask)", "#4477aa"),
                ("sdpa_fwd_bwd", "dense causal SDPA", "#bbbbbb"))):
            ax.bar(x + (i - 1) * w, [r["bench"][key] for r in rows], w,
                   label=label, color=color)
        ax.set_yscale("log")
        ax.set_ylabel("forward + backward ms (log)")
        ax.set_xticks(x)
        ax.set_xticklabels(names, fontsize=8)
        ax.set_title("Forward + backward, bf16, NVIDIA H200, 2026-12-02")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    main()
