"""Run-time lengths on the H200 (issue #14): each artifact compiled with
`seq_len=None` (one cubin) is run at several (Nq, Nk), outputs and
log-sum-exp against float64 (bench/gpu_device.py's reference and
tolerances), and the headline shape timed against its static twin in the
same process (bench_ms: L2 flushed, median). Staged by
bench/dynamic_lengths_prepare.py; run by bench/dynamic_lengths_device.sh.
"""

import argparse
import json
import os

import torch

from gpu_device import DT, TOL, compare, reference
from spa.runtime.cuda import CudaArtifact, CudaLayer
from spa.runtime.lengths import runtime_bands
from spa.runtime.timing import bench_ms


def check(art, layer, nq, nk, seed):
    torch.manual_seed(seed)
    dt = DT[layer["dtype"]]
    B, H, HKV = layer["batch"], layer["heads"], layer["kv_heads"]
    q = torch.randn(B, H, nq, layer["head_dim"], device="cuda", dtype=dt)
    k = torch.randn(B, HKV, nk, layer["head_dim"], device="cuda", dtype=dt)
    v = torch.randn(B, HKV, nk, layer["head_dim"], device="cuda", dtype=dt)
    outputs = [torch.full((B, H, nq, layer["head_dim"]), float("nan"),
                          device="cuda", dtype=dt),
               torch.full((B, H, nq), float("nan"), device="cuda",
                          dtype=torch.float32)]
    out, lse = art(q, k, v, outputs=outputs)
    torch.cuda.synchronize()
    bands = runtime_bands(layer["policy"], nk, H)
    ref_layer = dict(bands=bands, mode=layer["mode"],
                     scale=layer["head_dim"] ** -0.5)
    pairs = ([(0, 0), (0, H // 2), (B - 1, H - 1)]
             if B * H * nq * nk > 2**28 else
             [(b, h) for b in range(B) for h in range(H)])
    want_out, want_lse = reference(q, k, v, ref_layer, pairs)
    err, lse_err, nan = compare(out, lse, want_out, want_lse, pairs)
    ok = not nan and err <= TOL[layer["dtype"]] and lse_err <= 1e-3
    return dict(name=layer["name"], nq=nq, nk=nk, error=err,
                lse_error=lse_err, nan=nan, ok=ok)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--out", default="/tmp/out")
    p.add_argument("--only", default=None)
    p.add_argument("--no-bench", action="store_true")
    p.add_argument("--bench-only", action="store_true")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    plan = json.load(open(os.path.join(a.dir, "plan.json")))
    results = []
    for i, layer in enumerate(plan["layers"]):
        if a.bench_only or (a.only and layer["name"] != a.only):
            continue
        art = CudaLayer(CudaArtifact.load(os.path.join(a.dir, layer["name"])))
        for j, (nq, nk) in enumerate(layer["lengths"]):
            r = check(art, layer, nq, nk, seed=1000 * i + j)
            results.append(r)
            print(("PASS " if r["ok"] else "FAIL ") + json.dumps(r),
                  flush=True)
    if not a.no_bench and not a.only:
        for pair in plan.get("bench", []):
            layer = pair["layer"]
            dt = DT[layer["dtype"]]
            n, B, H, D = layer["n"], layer["batch"], layer["heads"], \
                layer["head_dim"]
            q, k, v = (torch.randn(B, H, n, D, device="cuda", dtype=dt)
                       for _ in range(3))
            row = dict(shape=[B, H, n, D], policy=layer["policy"])
            for kind in ("dynamic", "static"):
                art = CudaLayer(CudaArtifact.load(os.path.join(
                    a.dir, pair[kind])))
                art(q, k, v)
                row[kind + "_ms"] = bench_ms(lambda: art(q, k, v)).median
            row["dynamic_over_static"] = row["dynamic_ms"] / row["static_ms"]
            results.append(row)
            print("bench " + json.dumps(row), flush=True)
    json.dump(results, open(os.path.join(a.out, "dynamic.json"), "w"),
              indent=1)
    bad = [r for r in results if "ok" in r and not r["ok"]]
    print(f"{len(results)} results, {len(bad)} failed")
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
