#!/usr/bin/env python3
"""Plot of forward + backward with programmatic-launch and tma-stores
together against the defaults on every SPEC row (spa's time, and the
ratio to FlexAttention's in the same process), from two BENCH summaries of
bench/gpu_grad_check.py --bench: docs/images/gpu_pdl_tma_stores_h100_2026-12-07.png.

    .venv/bin/python bench/plot_pdl_tma_stores.py \\
        bench/results/gpu-2026-12-07-h100-spec-table/spec_summary.txt \\
        bench/results/gpu-2026-12-07-h100-pdl-tma-stores/call16/gt_summary.txt \\
        docs/images/gpu_pdl_tma_stores_h100_2026-12-07.png
"""
import json
import re
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read(path):
    """{(policy, N, D): (spa fwd+bwd ms, ratio to FlexAttention)}, the
    first BENCH line of each layer."""
    rows = {}
    for line in open(path):
        m = re.search(r"BENCH g?bench_(\w+?)_b\d+_h\d+_n(\d+)_d(\d+): (\{.*\})",
                      line)
        if m:
            key = (m.group(1), int(m.group(2)), int(m.group(3)))
            r = json.loads(m.group(4))
            rows.setdefault(key, (r["spa_fwd_bwd"],
                                  r["ratio_spa_to_flex_fwd_bwd"]))
    return rows


def main():
    before, after = read(sys.argv[1]), read(sys.argv[2])
    keys = sorted(set(before) & set(after), key=lambda k: (k[2], k[1], k[0]))
    short = {"exclusive_equal": "ee", "local_plus_band": "lpb",
             "pair_balanced": "pb", "tile_balanced": "tb"}
    labels = [f"{short[p]}\n{n // 1024}k\nD{d}" for p, n, d in keys]
    x = np.arange(len(keys))
    fig, (a, b) = plt.subplots(1, 2, figsize=(14, 4.2))
    change = [100 * (after[k][0] / before[k][0] - 1) for k in keys]
    a.bar(x, change, color=["tab:green" if c < 0 else "tab:red"
                            for c in change])
    a.axhline(0, color="k", lw=0.8)
    a.set_xticks(x)
    a.set_xticklabels(labels, fontsize=7)
    a.set_ylabel("spa fwd+bwd time change, %")
    a.set_title("programmatic-launch + tma-stores vs the defaults")
    b.bar(x - 0.2, [before[k][1] for k in keys], 0.4, label="defaults")
    b.bar(x + 0.2, [after[k][1] for k in keys], 0.4,
          label="programmatic-launch + tma-stores")
    b.axhline(0.6, color="k", lw=0.8, ls="--")
    b.set_xticks(x)
    b.set_xticklabels(labels, fontsize=7)
    b.set_ylabel("spa / FlexAttention fwd+bwd (same process)")
    b.set_title("ratio to FlexAttention (the D = 64 defaults' Flex read high)")
    b.legend(fontsize=8)
    fig.suptitle("NVIDIA H100, 2026-12-07: defaults (eleventh session) and "
                 "both options (twelfth session)")
    fig.tight_layout()
    fig.savefig(sys.argv[3], dpi=120)


if __name__ == "__main__":
    main()
