"""Stages the run-time-length artifacts for bench/dynamic_lengths_device.py
(issue #14): each layer compiled once with seq_len=None, the lengths the
device runs it at, and a static twin of the headline shape for timing.
Usage: bench/dynamic_lengths_prepare.py --out .device/dyn/spa
"""

import argparse
import json
import os

import spa

LAYERS = [
    # name, dtype, batch, heads, kv heads, D, policy, mode, options, lengths
    ("ee_bf16_d128_h16", "bf16", 2, 16, 16, 128, "exclusive_equal", "causal",
     {}, [(8192, 8192), (4097, 4097), (1000, 1000), (1, 1), (1, 4096)]),
    ("lpb_f16_d128_gqa", "f16", 1, 4, 2, 128, "local_plus_band", "causal",
     {}, [(1, 1), (1, 777), (100, 100), (333, 333), (500, 1000),
          (2048, 2048), (3, 2)]),
    ("lpb_bf16_d64_w8_notma", "bf16", 2, 4, 4, 64, "local_plus_band",
     "causal", {"tma": False, "warps": 8},
     [(1, 1), (65, 65), (300, 700), (1024, 1024)]),
    ("ee_bf16_d64_bidir", "bf16", 1, 4, 2, 64, "exclusive_equal",
     "bidirectional", {}, [(1, 1), (200, 333), (777, 777)]),
    ("ee_f32_d64_tf32", "f32", 1, 4, 4, 64, "exclusive_equal", "causal",
     {}, [(1, 1), (100, 100), (513, 513)]),
    ("sw_bf16_d128_overlap", "bf16", 1, 4, 4, 128, "local_plus_band",
     "causal", {"forward_schedule": "overlap"}, [(50, 50), (1500, 1500)]),
    ("lpb_bf16_d128_gqa_ws", "bf16", 1, 4, 2, 128, "local_plus_band",
     "causal", {"forward_schedule": "ws", "warps": 8},
     [(1, 1), (70, 70), (300, 700), (1500, 1500)]),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    plan = {"layers": [], "bench": []}
    for (name, dtype, batch, heads, kv, d, policy, mode, options,
         lengths) in LAYERS:
        layer = spa.LayerSpec(heads=heads, kv_heads=kv, seq_len=None,
                              head_dim=d, batch=batch, dtype=dtype,
                              policy=policy, mode=mode)
        art = spa.compile(layer.to_mlir(), target="cuda:sm_90a", **options)
        art.save(os.path.join(a.out, name))
        plan["layers"].append(dict(
            name=name, dtype=dtype, batch=batch, heads=heads, kv_heads=kv,
            head_dim=d, policy=policy, mode=mode, options=options,
            lengths=lengths))
        print("staged", name, flush=True)
    static = spa.LayerSpec(heads=16, seq_len=8192, head_dim=128, batch=2,
                           dtype="bf16", policy="exclusive_equal")
    spa.compile(static.to_mlir(), target="cuda:sm_90a").save(
        os.path.join(a.out, "ee_bf16_d128_h16_static8192"))
    plan["bench"].append(dict(
        dynamic="ee_bf16_d128_h16", static="ee_bf16_d128_h16_static8192",
        layer=dict(dtype="bf16", n=8192, batch=2, heads=16, head_dim=128,
                   policy="exclusive_equal")))
    json.dump(plan, open(os.path.join(a.out, "plan.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
