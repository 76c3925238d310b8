#!/usr/bin/env python3
"""Runs on the GPU machine (PyTorch, cuda-python; no MLIR): checks every
compiled layer of DIR/manifest.json against a float64 reference, and times
the benchmark layers against dense causal SDPA and compiled FlexAttention
with the same band masks, in one process.

    PYTHONPATH=python python bench/gpu_device.py --dir .device/spa --out $OUT

Correctness: fresh random inputs per layer, outputs poisoned with NaN first,
error = max |out - ref| / (1 + |ref|) against float64 on the GPU (inputs are
the exact bf16/f16 values). Tolerance 2e-2 (bf16) and 1e-2 (f16) for the
output (P is rounded to the input type for the P V product, the output to
its dtype), 1e-3 for the f32 log-sum-exp; -inf must match exactly.
Useful work (SPEC.md section 2): P pairs, forward FLOPs = 4 * D * P.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch._dynamo

from spa.runtime.cuda import CudaArtifact, CudaLayer, median_ms

# Max |out - ref| / (1 + |ref|): rounding of P and O to the input type
# (bf16 8 bits, f16 11 bits); f32 runs on tf32 tensor cores (10-bit
# mantissa operands, f32 output).
TOL = {"bf16": 2e-2, "f16": 1e-2, "f32": 5e-3}
DT = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}


def band_mask(heads, mode, nq, nk, rows, device):
    """[len(heads), len(rows), nk] admissibility for query rows `rows`."""
    pos = rows.to(torch.int64)[:, None] + (nk - nq)
    dist = pos - torch.arange(nk, device=device)[None, :]
    if mode == "bidirectional":
        dist = dist.abs()
    masks = []
    for intervals in heads:
        m = torch.zeros_like(dist, dtype=torch.bool)
        for lo, hi in intervals:
            m |= (dist >= lo) & (dist < hi)
        masks.append(m)
    return torch.stack(masks)


def reference(q, k, v, layer, pairs):
    """float64 (out, lse) for the (batch, head) pairs listed."""
    nq, nk = q.shape[2], k.shape[2]
    group = q.shape[1] // k.shape[1]
    outs, lses = {}, {}
    rows = torch.arange(nq, device=q.device)
    for b, h in pairs:
        mask = band_mask([layer["bands"][h]], layer["mode"], nq, nk, rows,
                         q.device)[0]
        s = (q[b, h].double() @ k[b, h // group].double().T) * layer["scale"]
        s = s.masked_fill(~mask, float("-inf"))
        lse = torch.logsumexp(s, dim=-1)
        p = torch.exp(s - torch.where(torch.isinf(lse), 0.0, lse)[:, None])
        p = torch.nan_to_num(p, nan=0.0)
        outs[(b, h)] = p @ v[b, h // group].double()
        lses[(b, h)] = lse
    return outs, lses


def check(layer, directory, seed):
    torch.manual_seed(seed)
    art = CudaLayer(CudaArtifact.load(os.path.join(directory, layer["name"])))
    dt = DT[layer["dtype"]]
    B, H, HKV = layer["batch"], layer["heads"], layer["kv_heads"]
    nq, nk = layer["query_len"], layer["seq_len"]
    q = torch.randn(B, H, nq, layer["head_dim"], device="cuda", dtype=dt)
    k = torch.randn(B, HKV, nk, layer["head_dim"], device="cuda", dtype=dt)
    v = torch.randn(B, HKV, nk, layer["value_dim"], device="cuda", dtype=dt)
    outputs = [torch.full(o["shape"], float("nan"), device="cuda",
                          dtype=DT.get(o["dtype"], torch.float32))
               for o in art.outputs]
    result = art(q, k, v, outputs=outputs)
    torch.cuda.synchronize()
    out = result[0] if isinstance(result, tuple) else result
    lse = result[1] if isinstance(result, tuple) else None
    if B * H * nq * nk > 2**28:  # large: a sample of heads
        pairs = [(0, 0), (0, H // 2), (B - 1, H - 1)]
    else:
        pairs = [(b, h) for b in range(B) for h in range(H)]
    ref_out, ref_lse = reference(q, k, v, layer, pairs)
    err, lse_err, nan = 0.0, 0.0, bool(torch.isnan(out).any())
    for key in pairs:
        got = out[key].double()
        want = ref_out[key]
        err = max(err, float(((got - want).abs() / (1 + want.abs())).max()))
        if lse is not None:
            g, w = lse[key].double(), ref_lse[key]
            nan |= bool(torch.isnan(lse[key]).any())
            finite = torch.isfinite(w)
            if not torch.equal(torch.isfinite(g), finite):
                lse_err = float("inf")
            elif finite.any():
                lse_err = max(lse_err, float(((g - w)[finite].abs() /
                                              (1 + w[finite].abs())).max()))
    ok = (not nan) and err <= TOL[layer["dtype"]] and lse_err <= 1e-3
    return dict(name=layer["name"], error=err, lse_error=lse_err, nan=nan,
                checked_heads=len(pairs), ok=ok, registers=art.registers)


def check_nonfinite(layer, directory, seed):
    """NaN and Inf propagate as in PyTorch's attention (SPEC section 1): a
    NaN query row, and a key of +inf in one dimension, must make exactly the
    rows whose admissible keys they touch non-finite; every other row keeps
    its float64 answer, and rows without keys stay 0 with lse -inf.
    Returns (ok, detail)."""
    torch.manual_seed(seed)
    art = CudaLayer(CudaArtifact.load(os.path.join(directory, layer["name"])))
    dt = DT[layer["dtype"]]
    B, H, HKV = layer["batch"], layer["heads"], layer["kv_heads"]
    nq, nk = layer["query_len"], layer["seq_len"]
    if B * H * nq * nk > 2**26:
        return True, "skipped (large)"
    q = torch.randn(B, H, nq, layer["head_dim"], device="cuda", dtype=dt)
    k = torch.randn(B, HKV, nk, layer["head_dim"], device="cuda", dtype=dt)
    v = torch.randn(B, HKV, nk, layer["value_dim"], device="cuda", dtype=dt)
    q[:, :, nq // 2] = float("nan")
    k[:, :, nk // 3, 0] = float("inf")
    result = art(q, k, v)
    torch.cuda.synchronize()
    out = result[0] if isinstance(result, tuple) else result
    lse = result[1] if isinstance(result, tuple) else None
    group = H // HKV
    rows = torch.arange(nq, device=q.device)
    for b in range(B):
        for h in range(H):
            mask = band_mask([layer["bands"][h]], layer["mode"], nq, nk, rows,
                             q.device)[0]
            s = (q[b, h].double() @ k[b, h // group].double().T) * layer["scale"]
            s = s.masked_fill(~mask, float("-inf"))
            has = mask.any(-1)
            m = s.max(-1).values.masked_fill(~has, 0.0)
            p = torch.exp(s - m[:, None])
            want = (p @ v[b, h // group].double()) / p.sum(-1)[:, None]
            want[~has] = 0.0
            bad_want = ~torch.isfinite(want).all(-1)
            got = out[b, h].double()
            bad_got = ~torch.isfinite(got).all(-1)
            if not torch.equal(bad_want, bad_got):
                diff = (bad_want != bad_got).nonzero().flatten()[:5].tolist()
                return False, f"non-finite rows differ at ({b}, {h}) rows {diff}"
            fine = ~bad_want
            err = float(((got - want)[fine].abs() / (1 + want[fine].abs()))
                        .max()) if fine.any() else 0.0
            if err > TOL[layer["dtype"]]:
                return False, f"finite rows off by {err:.3g} at ({b}, {h})"
            if not bool((got[~has] == 0).all()):
                return False, f"a row without keys is not 0 at ({b}, {h})"
            if lse is not None:
                if not bool(torch.isneginf(lse[b, h][~has]).all()):
                    return False, f"lse of a row without keys not -inf ({b}, {h})"
    return True, "ok"


# Every layer builds its own block mask: allow the recompiles instead of
# letting create_block_mask fall back to eager mode (64 GiB at N = 16384).
torch._dynamo.config.recompile_limit = 64
torch._dynamo.config.accumulated_recompile_limit = 1024


def bench(layer, directory, flex_cache):
    from torch.nn.attention.flex_attention import (create_block_mask,
                                                   flex_attention)
    import torch.nn.functional as F
    art = CudaLayer(CudaArtifact.load(os.path.join(directory, layer["name"])))
    B, H, n, d = (layer["batch"], layer["heads"], layer["seq_len"],
                  layer["head_dim"])
    q, k, v = (torch.randn(B, H, n, d, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    outputs = [torch.empty(o["shape"], device="cuda",
                           dtype=DT.get(o["dtype"], torch.float32))
               for o in art.outputs]
    spa_ms = median_ms(lambda: art(q, k, v, outputs=outputs))
    dense_ms = median_ms(lambda: F.scaled_dot_product_attention(
        q, k, v, is_causal=True))
    slots = max(len(h) for h in layer["bands"])
    lo = torch.zeros(H, slots, dtype=torch.int64, device="cuda")
    hi = torch.zeros(H, slots, dtype=torch.int64, device="cuda")
    for h, intervals in enumerate(layer["bands"]):
        for s, (a, b) in enumerate(intervals):
            lo[h, s], hi[h, s] = a, b

    def table_mask(b, h, q_idx, kv_idx):
        # Any table: per-head bounds looked up by head.
        dist = q_idx - kv_idx
        ok = (dist >= lo[h, 0]) & (dist < hi[h, 0])
        for s in range(1, slots):
            ok = ok | ((dist >= lo[h, s]) & (dist < hi[h, s]))
        return ok

    wb, r = divmod(n, H)

    def exclusive_equal_mask(b, h, q_idx, kv_idx):
        # SPEC.md's formula in closed form, as the authors' code writes it.
        dist = q_idx - kv_idx
        start = h * wb + torch.minimum(h, torch.tensor(r, device=h.device))
        width = wb + (h < r).to(h.dtype)
        return (dist >= start) & (dist < start + width)

    def local_plus_band_mask(b, h, q_idx, kv_idx):
        dist = q_idx - kv_idx
        start = h * wb + torch.minimum(h, torch.tensor(r, device=h.device))
        width = wb + (h < r).to(h.dtype)
        return ((dist >= 0) & (dist < width + 1)) | (
            (dist >= start) & (dist < start + width))

    mask_mod = {"exclusive_equal": exclusive_equal_mask,
                "local_plus_band": local_plus_band_mask}.get(
                    layer["policy"], table_mask)

    block_mask = create_block_mask(mask_mod, B, H, n, n, device="cuda",
                                   _compile=True)
    flex = flex_cache.setdefault("flex", torch.compile(flex_attention))
    flex_ms = median_ms(lambda: flex(q, k, v, block_mask=block_mask))
    # The closed-form and table masks must agree with the compiled table.
    if mask_mod is not table_mask:
        check_mask = create_block_mask(table_mask, 1, H, n, n, device="cuda",
                                       _compile=True)
        same = create_block_mask(mask_mod, 1, H, n, n, device="cuda",
                                 _compile=True)
        assert torch.equal(check_mask.to_dense(), same.to_dense())
    flops = 4 * d * layer["pairs"]
    dense_flops = 4 * d * B * H * n * (n + 1) // 2
    return dict(name=layer["name"], policy=layer["policy"], B=B, H=H, N=n,
                D=d, mma=layer.get("mma", "mma.sync"), spa_ms=spa_ms, flex_ms=flex_ms, dense_ms=dense_ms,
                spa_tflops=flops / spa_ms / 1e9,
                flex_tflops=flops / flex_ms / 1e9,
                dense_tflops=dense_flops / dense_ms / 1e9,
                spa_vs_flex=flex_ms / spa_ms)


def _num(x):
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default=".device/spa")
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    parser.add_argument("--only", default="", help="substring filter")
    parser.add_argument("--no-bench", action="store_true")
    parser.add_argument("--no-check", action="store_true")
    args = parser.parse_args()
    with open(os.path.join(args.dir, "manifest.json")) as f:
        manifest = [l for l in json.load(f) if args.only in l["name"]]
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__},"
          f" {time.strftime('%Y-%m-%d')}", flush=True)
    report = {"device": torch.cuda.get_device_name(), "checks": [],
              "bench": []}
    failed = 0
    if not args.no_check:
        for i, layer in enumerate(manifest):
            try:
                r = check(layer, args.dir, seed=1000 + i)
            except Exception as e:  # noqa: BLE001 - report and continue
                r = dict(name=layer["name"], ok=False, error=str(e))
            if r["ok"]:
                try:
                    ok, detail = check_nonfinite(layer, args.dir, 5000 + i)
                except Exception as e:  # noqa: BLE001
                    ok, detail = False, str(e)
                r["nonfinite"] = detail
                r["ok"] = ok
            failed += not r["ok"]
            report["checks"].append(r)
            print(f"check {r['name']:40s} {'PASS' if r['ok'] else 'FAIL'} "
                  f"err {_num(r.get('error'))} lse {_num(r.get('lse_error'))}"
                  f" regs {r.get('registers')} nan/inf: {r.get('nonfinite')}",
                  flush=True)
    if not args.no_bench:
        cache = {}
        for layer in manifest:
            if not layer["bench"]:
                continue
            r = bench(layer, args.dir, cache)
            report["bench"].append(r)
            print(f"bench {r['name']:42s} spa {r['spa_ms']:7.3f} ms "
                  f"({r['spa_tflops']:5.1f} TF/s)  flex {r['flex_ms']:7.3f} "
                  f"({r['flex_tflops']:5.1f})  dense {r['dense_ms']:7.3f} "
                  f"({r['dense_tflops']:5.1f})  flex/spa "
                  f"{r['spa_vs_flex']:.2f}x", flush=True)
    os.makedirs(args.out, exist_ok=True)
    # A filtered run (a sanitizer pass, say) must not overwrite the full
    # report of the same directory.
    partial = args.only or args.no_bench or args.no_check
    name = "gpu_report_partial.json" if partial else "gpu_report.json"
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, name), "w") as f:
        json.dump(report, f, indent=1)
    print(f"{failed} failed checks")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
