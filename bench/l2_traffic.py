#!/usr/bin/env python3
"""Bytes the GPU kernels move from L2 into the SMs for one layer, by
arithmetic on the band plan (no GPU): each visited tile pair brings its
streamed tiles into shared memory once (TMA), so a kernel's L2 -> SM
traffic is (tile pairs visited) x (bytes of the tiles streamed per pair).
With measured times (ms) it gives the rates, the reading of
docs/forward-plan.md ("A second reading") and docs/benchmarks.md step 7b.

    PYTHONPATH=build/python_packages .venv/bin/python bench/l2_traffic.py --policy exclusive_equal --batch 2 \\
        --heads 16 --seq-len 8192 --head-dim 128 [--forward-ms 0.114] \\
        [--dq-ms 0.073] [--dkdv-ms 0.250]

Rows: the forward with 64-row items (K and V tiles of 64 keys per pair) and
with 128-row items (the same tiles shared by two warpgroups), the stored dQ
kernel with 64- and 128-row items (a K tile per pair of its item, a dS tile
of 64 x 64 per 64-row pair), and the dK/dV kernel (a Q and a dO tile of 64
rows per pair of its 64-key item). Tile pairs come from spa.bands.plan's
report (full + partial tiles of each head, the cells the kernels visit).
"""
import argparse
import sys


def tile_pairs(spa, policy, heads, seq_len, rows, keys):
    plan = spa.bands.plan(policy, seq_len, heads, mode="causal",
                          query_len=seq_len, tile=(rows, keys))
    return sum(h["full_tiles"] + h["partial_tiles"]
               for h in plan.report["heads"])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policy", default="exclusive_equal")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=8192)
    parser.add_argument("--head-dim", type=int, default=128)
    parser.add_argument("--forward-ms", type=float)
    parser.add_argument("--forward128-ms", type=float)
    parser.add_argument("--dq-ms", type=float)
    parser.add_argument("--dq128-ms", type=float)
    parser.add_argument("--dkdv-ms", type=float)
    args = parser.parse_args()
    import spa
    b, d = args.batch, args.head_dim
    tile = 64 * d * 2  # one 64-row tile of width D, 2-byte elements
    score = 64 * 64 * 2  # one stored dS tile
    p64 = b * tile_pairs(spa, args.policy, args.heads, args.seq_len, 64, 64)
    p128 = b * tile_pairs(spa, args.policy, args.heads, args.seq_len, 128, 64)
    rows = [
        ("forward, 64-row items (K, V)", p64, p64 * 2 * tile,
         args.forward_ms),
        ("forward, 128-row items (K, V shared)", p128, p128 * 2 * tile,
         args.forward128_ms),
        ("dq_stored, 64-row items (K, dS)", p64, p64 * (tile + score),
         args.dq_ms),
        ("dq_stored, 128-row items (K shared, dS)", p128,
         p128 * tile + p64 * score, args.dq128_ms),
        ("dK/dV, 64-key items (Q, dO)", p64, p64 * 2 * tile, args.dkdv_ms),
    ]
    print(f"{args.policy} B{b} H{args.heads} N{args.seq_len} D{d}: "
          f"{p64} tile pairs of 64 x 64, {p128} of 128 x 64")
    print("| kernel | tile pairs | L2 -> SM MB | measured ms | TB/s |")
    print("|---|---|---|---|---|")
    for name, pairs, bytes_, ms in rows:
        rate = f"{bytes_ / (ms * 1e-3) / 1e12:.1f}" if ms else "-"
        print(f"| {name} | {pairs} | {bytes_ / 1e6:.0f} | {ms or '-'} "
              f"| {rate} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
