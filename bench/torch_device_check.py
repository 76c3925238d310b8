#!/usr/bin/env python3
"""spa.torch on the GPU machine (PyTorch, no MLIR): the CUDA path of the
custom op against float64 and FlexAttention with the same mask, eager and
under torch.compile(fullgraph=True).

Prepare here (the compiler is needed; the kernels go to a git-ignored
folder that travels with the working tree):

    PYTHONPATH=build/python_packages .venv/bin/python -m spa.torch.precompile \\
        --configs bench/torch_device_configs.json --cache-dir .device/torch-cache

Run on the GPU machine:

    SPA_CACHE_DIR=.device/torch-cache PYTHONPATH=python \\
        python bench/torch_device_check.py --out $OUT

Per configuration of bench/torch_device_configs.json, with fresh random
q, k, v, dout (and a weight on lse):
- out, lse, dq, dk, dv of spa.torch.attention vs float64 autograd of the
  masked definition: err = max|x - ref| / (1 + max|ref|) <= TOL[dtype] or
  <= 2x FlexAttention's own error on the same inputs;
- FlexAttention (compiled, the same mask as a mask_mod over the band table)
  vs the same reference, reported;
- lse's gradient (a loss on out and lse) vs float64;
- torch.compile(fullgraph=True) (inductor) of a function calling the op:
  no graph break, the same values as eager.
Also the forward's launch overhead in a tight loop of small calls (us per
call, the issue's bound is 15 us; bench/torch_overhead.py breaks it down)
and the launch path (spa.torch.launch_path(): with the compiled launcher,
SPA_LAUNCHER_LIB=.device/launcher/libspa_launcher.so). Writes
OUT/torch_device_check.json; exit code 1 when a check fails.
"""

import argparse
import json
import math
import os
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))

import spa.torch as st  # noqa: E402
import torch_reference as tref  # noqa: E402
from spa.torch.precompile import config_from  # noqa: E402

TOL = {"bf16": 2e-2, "f16": 1e-2, "f32": 2e-3}  # f32 runs on tf32 cores
DT = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}


def err(x, ref):
    ref = ref.double()
    return ((x.double() - ref).abs().max() / (1 + ref.abs().max())).item()


def table_of(cfg):
    """The band table the kernels use (launch.json's, via the cache)."""
    if cfg.table() is not None:
        return cfg.table()
    from spa.torch.cache import _newest_build
    meta = json.load(open(os.path.join(_newest_build(cfg), "launch.json")))
    text = meta["kernels"][0]["bands"]
    import spa_reference
    return spa_reference.parse_bands(text)[1]


def flex_attention_fn(table, cfg, device):
    from torch.nn.attention.flex_attention import (create_block_mask,
                                                   flex_attention)
    dense = tref.band_mask(table, cfg.query_len, cfg.key_len,
                           cfg.mode).to(device)

    def mask_mod(b, h, q_idx, kv_idx):
        return dense[h, q_idx, kv_idx]
    block = create_block_mask(mask_mod, None, cfg.heads, cfg.query_len,
                              cfg.key_len, device=device)
    compiled = torch.compile(flex_attention, dynamic=False)

    def run(q, k, v):
        return compiled(q, k, v, block_mask=block, scale=cfg.scale,
                        enable_gqa=cfg.heads != cfg.kv_heads, return_lse=True)
    return run


def spa_call(cfg, table):
    kwargs = dict(mode=cfg.mode, scale=cfg.scale, return_lse=True)
    if cfg.policy:
        kwargs["policy"] = cfg.policy
    else:
        kwargs["bands"] = table
    return lambda q, k, v: st.attention(q, k, v, **kwargs)


def grads(fn, q, k, v, dout, w):
    q, k, v = (t.detach().clone().requires_grad_() for t in (q, k, v))
    out, lse = fn(q, k, v)
    lse_term = torch.where(torch.isfinite(lse), lse, torch.zeros_like(lse))
    loss = (out.double() * dout.double()).sum() + (lse_term.double()
                                                   * w).sum()
    dq, dk, dv = torch.autograd.grad(loss, (q, k, v))
    return out.detach(), lse.detach(), dq, dk, dv


