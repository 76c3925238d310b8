#!/usr/bin/env python3
"""Twins beside their base layers, from the timing logs of
bench/gpu_device.py (`bench NAME spa X ms ...` lines, one log per round):
for each base benchmark layer, its time per round and each twin's time and
change against the base in the same round (twins are named <base>_<tag>,
e.g. _b4, _w8s2b2). Prints a markdown table; the median over rounds of the
change decides.

    python3 bench/twin_summary.py OUT/ftime_1.log OUT/ftime_2.log
"""
import re
import statistics
import sys

LINE = re.compile(r"^(?:r\d+ )?bench (\S+)\s+spa\s+([0-9.]+) ms")


def load(path):
    times = {}
    for line in open(path):
        m = LINE.match(line)
        if m:
            times[m.group(1)] = float(m.group(2))
    return times


def main(paths):
    rounds = [load(p) for p in paths]
    names = sorted(set().union(*rounds))
    # Base layers: bench_<policy>_b<B>_h<H>_n<N>_d<D>, nothing after.
    bases = [n for n in names
             if re.fullmatch(r"bench_[a-z_]+?_b\d+_h\d+_n\d+_d\d+", n)]
    print("| layer | twin | base ms (rounds) | twin ms (rounds) | median change |")
    print("|---|---|---|---|---|")
    for base in bases:
        for twin in [n for n in names if n.startswith(base + "_")]:
            pairs = [(r[base], r[twin]) for r in rounds
                     if base in r and twin in r]
            if not pairs:
                continue
            change = statistics.median(t / b - 1 for b, t in pairs)
            print(f"| {base[6:]} | {twin[len(base) + 1:]} "
                  f"| {' / '.join(f'{b:.3f}' for b, _ in pairs)} "
                  f"| {' / '.join(f'{t:.3f}' for _, t in pairs)} "
                  f"| {change:+.1%} |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
