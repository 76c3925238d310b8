#!/usr/bin/env python3
"""Backward tile-shape sweep on the GPU machine (issue #11): for each
artifact directory (one layer compiled with different warps / tile-k by
bench/grad_sweep_prepare.py), the gradient op's time by bench_ms and each
of its kernels' time from the CUDA profiler, and the largest difference of
dq, dk, dv from the first variant's (which bench/gpu_grad_check.py checks
against float64 on the same shapes).

    python bench/grad_sweep.py --dir .device/sweep --out $OUT
"""

import argparse
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

from spa.runtime.cuda import CudaArtifact, CudaLayer  # noqa: E402
from spa.runtime.timing import bench_ms  # noqa: E402


def sweep_inputs(shape):
    """q, k, v, dO of a sweep's shape (manifest.json `shape`): bf16 normal,
    seeded, so that every script of a sweep times the same inputs."""
    b, h, n, d = (shape[k] for k in ("batch", "heads", "seq_len",
                                     "head_dim"))
    gen = torch.Generator(device="cuda").manual_seed(0)
    return tuple(torch.randn(b, h, n, d, device="cuda", dtype=torch.bfloat16,
                             generator=gen) for _ in range(4))


def load_variant(directory, name=None):
    """Sweep `directory`'s shape, its inputs (sweep_inputs), and the
    forward and gradient layers of variant `name` (default: the first)."""
    manifest = json.load(open(os.path.join(directory, "manifest.json")))
    variant = next(v for v in manifest["variants"]
                   if name in (None, v["name"]))
    art = CudaArtifact.load(os.path.join(directory, variant["name"]))
    return (manifest["shape"], sweep_inputs(manifest["shape"]),
            CudaLayer(art, op=0), CudaLayer(art, op=1))


def profiled(fn, reps):
    """The CUDA profiler over `reps` calls of fn (after one unprofiled)."""
    from torch.profiler import ProfilerActivity, profile
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(reps):
            fn()
        torch.cuda.synchronize()
    return prof


def kernel_times(fn, reps=10):
    """Mean device time (ms) per call of each kernel `fn` launches."""
    prof = profiled(fn, reps)
    times = {}
    for event in prof.key_averages():
        total = getattr(event, "device_time_total", None)
        if total is None:
            total = event.cuda_time_total
        if total:
            times[event.key] = total / reps / 1e3
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest = json.load(open(os.path.join(args.dir, "manifest.json")))
    shape = manifest["shape"]
    q, k, v, dout = sweep_inputs(shape)
    reference = None
    results = []
    for variant in manifest["variants"]:
        art = CudaArtifact.load(os.path.join(args.dir, variant["name"]))
        fwd, grd = CudaLayer(art, op=0), CudaLayer(art, op=1)
        o, lse = fwd(q, k, v)
        grads = grd(q, k, v, o, lse, dout)
        torch.cuda.synchronize()
        if reference is None:
            reference = [g.float() for g in grads]
            diff = 0.0
        else:
            diff = max((g.float() - r).abs().max().item()
                       for g, r in zip(grads, reference))
        row = dict(variant, fwd_ms=bench_ms(lambda: fwd(q, k, v)).median,
                   bwd_ms=bench_ms(lambda: grd(q, k, v, o, lse, dout)).median,
                   kernels_ms=kernel_times(lambda: grd(q, k, v, o, lse, dout)),
                   registers=grd.kernel_registers, max_diff_vs_first=diff,
                   finite=all(bool(torch.isfinite(g).all()) for g in grads))
        print(json.dumps(row), flush=True)
        results.append(row)
    with open(os.path.join(args.out, "grad_sweep.json"), "w") as f:
        json.dump(dict(shape=shape, device=torch.cuda.get_device_name(),
                       torch=torch.__version__, results=results), f, indent=1)


if __name__ == "__main__":
    main()
