#!/usr/bin/env python3
"""The SPEC forward with FlashAttention-4 as a second dense reference, and
the headline's forward + backward ratio over processes (issues #14, #11):
the plot for docs/benchmarks.md from a bench/gpu_fa4_device.sh run.

    python3 bench/plot_fa4_reference.py RESULTS_DIR PNG

Left: useful TFLOP/s of the forward per SPEC row (spa and FlexAttention on
the band mask; dense SDPA and FA4 dense causal), with 75% of SDPA's as #14's
target. Right: spa / FlexAttention forward + backward at the headline in
every process of the day's two leases, with #11's 0.6x floor.
"""
import json
import os
import re
import sys


def headline_ratios(results):
    """(label, ratio) of the headline's forward + backward in each process."""
    out = []
    name = "bench_exclusive_equal_b2_h16_n8192_d128"
    for label, path in (("lease 2 table", "spec/grad_check.json"),
                        ("lease 2 again", "head-again/grad_check.json"),
                        ("lease 2 fwd call", "head-first/grad_check.json")):
        for r in json.load(open(os.path.join(results, path))):
            if r["name"] == name and "bench" in r:
                out.append((label, r["bench"]["ratio_spa_to_flex_fwd_bwd"]))
    first = os.path.join(results, "first_lease_spec_summary.txt")
    for line in open(first):
        if name + ":" in line:
            tag = "lease 1 again" if line.startswith("again") else "lease 1 table"
            # The summary's lines were cut at 600 characters: read the key.
            m = re.search(r'"ratio_spa_to_flex_fwd_bwd": ([0-9.]+)', line)
            out.append((tag, float(m.group(1))))
    return out


def main():
    results, png = sys.argv[1], sys.argv[2]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in json.load(open(os.path.join(
        results, "fwd", "gpu_report_partial.json")))["bench"]
        if not r["name"].endswith("_mmasync")]
    labels = []
    for r in rows:
        m = re.fullmatch(r"bench_(\w+?)_b\d+.*", r["name"])
        labels.append(f"{m.group(1)}\nB{r['B']} H{r['H']} N{r['N']} D{r['D']}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(16, 5.5),
                                      gridspec_kw={"width_ratios": [3, 1]})
    x = range(len(rows))
    width = 0.2
    series = (("spa (band)", "spa_tflops", None),
              ("FlexAttention (band)", "flex_tflops", None),
              ("dense SDPA (cuDNN)", "dense_tflops", None),
              ("FA4 dense causal", None, "fa4_ms"))
    for i, (name, key, ms_key) in enumerate(series):
        values = []
        for r in rows:
            if key:
                values.append(r[key])
            else:  # FA4: dense FLOPs over its time
                dense = r["dense_tflops"] * r["dense_ms"]
                values.append(dense / r[ms_key] if r.get(ms_key) else 0)
        left.bar([j + (i - 1.5) * width for j in x], values, width, label=name)
    left.plot([j for j in x], [0.75 * r["dense_tflops"] for r in rows], "r_",
              markersize=18, label="#14 target: 75% of SDPA's")
    left.set_xticks(list(x), labels, rotation=60, ha="right", fontsize=7)
    left.set_ylabel("forward, useful TFLOP/s")
    left.legend(fontsize=8)
    ratios = headline_ratios(results)
    right.bar(range(len(ratios)), [r for _, r in ratios], color="tab:green")
    right.axhline(0.6, color="tab:red", linestyle="--", label="#11 floor (0.6x)")
    right.set_xticks(range(len(ratios)), [n for n, _ in ratios], rotation=45,
                     ha="right", fontsize=8)
    right.set_ylabel("spa / FlexAttention, fwd+bwd, headline")
    right.set_ylim(0, 0.8)
    right.legend(fontsize=8, loc="lower right")
    fig.suptitle("H100 80GB HBM3, 2026-12-06 (fourth session), bench_ms")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    main()
