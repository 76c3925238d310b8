#!/usr/bin/env python3
"""Time spa's forward, backward and forward + backward of compiled
forward+gradient artifacts (bench/gpu_grad_prepare.py --bench) with
`spa.runtime.timing.bench_ms`, one line per artifact; no baselines (those
are in gpu_grad_check.py --bench, which compiles FlexAttention first).

    PYTHONPATH=python python3 bench/gpu_grad_time.py --dir ART --out OUT NAME...
"""
import argparse
import json
import os
import sys

import torch

from spa.runtime.cuda import CudaArtifact, CudaLayer
from spa.runtime.timing import bench_ms

DT = {"bf16": torch.bfloat16, "f16": torch.float16}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("names", nargs="+")
    args = parser.parse_args()
    with open(os.path.join(args.dir, "manifest.json")) as f:
        manifest = {layer["name"]: layer for layer in json.load(f)}
    results = {}
    for name in args.names:
        layer = manifest[name]
        art = CudaArtifact.load(os.path.join(args.dir, name))
        fwd, grad = CudaLayer(art, op=0), CudaLayer(art, op=1)
        b, h, hk = layer["batch"], layer["heads"], layer["kv_heads"]
        nq, nk = layer["query_len"], layer["seq_len"]
        d, dv, dt = layer["head_dim"], layer["value_dim"], DT[layer["dtype"]]
        gen = torch.Generator(device="cuda").manual_seed(0)
        q = torch.randn(b, h, nq, d, device="cuda", dtype=dt, generator=gen)
        k = torch.randn(b, hk, nk, d, device="cuda", dtype=dt, generator=gen)
        v = torch.randn(b, hk, nk, dv, device="cuda", dtype=dt, generator=gen)
        dout = torch.randn(b, h, nq, dv, device="cuda", dtype=dt,
                           generator=gen)
        o, lse = fwd(q, k, v)
        t_fwd = bench_ms(lambda: fwd(q, k, v))
        t_bwd = bench_ms(lambda: grad(q, k, v, o, lse, dout))

        def both():
            o2, l2 = fwd(q, k, v)
            return grad(q, k, v, o2, l2, dout)
        t_both = bench_ms(both)
        results[name] = dict(
            fwd_ms=t_fwd.median, bwd_ms=t_bwd.median,
            fwd_bwd_ms=t_both.median, fwd_bwd_p20=t_both.p20,
            fwd_bwd_p80=t_both.p80,
            mma={kk["role"]: kk["mma"] for kk in art.metadata["kernels"]},
            registers=grad.kernel_registers)
        print(f"TIME {name}: {json.dumps(results[name])}", flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "grad_time.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
