#!/usr/bin/env python3
"""spa.torch on the CPU over varying sequence lengths: a training step
(forward + backward of `spa.torch.attention`) at each of several lengths,
once with one compile per length (the configuration as the op sees it) and
once as spa.torch runs it (a closed-form policy compiled once with dynamic
lengths, `spa.torch.cpu.compiled_config`), in one process. Prints the
number of compiles, the total wall clock and each length's first step.

    PYTHONPATH=build/python_packages:python .venv/bin/python \\
        bench/torch_cpu_lengths.py
"""

import argparse
import time

import torch

import spa.torch as st
from spa.torch import cpu, plans


def run(label, lengths, heads, head_dim, policy):
    cpu._functions.clear()
    plans.clear()
    start = time.perf_counter()
    first = []
    for n in lengths:
        q, k, v = (torch.randn(1, heads, n, head_dim, requires_grad=True)
                   for _ in range(3))
        t = time.perf_counter()
        st.attention(q, k, v, policy=policy).sum().backward()
        first.append(round(time.perf_counter() - t, 2))
    total = time.perf_counter() - start
    print(f"{label}: {len(lengths)} lengths, {cpu._functions.misses} "
          f"compiles, {total:.1f} s; first step per length (s): {first}",
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="128,192,256,320,384,448,512,576")
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=32)
    ap.add_argument("--policy", default="local_plus_band")
    args = ap.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    shared = cpu.compiled_config
    cpu.compiled_config = lambda config: config
    run("one compile per length", lengths, args.heads, args.head_dim,
        args.policy)
    cpu.compiled_config = shared
    run("one dynamic-length compile", lengths, args.heads, args.head_dim,
        args.policy)


if __name__ == "__main__":
    main()
