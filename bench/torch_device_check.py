#!/usr/bin/env python3
"""spa.torch on the GPU machine (PyTorch, no MLIR): the CUDA path of the
custom op against float64 and FlexAttention with the same mask, eager and
under torch.compile(fullgraph=True).

Prepare here (the compiler is needed; the kernels go to a git-ignored
folder that travels with the working tree):

    PYTHONPATH=build/python_packages .venv/bin/python -m spa.torch.precompile \\
        --configs bench/torch_device_configs.json --cache-dir .device/torch-cache

and the strided cases (their list is written from STRIDED_CASES here):

    .venv/bin/python bench/torch_device_check.py \\
        --write-strided-configs bench/torch_device_strided.json
    PYTHONPATH=build/python_packages .venv/bin/python -m spa.torch.precompile \\
        --configs bench/torch_device_strided.json --cache-dir .device/torch-cache

Run on the GPU machine:

    SPA_CACHE_DIR=.device/torch-cache PYTHONPATH=python \\
        python bench/torch_device_check.py --out $OUT
    SPA_CACHE_DIR=.device/torch-cache PYTHONPATH=python \\
        python bench/torch_device_check.py \\
        --configs bench/torch_device_strided.json --out $OUT/strided

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
Entries with a `layout` (torch_device_strided.json) are strided views
(strided_check): q, k, v as a model passes them (token-major, slices of a
fused qkv projection, padded rows; unusable strides and a misaligned
pointer that spa copies), against float64, bitwise against the contiguous
path, with out and the gradients in the documented layouts, and compiled.
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


# ------------------------------------------------------ strided q, k, v

def layout_bases(cfg, layout, make):
    """The tensors (leaves) `layout_views` takes its views of, fresh from
    `make(*shape)`."""
    b, hq, hk = cfg.batch, cfg.heads, cfg.kv_heads
    nq, nk, d, dv = cfg.query_len, cfg.key_len, cfg.head_dim, cfg.value_dim
    if layout == "padded":
        return (make(b, nq, hq, d + 16), make(b, nk, hk, d + 16),
                make(b, nk, hk, dv + 16))
    if layout == "fused":
        if nq != nk:
            raise ValueError("a fused projection needs Nq == Nk")
        return (make(b, nq, hq * d + hk * d + hk * dv),)
    extra = {"model": 0, "unaligned": 4, "offset": 8}[layout]
    return (make(b, nq, hq, d), make(b, nk, hk, d),
            make(b, nk, hq * d + hk * d + hk * dv + extra))


def layout_views(cfg, layout, bases):
    """q, k, v as views of `bases`, the way models call attention:
    - model: q, k token-major (`x.view(b, n, h, d).transpose(1, 2)`), v a
      slice of a fused qkv projection [B, N, (Hq + 2 Hkv) D];
    - fused: q, k and v all slices of one fused projection;
    - padded: token-major with 16 unused elements after every row;
    - unaligned: as model, but the fused row has 4 extra elements, so v's
      token stride is not a multiple of 16 bytes (spa copies v);
    - offset: as model, v's slice starts 4 elements late (strides usable,
      data pointer not 16-byte aligned: spa copies v into its layout)."""
    hq, hk = cfg.heads, cfg.kv_heads
    d, dv = cfg.head_dim, cfg.value_dim
    if layout == "padded":
        return tuple(t[..., :w].transpose(1, 2)
                     for t, w in zip(bases, (d, d, dv)))
    if layout == "fused":
        (base,) = bases
        return (base[..., :hq * d].unflatten(-1, (hq, d)).transpose(1, 2),
                base[..., hq * d:(hq + hk) * d].unflatten(
                    -1, (hk, d)).transpose(1, 2),
                base[..., (hq + hk) * d:].unflatten(
                    -1, (hk, dv)).transpose(1, 2))
    qb, kb, fused = bases
    start = (hq + hk) * d + (4 if layout == "offset" else 0)
    v = fused[..., start:start + hk * dv].unflatten(-1, (hk, dv))
    return qb.transpose(1, 2), kb.transpose(1, 2), v.transpose(1, 2)


def strided_check(entry, device, report):
    """spa on strided views: the kernel configuration is the strided one
    the entry precompiled (or the contiguous fallback where the entry
    expects it), out and the gradients come back in the documented layouts,
    values match float64 and are bitwise equal to the contiguous path's
    (same kernels but for the addresses), also under torch.compile."""
    from spa.arguments import same_strides
    from spa.torch.layouts import call_layouts
    from spa.torch.config import KernelConfig
    from spa.torch.arguments import TORCH_TO_IR
    cfg = config_from(entry)
    table = table_of(cfg)
    dt = DT[cfg.dtype]
    gen = torch.Generator(device=device).manual_seed(4321)

    def make(*shape):
        return torch.randn(*shape, generator=gen, device=device).to(dt)
    bases = layout_bases(cfg, entry["layout"], make)
    q, k, v = layout_views(cfg, entry["layout"], bases)
    # dout token-major: the gradient of `y.transpose(1, 2).reshape(...)`.
    dout = make(cfg.batch, cfg.query_len, cfg.heads,
                cfg.value_dim).transpose(1, 2)
    w = torch.randn(cfg.batch, cfg.heads, cfg.query_len, generator=gen,
                    device=device, dtype=torch.float64)
    names = ("out", "lse", "dq", "dk", "dv")
    row = {"name": entry["name"], "layout": entry["layout"],
           "config": cfg.describe(),
           "strides_in": [list(t.stride()) for t in (q, k, v)]}
    # The configuration a call with these views uses is the precompiled one.
    used = KernelConfig.from_tensors(cfg.target, q, k, v,
                                     TORCH_TO_IR[q.dtype], cfg.bands,
                                     cfg.policy, cfg.mode, cfg.window,
                                     cfg.scale)
    ok = used == cfg
    row["config_is_precompiled"] = ok

    def run(fn, views):
        leaves = [t.detach().requires_grad_() for t in bases]
        qv, kv, vv = views(leaves)
        out, lse = fn(qv, kv, vv)
        lse_term = torch.where(torch.isfinite(lse), lse,
                               torch.zeros_like(lse))
        loss = (out.double() * dout.double()).sum() + (
            lse_term.double() * w).sum()
        grads = torch.autograd.grad(loss, (qv, kv, vv))
        return (out.detach(), lse.detach()) + tuple(grads) + (out,)

    def strided_views(leaves):
        return layout_views(cfg, entry["layout"], leaves)

    spa = run(spa_call(cfg, table), strided_views)
    result, spa_out = spa[:-1], spa[-1]
    lay = call_layouts(q, k, v)
    layouts_ok = same_strides(tuple(spa_out.shape), lay.output,
                              spa_out.stride())
    for t, want in zip(result[2:], (lay.query_grad, lay.key_grad,
                                    lay.value_grad)):
        layouts_ok &= same_strides(tuple(t.shape), want, t.stride())
    row["out_grad_layouts_ok"] = bool(layouts_ok)
    row["out_strides"] = list(spa_out.stride())
    ok &= layouts_ok

    ref = run(lambda a, b, c: tref.attention(a, b, c, table, cfg.mode,
                                             cfg.scale), strided_views)[:-1]
    finite = torch.isfinite(ref[1])
    ok &= torch.equal(torch.isfinite(result[1]), finite)
    row["spa_vs_float64"] = {}
    for n, got, r in zip(names, result, ref):
        e = err(got[finite] if n == "lse" else got,
                r[finite] if n == "lse" else r)
        row["spa_vs_float64"][n] = e
        ok &= math.isfinite(e) and e <= TOL[cfg.dtype]

    # The contiguous path (the twin configuration): the same kernels but
    # for the addresses, so bitwise the same values.
    contig = run(spa_call(cfg, table), lambda leaves: tuple(
        t.contiguous() for t in strided_views(leaves)))[:-1]
    row["bitwise_equal_to_contiguous"] = {
        n: bool(torch.equal(a, b)) for n, a, b in zip(names, result, contig)}
    ok &= all(row["bitwise_equal_to_contiguous"].values())

    # torch.compile: the views are made inside the compiled function, so
    # inductor sees the op's fake strides (they must be the real ones).
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()
    call = spa_call(cfg, table)
    compiled = torch.compile(lambda a, b, c: call(a, b, c), fullgraph=True)
    comp = run(compiled, strided_views)[:-1]
    row["compile_graph_breaks"] = sum(counters["graph_break"].values())
    row["compile_vs_eager"] = {n: err(a[finite] if n == "lse" else a,
                                      b[finite] if n == "lse" else b)
                               for n, a, b in zip(names, comp, result)}
    ok &= row["compile_graph_breaks"] == 0
    ok &= all(e <= TOL[cfg.dtype] for e in row["compile_vs_eager"].values())
    row["ok"] = bool(ok)
    report.append(row)
    print(f"{'ok  ' if ok else 'FAIL'} {entry['name']:30s} "
          f"{entry['layout']:9s} spa " +
          " ".join(f"{n}={e:.1e}" for n, e in row["spa_vs_float64"].items())
          + f"  ==contiguous {all(row['bitwise_equal_to_contiguous'].values())}"
          f"  layouts {layouts_ok}  config {row['config_is_precompiled']}"
          f"  compile breaks={row['compile_graph_breaks']}", flush=True)
    return ok


# The strided cases (bench/torch_device_strided.json is written from these
# by --write-strided-configs, here, with each case's strides and its
# contiguous twin; the GPU run checks that the views it makes have exactly
# those strides). Odd lengths, GQA, Nq != Nk, Dv != D, N = 1, B = 1, f16
# and bf16 (spa.torch has no f32 CUDA path: no f32 gradient kernels; the
# strided f32 forward kernel is compiled by test/Conversion/SpaToGPU).
STRIDED_CASES = [
    dict(name="model_bf16_n1000", layout="model", batch=2, heads=8,
         seq_len=1000, head_dim=64, dtype="bf16", policy="local_plus_band"),
    dict(name="fused_f16_gqa_n777", layout="fused", batch=2, heads=8,
         kv_heads=2, seq_len=777, head_dim=128, dtype="f16",
         policy="exclusive_equal"),
    dict(name="padded_bf16_nq300_nk500_dv32", layout="padded", batch=1,
         heads=4, kv_heads=2, seq_len=500, query_len=300, head_dim=64,
         value_dim=32, dtype="bf16", policy="exclusive_equal"),
    dict(name="model_bf16_b1_bidir_empty_head", layout="model", batch=1,
         heads=4, kv_heads=2, seq_len=300, head_dim=64, dtype="bf16",
         mode="bidirectional",
         bands=[[[0, 16]], [], [[16, 70], [100, 300]], [[0, 1]]]),
    dict(name="model_bf16_n1", layout="model", batch=3, heads=2,
         seq_len=1, head_dim=64, dtype="bf16", bands=[[[0, 1]], []]),
    dict(name="unaligned_bf16_n200", layout="unaligned", batch=2, heads=4,
         seq_len=200, head_dim=64, dtype="bf16", policy="local_plus_band"),
    dict(name="offset_f16_n130", layout="offset", batch=2, heads=4,
         kv_heads=2, seq_len=130, head_dim=64, dtype="f16",
         policy="gapped_half"),
    dict(name="model_bf16_n4096_h16_train", layout="model", batch=1,
         heads=16, seq_len=4096, head_dim=64, dtype="bf16",
         policy="local_plus_band"),
]


def strided_entries():
    """STRIDED_CASES with their strides (as spa.torch plans them for the
    views `layout_views` makes; computed on meta tensors) and each case's
    contiguous twin (the comparison path)."""
    from spa.torch.arguments import TORCH_TO_IR
    from spa.torch.config import KernelConfig
    entries = []
    for case in STRIDED_CASES:
        entry = dict(case, target="cuda:sm_90a")
        twin = {k: v for k, v in entry.items() if k != "layout"}
        cfg = config_from(twin)
        bases = layout_bases(cfg, case["layout"], lambda *shape: torch.empty(
            *shape, dtype=DT[cfg.dtype], device="meta"))
        q, k, v = layout_views(cfg, case["layout"], bases)
        planned = KernelConfig.from_tensors(
            cfg.target, q, k, v, TORCH_TO_IR[q.dtype], cfg.bands,
            cfg.policy, cfg.mode, cfg.window, cfg.scale).strides
        if planned:
            entry["strides"] = [list(planned[i:i + 4]) for i in (0, 4, 8)]
        twin["name"] += "_contiguous"
        twin["twin_of"] = case["name"]  # built for, and run by, its case
        entries += [entry, twin]
    return entries


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
    parser.add_argument("--device", default="cuda:0",
                        help="cpu: a dry run of the strided checks' "
                             "plumbing here (spa through the CPU JIT, "
                             "contiguous outputs)")
    parser.add_argument("--write-strided-configs", metavar="FILE",
                        help="write the strided cases' precompile entries "
                             "(bench/torch_device_strided.json) and exit; "
                             "no GPU needed")
    args = parser.parse_args()
    if args.write_strided_configs:
        with open(args.write_strided_configs, "w") as f:
            f.write("[\n" + ",\n".join(json.dumps(e) for e in
                                        strided_entries()) + "\n]\n")
        return 0
    device = torch.device(args.device)
    entries = json.load(open(args.configs))
    report, ok = [], True
    for entry in entries:
        if args.only and args.only not in entry["name"]:
            continue
        if "twin_of" in entry:
            continue  # the contiguous path of a strided case: run there
        try:
            if "layout" in entry:
                ok &= strided_check(entry, device, report)
                continue
            ok &= check(entry, device, report)
        except Exception as e:  # noqa: BLE001 - one config must not hide others
            ok = False
            report.append({"name": entry["name"], "ok": False,
                           "error": f"{type(e).__name__}: {e}"[:2000]})
            print(f"FAIL {entry['name']}: {type(e).__name__}: {e}",
                  flush=True)
    small = [e for e in entries if e["name"] == "tiny_bf16_overhead"]
    result = {"torch": torch.__version__,
              "device": (torch.cuda.get_device_name(device)
                         if device.type == "cuda" else "cpu"),
              "launch_path": st.launch_path(),
              "checks": report}
    print("launch path:", result["launch_path"], flush=True)
    if small and device.type == "cuda":
        result["launch_overhead"] = overhead(small[0], device)
        print("launch overhead:", result["launch_overhead"])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "torch_device_check.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"{sum(r['ok'] for r in report)}/{len(report)} configurations ok")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
