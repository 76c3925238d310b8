#!/usr/bin/env python3
"""Compile the GPU correctness matrix and benchmark layers here (MLIR), for
bench/gpu_device.py to run on the GPU machine (no MLIR there).

Writes DIR/<name>/{kernel.cubin, kernel.ptx, launch.json} and DIR/manifest.json
with each layer's shapes, dtype, band table, scale and useful pairs.

    PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_prepare.py --out .device/spa
"""
import argparse
import json
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, batch, heads, kv_heads, seq_len, query_len, head_dim, value_dim,
# dtype, policy, mode, with_lse, bench
CHECKS = [
    ("ee_bf16_d64_n1000", 1, 8, 8, 1000, 1000, 64, 64, "bf16", "exclusive_equal", "causal", True),
    ("lpb_f16_d128_gqa_nq500", 2, 4, 2, 777, 500, 128, 128, "f16", "local_plus_band", "causal", True),
    ("sw_bf16_bidir_n64", 1, 3, 3, 64, 64, 64, 64, "bf16", "sliding_window", "bidirectional", True),
    ("dense_bf16_nq300_nk200", 1, 2, 1, 200, 300, 128, 128, "bf16", "dense_causal", "causal", True),
    ("ee_bf16_n1", 1, 1, 1, 1, 1, 64, 64, "bf16", "exclusive_equal", "causal", True),
    ("gh_bf16_empty_heads", 1, 16, 4, 20, 20, 64, 64, "bf16", "gapped_half", "causal", True),
    ("pb_bf16_n2048", 1, 16, 16, 2048, 2048, 64, 64, "bf16", "pair_balanced", "causal", False),
    ("tb_f16_n2047_dv64", 1, 16, 8, 2047, 2047, 128, 64, "f16", "tile_balanced", "causal", True),
    ("lpb_bf16_bidir_n513", 1, 4, 4, 513, 513, 64, 64, "bf16", "local_plus_band", "bidirectional", False),
]
BENCH_SHAPES = [(4, 16, 4096, 64), (2, 16, 8192, 128), (1, 32, 16384, 128)]
BENCH_POLICIES = ["exclusive_equal", "local_plus_band", "pair_balanced",
                  "tile_balanced"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.path.join(ROOT, ".device", "spa"))
    parser.add_argument("--chip", default="sm_90a")
    parser.add_argument("--no-bench", action="store_true")
    args = parser.parse_args()
    import spa

    layers = [dict(name=c[0], batch=c[1], heads=c[2], kv_heads=c[3],
                   seq_len=c[4], query_len=c[5], head_dim=c[6], value_dim=c[7],
                   dtype=c[8], policy=c[9], mode=c[10], with_lse=c[11],
                   bench=False) for c in CHECKS]
    if not args.no_bench:
        for b, h, n, d in BENCH_SHAPES:
            for policy in BENCH_POLICIES:
                layers.append(dict(
                    name=f"bench_{policy}_b{b}_h{h}_n{n}_d{d}", batch=b,
                    heads=h, kv_heads=h, seq_len=n, query_len=n, head_dim=d,
                    value_dim=d, dtype="bf16", policy=policy, mode="causal",
                    with_lse=True, bench=True))
    manifest = []
    for layer in layers:
        start = time.time()
        spec = spa.LayerSpec(
            batch=layer["batch"], heads=layer["heads"],
            kv_heads=layer["kv_heads"], seq_len=layer["seq_len"],
            query_len=layer["query_len"], head_dim=layer["head_dim"],
            value_dim=layer["value_dim"], dtype=layer["dtype"],
            policy=layer["policy"], mode=layer["mode"],
            with_lse=layer["with_lse"])
        artifact = spa.compile(spec, target=f"cuda:{args.chip}")
        artifact.save(os.path.join(args.out, layer["name"]))
        plan = spa.bands.plan(layer["policy"], layer["seq_len"],
                              layer["heads"], mode=layer["mode"],
                              query_len=layer["query_len"], tile=(64, 64))
        kernel = artifact.kernel
        layer.update(
            bands=plan.heads, scale=1.0 / math.sqrt(layer["head_dim"]),
            pairs=plan.report["total_pairs"] * layer["batch"],
            work_items=kernel["grid"][0])
        # The kernel must use exactly the planner's table.
        assert kernel["bands"] == plan.to_attr(), (kernel["bands"],
                                                   plan.to_attr())
        manifest.append(layer)
        print(f"{layer['name']:40s} {time.time() - start:5.1f} s, "
              f"{len(artifact.cubin)} B cubin, {kernel['grid'][0]} blocks",
              flush=True)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"wrote {len(manifest)} layers to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
