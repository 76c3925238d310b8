#!/usr/bin/env python3
"""Runs one compiled forward layer (a `bench/gpu_prepare.py` artifact folder)
a few times, for Nsight Compute to profile its kernel (issue #14: where the
forward's time goes). On the GPU machine:

    ncu --clock-control none --section SpeedOfLight --section WarpStateStats \\
        --kernel-name regex:'spa_attention_0$' --launch-skip 1 --launch-count 1 \\
        python3 bench/profile_forward.py --dir spa/bench_exclusive_equal_b2_h16_n8192_d128
"""

import argparse
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

from spa.runtime.cuda import CudaArtifact, CudaLayer  # noqa: E402

DTYPES = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True, help="one artifact folder")
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--dense-sdpa", action="store_true",
                        help="run PyTorch's dense causal SDPA on the layer's "
                        "shape instead (the reference kernel to profile)")
    args = parser.parse_args()
    contract = json.load(open(os.path.join(args.dir, "launch.json")))
    kernel = next(k for k in contract["kernels"] if k.get("role") == "forward")
    inputs = {a["name"]: a for a in kernel["args"] if a["kind"] == "input"}
    gen = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (torch.randn(*inputs[name]["shape"], device="cuda",
                           dtype=DTYPES[inputs[name]["dtype"]], generator=gen)
               for name in ("query", "key", "value"))
    if args.dense_sdpa:
        def layer(q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(
                q, k, v, is_causal=True)
    else:
        layer = CudaLayer(CudaArtifact.load(args.dir), op=kernel.get("op", 0))
    for _ in range(args.calls):
        layer(q, k, v)
    torch.cuda.synchronize()
    print("ran", os.path.basename(args.dir), args.calls, "calls", flush=True)


if __name__ == "__main__":
    main()
