#!/usr/bin/env python3
"""The example layer on the GPU: B=1, 16 query heads over 4 key/value heads,
N=2048, D=64, bf16, local_plus_band.

    python examples/gpu_example.py --compile DIR   # needs the spa extension (MLIR)
    python examples/gpu_example.py --run DIR       # needs PyTorch + a CUDA GPU, no MLIR

--run checks the result against a float64 reference (max |out - ref| /
(1 + |ref|) <= 2e-2 for bf16) and times it next to dense causal SDPA.
"""
import argparse
import math
import os
import sys

LAYER = dict(batch=1, heads=16, kv_heads=4, seq_len=2048, head_dim=64,
             dtype="bf16", policy="local_plus_band")


def compile_layer(directory):
    import spa
    artifact = spa.compile(spa.LayerSpec(**LAYER), target="cuda:sm_90a")
    artifact.save(directory)
    print(f"compiled {LAYER} -> {directory} ({len(artifact.cubin)} byte "
          f"cubin, {artifact.kernel['grid'][0]} blocks of "
          f"{artifact.kernel['block'][0]} threads)")


def run_layer(directory):
    import torch
    import torch.nn.functional as F
    from spa.runtime.cuda import CudaArtifact, CudaLayer
    from spa.runtime.timing import bench_ms
    artifact = CudaArtifact.load(directory)
    layer = CudaLayer(artifact)
    b, h, hkv, n, d = (LAYER["batch"], LAYER["heads"], LAYER["kv_heads"],
                       LAYER["seq_len"], LAYER["head_dim"])
    torch.manual_seed(0)
    q = torch.randn(b, h, n, d, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(b, hkv, n, d, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(b, hkv, n, d, device="cuda", dtype=torch.bfloat16)
    out, lse = layer(q, k, v)
    # float64 reference with the table the compiler planned.
    bands = next(a for a in artifact.kernel["args"] if a["name"] == "bounds")
    bounds = torch.tensor(bands["values"]).reshape(bands["shape"])
    dist = (torch.arange(n)[:, None] - torch.arange(n)[None, :]).cuda()
    err = 0.0
    for head in range(h):
        mask = torch.zeros(n, n, dtype=torch.bool, device="cuda")
        for lo, hi in bounds[head].tolist():
            mask |= (dist >= lo) & (dist < hi)
        s = (q[0, head].double() @ k[0, head // (h // hkv)].double().T)
        s = (s / math.sqrt(d)).masked_fill(~mask, float("-inf"))
        ref = torch.softmax(s, -1).nan_to_num(0.0) @ v[0, head // (h // hkv)].double()
        err = max(err, float(((out[0, head].double() - ref).abs() /
                              (1 + ref.abs())).max()))

    spa_ms = bench_ms(lambda: layer(q, k, v)).median
    dense_ms = bench_ms(lambda: F.scaled_dot_product_attention(
        q, k, v, is_causal=True, enable_gqa=True)).median
    ok = err <= 2e-2
    print(f"{torch.cuda.get_device_name()}: spa {spa_ms:.3f} ms, dense causal "
          f"SDPA {dense_ms:.3f} ms ({dense_ms / spa_ms:.1f}x); max error vs "
          f"float64 {err:.2e} (tolerance 2e-2): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compile", metavar="DIR")
    parser.add_argument("--run", metavar="DIR")
    args = parser.parse_args()
    if args.compile:
        compile_layer(args.compile)
    if args.run:
        return run_layer(args.run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
