#!/usr/bin/env python3
"""Runs on the GPU machine (PyTorch, cuda-python; no MLIR): checks every
compiled layer of DIR/manifest.json against a float64 reference, and times
the benchmark layers against dense causal SDPA, FlexAttention compiled with
dynamic=False on the same band masks (and FA4 where installed), in one
process, all with spa.runtime.timing.bench_ms (do_bench's method).

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

from baselines import (Flex, band_mask, dense_sdpa, error_text, flash4,
                       flash4_difference_from_sdpa)
from spa.runtime.cuda import CudaArtifact, CudaLayer
from spa.runtime.timing import bench_ms, triton_ms

# Max |out - ref| / (1 + |ref|): rounding of P and O to the input type
# (bf16 8 bits, f16 11 bits); f32 runs on tf32 tensor cores (10-bit
# mantissa operands, f32 output).
TOL = {"bf16": 2e-2, "f16": 1e-2, "f32": 5e-3}
DT = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}


def reference(q, k, v, layer, pairs):
    """float64 (out, lse) for the (batch, head) pairs listed."""
    nq, nk = q.shape[2], k.shape[2]
    group = q.shape[1] // k.shape[1]
    outs, lses = {}, {}
    rows = torch.arange(nq, device=q.device)
    for b, h in pairs:
        mask = band_mask([layer["bands"][h]], layer["mode"], nq, nk,
                         q.device, rows)[0]
        s = (q[b, h].double() @ k[b, h // group].double().T) * layer["scale"]
        s = s.masked_fill(~mask, float("-inf"))
        lse = torch.logsumexp(s, dim=-1)
        p = torch.exp(s - torch.where(torch.isinf(lse), 0.0, lse)[:, None])
        p = torch.nan_to_num(p, nan=0.0)
        outs[(b, h)] = p @ v[b, h // group].double()
        lses[(b, h)] = lse
    return outs, lses


def compare(out, lse, ref_out, ref_lse, pairs):
    """(max relative error of out, of the finite log-sum-exp entries (inf
    where finiteness differs), whether out or lse hold a NaN) over the
    (batch, head) pairs; `lse` may be None."""
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
    return err, lse_err, nan


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
    err, lse_err, nan = compare(out, lse, ref_out, ref_lse, pairs)
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
            mask = band_mask([layer["bands"][h]], layer["mode"], nq, nk,
                             q.device, rows)[0]
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


def bench(layer, directory, fa4, dense_cache):
    """One benchmark row: spa's forward against dense causal SDPA,
    FlexAttention (dynamic=False, same mask; its FLASH backend where it
    runs) and FA4 dense causal where installed, all timed by bench_ms in
    this process. Dense numbers depend on the shape only: timed once per
    shape (`dense_cache`)."""
    art = CudaLayer(CudaArtifact.load(os.path.join(directory, layer["name"])))
    B, H, n, d = (layer["batch"], layer["heads"], layer["seq_len"],
                  layer["head_dim"])
    q, k, v = (torch.randn(B, H, n, d, device="cuda", dtype=torch.bfloat16)
               for _ in range(3))
    outputs = [torch.empty(o["shape"], device="cuda",
                           dtype=DT.get(o["dtype"], torch.float32))
               for o in art.outputs]
    spa_call = lambda: art(q, k, v, outputs=outputs)  # noqa: E731
    spa_t = bench_ms(spa_call)
    shape = (B, H, n, d)
    if shape not in dense_cache:
        dense_cache[shape] = {"dense": bench_ms(lambda: dense_sdpa(q, k, v)),
                              "fa4": None}
        if fa4:
            # Checked against SDPA first; a failure is recorded, not raised.
            try:
                flash4_difference_from_sdpa(fa4, q, k, v)
                dense_cache[shape]["fa4"] = bench_ms(lambda: fa4(q, k, v)).median
            except Exception as e:  # noqa: BLE001
                dense_cache[shape]["fa4_error"] = error_text(e)
    dense_t = dense_cache[shape]["dense"]
    # FlexAttention depends on the shape and the mask only: timed once per
    # (shape, policy, mode) when several spa kernels of a layer are timed.
    flex_key = ("flex", shape, layer["policy"], layer["mode"])
    first_flex = flex_key not in dense_cache
    if first_flex:
        flex = Flex(layer)
        dense_cache[flex_key] = bench_ms(lambda: flex(q, k, v))
    flex_t = dense_cache[flex_key]
    row = {"flex_flash_ms": None}
    # Flex's FLASH backend (slower than its Triton one on these masks on
    # 2026-12-01): one policy per shape is enough to follow it.
    if layer["policy"] == "exclusive_equal" and first_flex:
        try:
            flash = Flex(layer, backend="FLASH")
            row["flex_flash_ms"] = bench_ms(lambda: flash(q, k, v)).median
        except Exception as e:  # noqa: BLE001 - record why it did not run
            row["flex_flash_error"] = error_text(e)
    row["fa4_ms"] = dense_cache[shape]["fa4"]
    if "fa4_error" in dense_cache[shape]:
        row["fa4_error"] = dense_cache[shape]["fa4_error"]
    flops = 4 * d * layer["pairs"]
    dense_flops = 4 * d * B * H * n * (n + 1) // 2
    row.update(name=layer["name"], policy=layer["policy"], B=B, H=H, N=n,
               D=d, mma=layer.get("mma", "mma.sync"), spa_ms=spa_t.median,
               spa_p20=spa_t.p20, spa_p80=spa_t.p80, flex_ms=flex_t.median,
               dense_ms=dense_t.median,
               spa_tflops=flops / spa_t.median / 1e9,
               flex_tflops=flops / flex_t.median / 1e9,
               dense_tflops=dense_flops / dense_t.median / 1e9,
               spa_vs_flex=spa_t.median / flex_t.median,
               spa_vs_dense_eff=(flops / spa_t.median) /
               (dense_flops / dense_t.median),
               spa_triton_ms=triton_ms(spa_call))
    return row


def _num(x):
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default=".device/spa")
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    parser.add_argument("--only", default="",
                        help="substring filter; with commas, exact layer names")
    parser.add_argument("--no-bench", action="store_true")
    parser.add_argument("--no-check", action="store_true")
    args = parser.parse_args()
    with open(os.path.join(args.dir, "manifest.json")) as f:
        names = args.only.split(",") if "," in args.only else None
        manifest = [l for l in json.load(f)
                    if (l["name"] in names if names else args.only in l["name"])]
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
        fa4 = flash4()
        report["fa4"] = fa4 is not None
        dense_cache = {}
        for layer in manifest:
            if not layer["bench"]:
                continue
            r = bench(layer, args.dir, fa4, dense_cache)
            report["bench"].append(r)
            print(f"bench {r['name']:42s} spa {r['spa_ms']:7.3f} ms "
                  f"({r['spa_tflops']:5.1f} TF/s, do_bench "
                  f"{_num(r['spa_triton_ms'])})  flex {r['flex_ms']:7.3f} "
                  f"({r['flex_tflops']:5.1f})  flash-backend "
                  f"{_num(r['flex_flash_ms'])}  dense {r['dense_ms']:7.3f} "
                  f"({r['dense_tflops']:5.1f})  fa4 {_num(r.get('fa4_ms'))}"
                  f"  spa/flex {r['spa_vs_flex']:.2f}  eff/dense "
                  f"{r['spa_vs_dense_eff']:.0%}", flush=True)
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
