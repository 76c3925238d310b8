#!/usr/bin/env python3
"""Runs one compiled forward + gradient layer of a grad sweep a few times,
for Nsight Compute to profile its kernels (issue #11: where the backward's
time goes). On the GPU machine:

    ncu --clock-control none --section SpeedOfLight --section WarpStateStats \\
        --kernel-name regex:'grad_1_(dkdv|dq)$' --launch-skip 2 --launch-count 2 \\
        python3 bench/profile_grad.py --dir SWEEP --variant w4k64
"""

import argparse
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

from spa.runtime.cuda import CudaArtifact, CudaLayer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    manifest = json.load(open(os.path.join(args.dir, "manifest.json")))
    shape = manifest["shape"]
    b, h, n, d = (shape["batch"], shape["heads"], shape["seq_len"],
                  shape["head_dim"])
    gen = torch.Generator(device="cuda").manual_seed(0)
    q, k, v, dout = (torch.randn(b, h, n, d, device="cuda",
                                 dtype=torch.bfloat16, generator=gen)
                     for _ in range(4))
    art = CudaArtifact.load(os.path.join(args.dir, args.variant))
    fwd, grd = CudaLayer(art, op=0), CudaLayer(art, op=1)
    for _ in range(args.calls):
        o, lse = fwd(q, k, v)
        grd(q, k, v, o, lse, dout)
    torch.cuda.synchronize()
    print("ran", args.variant, args.calls, "calls", flush=True)


if __name__ == "__main__":
    main()
