#!/usr/bin/env python3
"""Forward + backward on the SPEC.md shapes and policies (issue #11): the
markdown table and the plot for docs/benchmarks.md, from the BENCH lines of
bench/gpu_grad_check.py --bench (a log, or its grad_check.json).

    python3 bench/fwd_bwd_table.py RESULTS [--plot PNG] [--title TEXT]

Columns: spa forward, backward and both; FlexAttention (same band mask,
dynamic=False) and dense causal SDPA forward + backward; spa / Flex; the
useful TFLOP/s of spa and Flex (3.5 x 4 x D x admissible pairs) and SDPA's
dense TFLOP/s; FlashAttention-4 dense causal forward + backward and its
TFLOP/s where the run had it. Times in ms, all by bench_ms in one process.
"""
import argparse
import json
import re
import sys


def load(path):
    """name -> the timing dict of each bench layer."""
    rows = {}
    text = open(path).read()
    if path.endswith(".json"):
        for r in json.loads(text):
            if "bench" in r:
                rows[r["name"]] = r["bench"]
        return rows
    for line in text.splitlines():
        if line.startswith("BENCH "):
            name, payload = line[6:].split(": ", 1)
            rows[name] = json.loads(payload)
    return rows


def label(name):
    m = re.fullmatch(r"bench_(\w+?)_b(\d+)_h(\d+)_n(\d+)_d(\d+)(.*)", name)
    if not m:
        return name, ""
    policy, b, h, n, d, rest = m.groups()
    return policy + rest, f"B{b} H{h} N{n} D{d}"


def table(rows):
    fa4 = any("fa4_fwd_bwd" in t for t in rows.values())
    head = ("| shape | policy | spa fwd | spa bwd | spa fwd+bwd | Flex fwd+bwd "
            "| SDPA fwd+bwd | spa / Flex | spa useful TFLOP/s | Flex useful "
            "TFLOP/s | SDPA TFLOP/s |")
    columns = 11
    if fa4:
        head += " FA4 fwd+bwd | FA4 TFLOP/s |"
        columns += 2
    out = [head, "|" + "---|" * columns]
    for name, t in rows.items():
        policy, shape = label(name)
        if "exception" in t:
            out.append(f"| {shape} | {policy} | failed: {t['exception'][:60]} "
                       + "| " * (columns - 3) + "|")
            continue
        line = (
            f"| {shape} | {policy} | {t['spa_fwd']:.3f} | {t['spa_bwd']:.3f} "
            f"| {t['spa_fwd_bwd']:.3f} | {t['flex_fwd_bwd']:.3f} "
            f"| {t['sdpa_fwd_bwd']:.3f} | {t['ratio_spa_to_flex_fwd_bwd']:.2f} "
            f"| {t['spa_useful_tflops_fwd_bwd']:.0f} "
            f"| {t['flex_useful_tflops_fwd_bwd']:.0f} "
            f"| {t['sdpa_tflops_fwd_bwd']:.0f} |")
        if fa4:
            line += (f" {t['fa4_fwd_bwd']:.3f} | {t['fa4_tflops_fwd_bwd']:.0f} |"
                     if "fa4_fwd_bwd" in t else
                     f" {t.get('fa4_error', 'n/a')[:40]} | |")
        out.append(line)
    return "\n".join(out)


def plot(rows, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    good = {n: t for n, t in rows.items() if "exception" not in t}
    names = list(good)
    labels = ["{}\n{}".format(*label(n)) for n in names]
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 5.5))
    x = range(len(names))
    width = 0.38
    left.bar([i - width / 2 for i in x], [good[n]["spa_fwd_bwd"] for n in names],
             width, label="spa")
    left.bar([i + width / 2 for i in x],
             [good[n]["flex_fwd_bwd"] for n in names], width,
             label="FlexAttention (dynamic=False)")
    left.set_xticks(list(x), labels, rotation=60, ha="right", fontsize=7)
    left.set_ylabel("forward + backward, ms")
    left.legend(fontsize=8)
    ratios = [good[n]["ratio_spa_to_flex_fwd_bwd"] for n in names]
    right.bar(list(x), ratios, color="tab:green")
    right.axhline(0.6, color="tab:red", linestyle="--",
                  label="#11 floor at the headline (0.6x)")
    right.axhline(1.0, color="grey", linewidth=0.8)
    right.set_xticks(list(x), labels, rotation=60, ha="right", fontsize=7)
    right.set_ylabel("spa / FlexAttention, forward + backward")
    right.legend(fontsize=8, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results")
    parser.add_argument("--plot")
    parser.add_argument("--title", default="forward + backward, SPEC shapes")
    args = parser.parse_args()
    rows = load(args.results)
    if not rows:
        print(f"no BENCH rows in {args.results}", file=sys.stderr)
        return 1
    print(table(rows))
    if args.plot:
        plot(rows, args.plot, args.title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
