#!/usr/bin/env python3
"""Compile kernel-configuration variants of the benchmark layers here, for
bench/gpu_device.py to time on the GPU machine: each variant is one
(warps, stages, mma, tile_k) on B=2 H=16 N=8192 D=128 and B=4 H=16 N=4096
D=64, bf16, exclusive_equal and local_plus_band.

    PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_variants.py \\
        --out .device/variants w4s1 w4s2 w4s3 w8s2
"""
import argparse
import json
import os
import re
import sys

SHAPES = [(2, 16, 8192, 128), (4, 16, 4096, 64)]
POLICIES = ["exclusive_equal", "local_plus_band"]


def parse_variant(text):
    """w<warps>s<stages>[k<tile_k>][-mmasync]"""
    m = re.fullmatch(r"w(\d+)s(\d+)(?:k(\d+))?(-mmasync)?", text)
    if not m:
        raise SystemExit(f"bad variant '{text}' (expected e.g. w4s2, "
                         "w4s1k128, w4s1-mmasync)")
    return dict(warps=int(m[1]), stages=int(m[2]), tile_k=int(m[3] or 64),
                mma="mma.sync" if m[4] else "auto")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=".device/variants")
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()
    import spa
    from gpu_prepare import compile_layer
    manifest = []
    for text in args.variants:
        v = parse_variant(text)
        for b, h, n, d in SHAPES:
            for policy in POLICIES:
                layer = dict(
                    name=f"bench_{policy}_b{b}_h{h}_n{n}_d{d}_{text}",
                    batch=b, heads=h, kv_heads=h, seq_len=n, query_len=n,
                    head_dim=d, value_dim=d, dtype="bf16", policy=policy,
                    mode="causal", with_lse=True, bench=True, **v)
                compile_layer(spa, layer, args.out, "sm_90a")
                manifest.append(layer)
                print(f"{layer['name']:50s} {layer['mma']:8s} "
                      f"{layer['shared_bytes']} B shared", flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