def check(entry, device, report):
    cfg = config_from(entry)
    table = table_of(cfg)
    dt = DT[cfg.dtype]
    gen = torch.Generator(device=device).manual_seed(1234)

    def rnd(*shape):
        return torch.randn(*shape, generator=gen, device=device).to(dt)
    q = rnd(cfg.batch, cfg.heads, cfg.query_len, cfg.head_dim)
    k = rnd(cfg.batch, cfg.kv_heads, cfg.key_len, cfg.head_dim)
    v = rnd(cfg.batch, cfg.kv_heads, cfg.key_len, cfg.value_dim)
    dout = rnd(cfg.batch, cfg.heads, cfg.query_len, cfg.value_dim)
    w = torch.randn(cfg.batch, cfg.heads, cfg.query_len, generator=gen,
                    device=device, dtype=torch.float64)
    names = ("out", "lse", "dq", "dk", "dv")
    row = {"name": entry["name"], "config": cfg.describe()}

    ref = grads(lambda a, b, c: tref.attention(a, b, c, table, cfg.mode,
                                               cfg.scale), q, k, v, dout, w)
    spa = grads(spa_call(cfg, table), q, k, v, dout, w)
    finite = torch.isfinite(ref[1])
    ok = torch.equal(torch.isfinite(spa[1]), finite)
    row["lse_inf_rows_match"] = ok
    flex_err = {}
    try:
        flex = grads(flex_attention_fn(table, cfg, device), q, k, v, dout, w)
        for n, got, r in zip(names, flex, ref):
            flex_err[n] = err(got[finite] if n == "lse" else got,
                              r[finite] if n == "lse" else r)
        row["flex_vs_spa"] = {n: err(a[finite] if n == "lse" else a,
                                     b[finite] if n == "lse" else b)
                              for n, a, b in zip(names, spa, flex)}
    except Exception as e:  # noqa: BLE001 - reported; spa is still checked
        row["flex_error"] = f"{type(e).__name__}: {e}"[:300]
    row["flex_vs_float64"] = flex_err
    row["spa_vs_float64"] = {}
    for n, got, r in zip(names, spa, ref):
        e = err(got[finite] if n == "lse" else got,
                r[finite] if n == "lse" else r)
        row["spa_vs_float64"][n] = e
        bound = max(TOL[cfg.dtype], 2 * flex_err.get(n, 0.0))
        ok &= math.isfinite(e) and e <= bound

    # torch.compile(fullgraph=True), inductor: no graph break, same values.
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(spa_call(cfg, table), fullgraph=True)
    comp = grads(compiled, q, k, v, dout, w)
    row["compile_graph_breaks"] = sum(counters["graph_break"].values())
    row["compile_vs_eager"] = {n: err(a[finite] if n == "lse" else a,
                                      b[finite] if n == "lse" else b)
                               for n, a, b in zip(names, comp, spa)}
    ok &= row["compile_graph_breaks"] == 0
    ok &= all(e <= TOL[cfg.dtype] for e in row["compile_vs_eager"].values())
    row["ok"] = bool(ok)
    report.append(row)
    print(f"{'ok  ' if ok else 'FAIL'} {entry['name']:30s} spa " +
          " ".join(f"{n}={e:.1e}" for n, e in row["spa_vs_float64"].items())
          + "  flex " + " ".join(f"{n}={e:.1e}" for n, e in flex_err.items())
          + f"  compile breaks={row['compile_graph_breaks']}", flush=True)
    return ok


def overhead(entry, device, calls=2000):
    cfg = config_from(entry)
    q = torch.randn(cfg.batch, cfg.heads, cfg.query_len, cfg.head_dim,
                    device=device, dtype=DT[cfg.dtype])
    fn = spa_call(cfg, cfg.table())
    with torch.no_grad():
        for _ in range(20):
            fn(q, q, q)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(calls):
            fn(q, q, q)
        host = (time.perf_counter() - start) / calls * 1e6
        torch.cuda.synchronize()
        total = (time.perf_counter() - start) / calls * 1e6
    return {"us_per_call_host": host, "us_per_call_with_sync": total}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.
                                     RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=os.path.join(
        ROOT, "bench", "torch_device_configs.json"))
    parser.add_argument("--out", default=".")
    parser.add_argument("--only", help="run the configs whose name has this")
    args = parser.parse_args()
    device = torch.device("cuda", 0)
    entries = json.load(open(args.configs))
    report, ok = [], True
    for entry in entries:
        if args.only and args.only not in entry["name"]:
            continue
        try:
            ok &= check(entry, device, report)
        except Exception as e:  # noqa: BLE001 - one config must not hide others
            ok = False
            report.append({"name": entry["name"], "ok": False,
                           "error": f"{type(e).__name__}: {e}"[:2000]})
            print(f"FAIL {entry['name']}: {type(e).__name__}: {e}",
                  flush=True)
    small = [e for e in entries if e["name"] == "tiny_bf16_overhead"]
    result = {"torch": torch.__version__,
              "device": torch.cuda.get_device_name(device),
              "launch_path": st.launch_path(),
              "checks": report}
    print("launch path:", result["launch_path"], flush=True)
    if small:
        result["launch_overhead"] = overhead(small[0], device)
        print("launch overhead:", result["launch_overhead"])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "torch_device_check.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"{sum(r['ok'] for r in report)}/{len(report)} configurations ok")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
