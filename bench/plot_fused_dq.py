#!/usr/bin/env python3
"""Plot of the backward's kernels in four forms (deterministic default,
classic atomic, fused ws with a consumer thread issuing the reductions, fused
ws with a dQ writer warp) at two shapes, stacked per kernel, from the sweep
summary lines of bench/gpu_grad_ws_atomic_device.sh ("sweep<A|B> <variant>
fwd F bwd B {'preprocess': .., 'dkdv': .. | 'dq': .., ..}"):
docs/images/gpu_fused_dq_h200_2026-12-03.png.

    .venv/bin/python bench/plot_fused_dq.py OUT.png FIRST.txt KEPT.txt

FIRST.txt is the summary of the first fused version (consumer thread
issuing), KEPT.txt that of the kept one (writer warp); the deterministic
and classic atomic bars come from KEPT.txt. In a fused or atomic variant
the grad sweep names the one product kernel "dq" (its third role,
dkdv_dq) and the convert "convert".
"""
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grad_sweep_summary import read_summary  # noqa: E402

SHAPES = {"sweepA": "A: N=8192 D=128 exclusive_equal",
          "sweepB": "B: N=16384 D=64 local_plus_band"}


def parts(kernels, fused):
    """(preprocess, product kernels, convert) in ms."""
    if fused:
        return kernels["preprocess"], kernels["dq"], kernels["convert"]
    return kernels["preprocess"], kernels["dkdv"] + kernels["dq"], 0.0


def main():
    out, first, kept = sys.argv[1], read_summary(sys.argv[2]), read_summary(sys.argv[3])
    forms = [("deterministic", kept, "w4k64", False),
             ("classic atomic", kept, "w4k64a", True),
             ("fused ws,\nthread issues", first, "w4k64as", True),
             ("fused ws,\nwriter warp", kept, "w4k64as", True)]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (sweep, title) in zip(axes, SHAPES.items()):
        labels = []
        for i, (label, runs, variant, fused) in enumerate(forms):
            pre, main_ms, conv = parts(runs[(sweep, variant)], fused)
            labels.append(label)
            ax.bar(i, pre, color="#999999",
                   label="preprocess" if i == 0 else None)
            ax.bar(i, main_ms, bottom=pre, color="#1f77b4" if not fused
                   else "#d62728",
                   label=("dkdv + dq" if i == 0 else
                          "dkdv_dq" if i == 1 else None))
            ax.bar(i, conv, bottom=pre + main_ms, color="#ff7f0e",
                   label="dq_convert" if i == 1 else None)
            # The label: the whole backward call (the kernels plus the
            # gaps between their launches).
            ax.text(i, pre + main_ms + conv,
                    f"{runs[(sweep, variant)]['backward']:.3f}",
                    ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("ms (bench_ms medians): kernels stacked,\n"
                      "label = whole backward call")
        ax.legend(fontsize=8)
    fig.suptitle("spa backward kernels, H200, B=2 H=16 bf16, 2026-12-03",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


if __name__ == "__main__":
    main()
