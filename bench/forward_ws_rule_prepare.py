#!/usr/bin/env python3
"""Compiles (here, with MLIR) the forward layers that test a rule for
forward_schedule=auto taking the warp-specialised kernel: D = 128 bf16
causal shapes spread over the mean number of keys a query row reaches
(dense causal 4096 ... local_plus_band at H = 32, 373), each as the serial
kernel and its ws twins at warps 4 and 8; bench/gpu_device.py --no-check
times them against FlexAttention in one process. The SPEC benchmark shapes
were timed the same way (docs/benchmarks.md, "The warp-specialised forward
on every SPEC benchmark shape"); only local_plus_band at D = 128 (722-745
keys a row) gained there.

    PYTHONPATH=build/python_packages .venv/bin/python bench/forward_ws_rule_prepare.py --out .device/fwsr/spa
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_prepare import compile_layers  # noqa: E402

# (batch, heads, seq_len, policy): mean keys a row 4096, 1024, 512, 497,
# 373, 361 (spa.bands.plan(...).report["total_pairs"] / (heads seq_len)).
SHAPES = [(2, 16, 8192, "dense_causal"), (2, 4, 8192, "exclusive_equal"),
          (2, 8, 8192, "exclusive_equal"), (2, 16, 8192, "sliding_window"),
          (2, 32, 8192, "local_plus_band"), (4, 16, 4096, "local_plus_band")]
# --second: what the first call left open (docs/benchmarks.md): one more
# single-interval policy, and explicit tables of three intervals a head
# (the distances [0, N) cut in 3 H pieces, piece k to head k % H: every
# distance once), narrow (H = 16) and wide (H = 4).
SECOND = [(2, 16, 8192, "gapped_half"), (2, 16, 8192, "table3"),
          (2, 4, 8192, "table3")]


def three_interval_table(heads, seq_len):
    cuts = [round(k * seq_len / (3 * heads)) for k in range(3 * heads + 1)]
    return [[(cuts[k], cuts[k + 1]) for k in range(h, 3 * heads, heads)]
            for h in range(heads)]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chip", default="sm_90a")
    parser.add_argument("--second", action="store_true",
                        help="the second call's shapes (SECOND)")
    args = parser.parse_args()
    import spa
    layers = []
    for b, h, n, policy in SECOND if args.second else SHAPES:
        base = dict(batch=b, heads=h, kv_heads=h, seq_len=n, query_len=n,
                    head_dim=128, value_dim=128, dtype="bf16", policy=policy,
                    mode="causal", with_lse=True, bench=True, mma="auto",
                    stages=0)
        if policy == "table3":
            base["table"] = three_interval_table(h, n)
        name = f"bench_{policy}_b{b}_h{h}_n{n}_d128"
        # The serial kernel by name: auto takes ws for some of these shapes.
        for suffix, extra in (("", dict(warps=4, forward_schedule="serial")),
                              ("_ws_w4", dict(warps=4, forward_schedule="ws")),
                              ("_ws", dict(warps=8, forward_schedule="ws"))):
            if args.second and suffix == "_ws":
                continue
            layers.append(dict(base, name=name + suffix, **extra))
    compile_layers(spa, layers, args.out, args.chip)


if __name__ == "__main__":
    sys.exit(main())
