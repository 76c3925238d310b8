#!/usr/bin/env python3
"""Plot of backward step 7 (score-grads=store, H200, 2026-12-04) for
docs/benchmarks.md: the headline layer's backward kernels, recomputing
against storing dS (one and two staging tiles, and the decomposition runs),
and forward + backward against FlexAttention on the SPEC shapes. Reads the
raw results under bench/results/gpu-2026-12-04-h200-score-grads/.

    .venv/bin/python bench/plot_score_grads_2026_12_04.py
"""
import json
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAW = os.path.join(ROOT, "bench", "results",
                   "gpu-2026-12-04-h200-score-grads")
OUT = os.path.join(ROOT, "docs", "images",
                   "gpu_score_grads_h200_2026-12-04.png")


def sweep(path):
    with open(os.path.join(RAW, path)) as f:
        return {r["name"]: r for r in json.load(f)["results"]}


def kernels(r):
    return {k.split("_grad_1_")[-1]: v for k, v in r["kernels_ms"].items()}


def bench(path):
    rows = {}
    with open(os.path.join(RAW, path)) as f:
        for line in f:
            if line.startswith("BENCH "):
                name, text = line[6:].split(": ", 1)
                rows[name] = json.loads(text)
    return rows


def main():
    one = sweep("run1-time/sweepA.json")
    final = sweep("run4-time/sweepA.json")
    bars = [("recompute\n(dq, dkdv)", kernels(final["w4k64"])),
            ("stored, one\nstaging tile", kernels(one["w4k64d"])),
            ("stored, two\nstaging tiles", kernels(final["w4k64d"]))]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    colors = {"preprocess": "#999999", "dkdv": "#1f77b4", "dq": "#ff7f0e",
              "dq_stored": "#2ca02c"}
    for x, (label, ks) in enumerate(bars):
        bottom = 0.0
        for role in ("preprocess", "dkdv", "dq", "dq_stored"):
            if role in ks:
                left.bar(x, ks[role], bottom=bottom, color=colors[role],
                         label=role if x in (0, 2) or role == "dq" else None)
                left.text(x, bottom + ks[role] / 2, f"{ks[role]:.3f}",
                          ha="center", va="center", fontsize=8)
                bottom += ks[role]
        left.text(x, bottom + 0.005, f"{bottom:.3f}", ha="center",
                  fontsize=9)
    handles, labels = left.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    left.legend(unique.values(), unique.keys(), fontsize=8, loc="upper center",
                ncol=4)
    left.set_ylim(0, 0.47)
    left.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    left.set_ylabel("ms (CUDA profiler, per kernel)")
    left.set_title("Backward kernels, B=2 H=16 N=8192 D=128 exclusive_equal")

    rows = bench("run4-time/hbench.log")
    first = bench("run1-time/hbench.log")
    shapes = [("exclusive_equal_b2_h16_n8192_d128", "ee N=8192"),
              ("local_plus_band_b2_h16_n8192_d128", "lpb N=8192"),
              ("exclusive_equal_b1_h32_n16384_d128", "ee B1 H32 N=16384")]
    width = 0.27
    for i, (key, label) in enumerate(shapes):
        rec = rows["bench_" + key]
        sto = rows["bench_" + key + "_stored"]
        # FlexAttention's fwd+bwd at the headline read 0.92-0.94 ms in the
        # final run against 0.68-0.70 in every earlier one: the earlier run
        # of the same day is drawn for it.
        flex = (first["bench_" + key]["flex_fwd_bwd"] if i == 0
                else rec["flex_fwd_bwd"])
        for j, (value, name, color) in enumerate(
                [(rec["spa_fwd_bwd"], "spa, recompute", "#1f77b4"),
                 (sto["spa_fwd_bwd"], "spa, stored dS", "#2ca02c"),
                 (flex, "FlexAttention", "#d62728")]):
            right.bar(i + (j - 1) * width, value, width, color=color,
                      label=name if i == 0 else None)
            right.text(i + (j - 1) * width, value + 0.01, f"{value:.3f}",
                       ha="center", fontsize=7)
    right.set_xticks(range(len(shapes)), [s[1] for s in shapes])
    right.set_ylabel("forward + backward, ms (bench_ms)")
    right.set_title("Forward + backward, D=128 bf16, H200")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
