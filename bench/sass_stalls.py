#!/usr/bin/env python3
"""Summarises Nsight Compute's per-instruction warp-stall sampling (the
source page exported as CSV with --print-source sass, as
bench/profile_sass_device.sh writes it): the stall reasons over the whole
kernel, the opcodes that collect the samples, and the hottest instructions
with their neighbours, so that one can see where a kernel waits.

    python3 bench/sass_stalls.py forward_sass.csv[.gz] [--top 25]

Recorded: bench/results/gpu-2026-12-03-h200-sass-stalls/ (docs/benchmarks.md,
"Where the kernels wait").
"""

import argparse
import collections
import csv
import gzip


def read_rows(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        lines = f.read().splitlines()
    # The first line names the kernel; the second is the header.
    reader = csv.DictReader(lines[1:])
    return [row for row in reader if row.get("Source")]


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("csv")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--context", type=int, default=0,
                        help="instructions shown before each hot one")
    args = parser.parse_args()
    rows = read_rows(args.csv)
    samples = [number(r["Warp Stall Sampling (All Samples)"]) for r in rows]
    total = sum(samples) or 1.0
    reasons = [k for k in rows[0] if k.startswith("stall_") and "Not Issued" not in k]
    by_reason = {k: sum(number(r[k]) for r in rows) for k in reasons}
    print(f"{len(rows)} instructions, {int(total)} samples")
    print("stall reasons:", ", ".join(
        f"{k[6:]} {100 * v / total:.1f}%" for k, v in
        sorted(by_reason.items(), key=lambda kv: -kv[1]) if v / total >= 0.005))
    by_opcode = collections.Counter()
    for row, count in zip(rows, samples):
        opcode = row["Source"].split()[0]
        if opcode.startswith("@"):
            opcode = row["Source"].split()[1]
        by_opcode[opcode.split(".")[0]] += count
    print("by opcode:", ", ".join(f"{k} {100 * v / total:.1f}%"
                                  for k, v in by_opcode.most_common(14)))
    hot = sorted(range(len(rows)), key=lambda i: -samples[i])[:args.top]
    for i in sorted(hot):
        top_reasons = sorted(((number(rows[i][k]), k[6:]) for k in reasons), reverse=True)[:2]
        why = " ".join(f"{k}={int(v)}" for v, k in top_reasons if v)
        for j in range(max(0, i - args.context), i):
            print(f"      {j:5d}        {rows[j]['Source'].strip()}")
        print(f"{100 * samples[i] / total:5.1f}% {i:5d} {rows[i]['Source'].strip():60s} {why}")


if __name__ == "__main__":
    main()
