#!/usr/bin/env python3
"""Plots interleaved-dq as measured on 2026-12-07 (issue #11;
bench/gpu_interleaved_device.sh): the headline layer's backward kernels
(CUDA profiler, stacked: dK/dV and dq_stored, or the one interleaved
kernel) per variant, one group of bars per process of the H100 calls
(variants are only compared within a process); calls 4-6 hold the
decomposition's scratch variants.

    .venv/bin/python bench/plot_interleaved.py \\
        bench/results/gpu-2026-12-07-h100-interleaved docs/images/gpu_interleaved_h100_2026-12-07.png
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def label(name, call):
    if name == "w4k64":
        return "3 launches"
    if name == "w4k64_dq2":
        return "3 launches,\ndQ 2/SM"
    base, _, tag = name.partition("_")
    lag, _, stages = base[len("w4k64i"):].partition("o")
    lag = "last" if int(lag) >= 100000 else lag
    text = f"lag {lag}\n{stages or 2} stages"
    # Scratch variants of calls 4-6 (docs/benchmarks.md step 7n).
    # Call 5 timed a scratch build with the flag set before the epilogue
    # (no suffix) beside the kept one (_after).
    if call == "call5" and lag == "256":
        return text + ("\nflag after" if tag == "after" else
                       "\nflag before*")
    return text + {"": "", "blk": "\nno claim*", "kvonly": "\ndK/dV only*",
                   "dqonly": "\ndQ only*"}[tag]


def main():
    root, out = sys.argv[1], sys.argv[2]
    calls = sorted(d for d in os.listdir(root) if d.startswith("call"))
    rows = []
    for call in calls:
        path = os.path.join(root, call, "exclusive_equal", "grad_sweep.json")
        for r in json.load(open(path))["results"]:
            kernels = r["kernels_ms"]
            part = {k.rsplit("_1_", 1)[1]: v for k, v in kernels.items()}
            rows.append((call, label(r["name"], call), part))
    fig, ax = plt.subplots(figsize=(17, 5.5))
    colours = {"dkdv": "#4c72b0", "dq_stored": "#dd8452",
               "dkdv_dq_stored": "#55a868"}
    x = 0
    ticks, names = [], []
    for call in calls:
        for c, name, part in (r for r in rows if r[0] == call):
            bottom = 0.0
            for kernel in ("dkdv", "dq_stored", "dkdv_dq_stored"):
                if kernel in part:
                    ax.bar(x, part[kernel], bottom=bottom,
                           color=colours[kernel],
                           label=kernel if x == 0 or kernel ==
                           "dkdv_dq_stored" else None)
                    bottom += part[kernel]
            ax.text(x, bottom + 0.004, f"{bottom:.3f}", ha="center",
                    fontsize=8)
            ticks.append(x)
            names.append(f"{name}\n({c})")
            x += 1
        x += 0.6
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), loc="upper center", ncol=3)
    ax.set_ylim(0, 0.47)
    ax.set_xticks(ticks)
    ax.set_xticklabels(names, fontsize=7.5)
    ax.set_ylabel("ms (CUDA profiler; preprocess not shown)")
    ax.set_xlabel("* scratch builds, not kept (calls 4-6): the claim, the "
                  "flag's place, and each body alone in the fused kernel")
    ax.set_title("interleaved-dq: dK/dV + dQ kernels, B2 H16 N8192 D128 bf16 "
                 "exclusive_equal, H100 80GB HBM3, 2026-12-07")
    fig.tight_layout()
    fig.savefig(out, dpi=120)


if __name__ == "__main__":
    main()
