#!/usr/bin/env python3
"""Runs on the GPU machine (PyTorch, cuda-python; no MLIR): checks the
backward kernels of every layer of DIR/manifest.json (written by
bench/gpu_grad_prepare.py) against float64, optionally times forward +
backward against FlexAttention, dense causal SDPA and, where `flash-attn-4`
imports (bench/fa4_wheels.sh), FlashAttention-4 dense causal.

    PYTHONPATH=python python bench/gpu_grad_check.py --dir .device/grad --out $OUT

Per layer (module: op 0 = forward with log-sum-exp, op 1 = its gradient):
fresh random q, k, v, dO; O and lse from spa's own forward kernel; dQ, dK,
dV from the gradient op's kernels into buffers poisoned with NaN.

- Values: err = max |x - ref| / (1 + max |ref|) per tensor, ref = float64
  autograd of a masked reference (GQA by repeating K and V; rows without
  keys give 0). Passes when err <= TOL[dtype] or err <= 2x the error of the
  same reference computed by PyTorch in the input dtype.
- Structure: dQ rows without keys and dK/dV rows of keys no row reaches
  are exactly 0; a second call is bitwise identical (no atomics). A layer
  compiled with deterministic=False (dQ by f32 atomics) must still give
  bitwise identical dK and dV; its dQ may differ between calls
  ("non-deterministic by design"), each call within the float64 tolerance.
- NaN: a NaN in one query row (head 0, a row with keys) must make that
  row's dQ and the dK/dV rows of every key it reaches non-finite; dQ of the
  other heads and dK/dV of the other key/value heads and batch elements are
  bitwise equal to the clean run (with deterministic=False dQ of the other
  rows and heads: finite and within the tolerance of the clean run). Extra
  non-finite dK/dV rows of the same key/value head (0 x NaN inside a
  visited tile) are counted and reported.
"""
import argparse
import json
import os
import sys
import time
import zlib

import torch

from baselines import band_mask
from spa.runtime.cuda import CudaArtifact, CudaLayer

TOL = {"bf16": 2e-2, "f16": 1e-2}
DT = {"bf16": torch.bfloat16, "f16": torch.float16}


def reference_grads(q, k, v, dout, mask, scale, dtype):
    """(dq, dk, dv) of the masked attention, computed in `dtype`."""
    group = q.shape[1] // k.shape[1]
    q, k, v = (t.detach().to(dtype).requires_grad_() for t in (q, k, v))
    kk = k.repeat_interleave(group, dim=1)
    vv = v.repeat_interleave(group, dim=1)
    s = (q @ kk.transpose(-1, -2)) * scale
    s = s.masked_fill(~mask[None], float("-inf"))
    m = s.amax(-1, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(s - m)
    den = e.sum(-1, keepdim=True)
    p = e / torch.where(den > 0, den, torch.ones_like(den))
    out = p @ vv
    return torch.autograd.grad(out, (q, k, v), dout.to(dtype))


def error(x, ref):
    return ((x.double() - ref).abs().max() / (1 + ref.abs().max())).item()


def run_grad(fwd, grd, q, k, v, dout):
    o, lse = fwd(q, k, v)
    poisoned = [torch.full(s["shape"], float("nan"), dtype=t.dtype,
                           device=t.device)
                for s, t in zip(grd.outputs, (q, k, v))]
    dq, dk, dv = grd(q, k, v, o, lse, dout, outputs=poisoned)
    torch.cuda.synchronize()
    return dq, dk, dv


def check_layer(directory, layer, nan_check=True):
    art = CudaArtifact.load(os.path.join(directory, layer["name"]))
    fwd, grd = CudaLayer(art, op=0), CudaLayer(art, op=1)
    dt = DT[layer["dtype"]]
    b, h, hk = layer["batch"], layer["heads"], layer["kv_heads"]
    nq, nk, d, dv_ = (layer["query_len"], layer["seq_len"],
                      layer["head_dim"], layer["value_dim"])
    gen = torch.Generator(device="cuda").manual_seed(zlib.crc32(layer["name"].encode()))
    rnd = lambda *shape: torch.randn(*shape, generator=gen, device="cuda").to(dt)
    q, k, v = rnd(b, h, nq, d), rnd(b, hk, nk, d), rnd(b, hk, nk, dv_)
    dout = rnd(b, h, nq, dv_)
    mask = band_mask(layer["bands"], layer["mode"], nq, nk, q.device)
    got = run_grad(fwd, grd, q, k, v, dout)
    again = run_grad(fwd, grd, q, k, v, dout)
    atomic = not layer.get("deterministic", True)
    tol = TOL[layer["dtype"]]
    ref = reference_grads(q, k, v, dout, mask, layer["scale"], torch.float64)
    low = reference_grads(q, k, v, dout, mask, layer["scale"], dt)
    result = dict(name=layer["name"], dtype=layer["dtype"],
                  registers=grd.kernel_registers)
    ok = True
    for name, x, r, l in zip(("dq", "dk", "dv"), got, ref, low):
        e, base = error(x, r), error(l, r)
        passed = bool(torch.isfinite(x).all()) and (
            e <= TOL[layer["dtype"]] or e <= 2 * base)
        result[name] = dict(err=e, torch_lowp_err=base, ok=passed)
        ok &= passed
    deterministic = all(torch.equal(x, y) for x, y in zip(got, again))
    result["deterministic"] = deterministic
    if atomic:
        # dQ sums f32 atomics in a different order each call: the second
        # call's dQ must pass the same float64 check; dK, dV stay bitwise.
        e2 = error(again[0], ref[0])
        result["dq_again_err"] = e2
        result["dq_note"] = ("bitwise equal this time" if deterministic else
                             "non-deterministic by design")
        dkdv_same = all(torch.equal(x, y) for x, y in zip(got[1:], again[1:]))
        result["dkdv_deterministic"] = dkdv_same
        ok &= dkdv_same and bool(torch.isfinite(again[0]).all()) and (
            e2 <= tol or e2 <= 2 * result["dq"]["torch_lowp_err"])
    else:
        ok &= deterministic
    group = h // hk
    row_has_key = mask.any(-1)  # [h, nq]
    key_reached = mask.any(1).reshape(hk, group, nk).any(1)  # [hk, nk]
    zeros_ok = bool((got[0][:, ~row_has_key] == 0).all()) and bool(
        (got[1][:, ~key_reached] == 0).all()) and bool(
        (got[2][:, ~key_reached] == 0).all())
    result["zeros_ok"] = zeros_ok
    result["rows_without_keys"] = int((~row_has_key).sum())
    result["keys_unreached"] = int((~key_reached).sum())
    ok &= zeros_ok
    if nan_check and row_has_key[0].any():
        r = int(row_has_key[0].nonzero()[-1])
        qn = q.clone()
        qn[0, 0, r, 0] = float("nan")
        dq, dk, dv = run_grad(fwd, grd, qn, k, v, dout)
        reached = mask[0, r]  # keys of kv head 0 reached by (head 0, row r)
        need = (not torch.isfinite(dq[0, 0, r]).any()) and bool(
            (~torch.isfinite(dk[0, 0, reached])).any(-1).all()) and bool(
            (~torch.isfinite(dv[0, 0, reached])).any(-1).all())
        # dQ by atomics: equal up to the order of the f32 additions.
        dq_same = ((lambda x, y: bool(torch.isfinite(x).all()) and
                    (x.numel() == 0 or error(x, y.double()) <= tol))
                   if atomic else torch.equal)
        same = dq_same(dq[:, 1:], got[0][:, 1:]) and torch.equal(
            dk[:, 1:], got[1][:, 1:]) and torch.equal(dv[:, 1:], got[2][:, 1:])
        if b > 1:
            same &= dq_same(dq[1:], got[0][1:]) and all(
                torch.equal(x[1:], y[1:])
                for x, y in zip((dk, dv), got[1:]))
        other_rows = torch.ones(nq, dtype=torch.bool, device=q.device)
        other_rows[r] = False
        same &= dq_same(dq[0, 0, other_rows], got[0][0, 0, other_rows])
        extra = int(((~torch.isfinite(dk[0, 0])).any(-1) & ~reached).sum())
        result["nan"] = dict(row=r, propagates=bool(need),
                             isolated=bool(same), extra_nonfinite_keys=extra)
        ok &= bool(need) and bool(same)
    result["ok"] = bool(ok)
    return result


# Dense baselines depend on the shape only: FA4's times per (B, H, N, D).
_DENSE_FA4 = {}


def fa4_times(q, k, v, dout, time_twice):
    """FlashAttention-4 dense causal forward and forward+backward ms for
    this shape (once per shape), or the reason it did not run; its output
    is checked against SDPA first (flash4_difference_from_sdpa)."""
    from baselines import (error_text, flash4, flash4_difference_from_sdpa,
                           forward_backward)
    shape = tuple(q.shape)
    if shape in _DENSE_FA4:
        return _DENSE_FA4[shape]
    fa4 = flash4()
    if fa4 is None:
        result = {"fa4_error": "flash_attn.cute does not import"}
    else:
        try:
            err = flash4_difference_from_sdpa(fa4, q, k, v)
            qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))
            result = {"fa4_max_diff_vs_sdpa": err,
                      "fa4_fwd": time_twice(lambda: fa4(q, k, v)),
                      "fa4_fwd_bwd": time_twice(
                          forward_backward(fa4, qg, kg, vg, dout))}
        except Exception as exc:  # noqa: BLE001 - record why, go on
            result = {"fa4_error": error_text(exc)}
    _DENSE_FA4[shape] = result
    return result


def flex_bench(layer, warmup_dir):
    """Forward and forward+backward ms of spa, FlexAttention (same band
    mask, dynamic=False), dense causal SDPA and FA4 dense causal where
    installed, all by bench_ms (SPEC.md section 3), in this process."""
    from baselines import Flex, dense_sdpa, forward_backward
    from spa.runtime.timing import bench_ms
    art = CudaArtifact.load(os.path.join(warmup_dir, layer["name"]))
    fwd, grd = CudaLayer(art, op=0), CudaLayer(art, op=1)
    dt = DT[layer["dtype"]]
    b, h, n, d = layer["batch"], layer["heads"], layer["seq_len"], layer["head_dim"]
    q, k, v, dout = (torch.randn(b, h, n, d, device="cuda", dtype=dt)
                     for _ in range(4))
    o, lse = fwd(q, k, v)

    def spa_fwd_bwd():
        o, lse = fwd(q, k, v)
        return grd(q, k, v, o, lse, dout)

    flex = Flex(layer)
    qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))
    times = {}

    def time_twice(fn):
        bench_ms(fn)
        return bench_ms(fn).median

    for name, fn in (
            ("spa_fwd", lambda: fwd(q, k, v)),
            ("spa_bwd", lambda: grd(q, k, v, o, lse, dout)),
            ("spa_fwd_bwd", spa_fwd_bwd),
            ("flex_fwd", lambda: flex(q, k, v)),
            ("flex_fwd_bwd", forward_backward(flex, qg, kg, vg, dout)),
            ("sdpa_fwd", lambda: dense_sdpa(q, k, v)),
            ("sdpa_fwd_bwd", forward_backward(dense_sdpa, qg, kg, vg, dout))):
        # Every entry timed twice, the first discarded: in three runs
        # (2026-12-04, 2026-12-05) the first FlexAttention forward + backward
        # of a process read 0.907-0.936 ms at the headline and 0.68 ms in
        # every later measurement of the same shape in that process (its
        # compiled backward settles after the first timing's calls); the
        # same rule for every entry keeps one method for all.
        times[name] = time_twice(fn)
    times.update(fa4_times(q, k, v, dout, time_twice))
    pairs = layer["pairs"]
    flops = 3.5 * 4 * d * pairs
    dense_flops = 3.5 * 4 * d * b * h * n * (n + 1) // 2
    times["spa_useful_tflops_fwd_bwd"] = flops / times["spa_fwd_bwd"] / 1e9
    times["flex_useful_tflops_fwd_bwd"] = flops / times["flex_fwd_bwd"] / 1e9
    times["sdpa_tflops_fwd_bwd"] = dense_flops / times["sdpa_fwd_bwd"] / 1e9
    times["ratio_spa_to_flex_fwd_bwd"] = times["spa_fwd_bwd"] / times["flex_fwd_bwd"]
    if "fa4_fwd_bwd" in times:
        times["fa4_tflops_fwd_bwd"] = dense_flops / times["fa4_fwd_bwd"] / 1e9
    times["registers"] = grd.kernel_registers
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", default="",
                        help="'sanitize' (the layers marked for "
                        "compute-sanitizer) or a comma-separated name list")
    parser.add_argument("--no-nan", action="store_true")
    parser.add_argument("--bench", action="store_true")
    args = parser.parse_args()
    with open(os.path.join(args.dir, "manifest.json")) as f:
        manifest = json.load(f)
    os.makedirs(args.out, exist_ok=True)
    print(f"{torch.cuda.get_device_name()} torch {torch.__version__} "
          f"{time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)
    results, failures = [], 0
    for layer in manifest:
        if layer.get("bench"):
            continue
        if args.only == "sanitize" and not layer.get("sanitize"):
            continue
        if args.only and args.only != "sanitize" and \
                layer["name"] not in args.only.split(","):
            continue
        try:
            r = check_layer(args.dir, layer, nan_check=not args.no_nan)
        except Exception as exc:  # report and go on with the next layer
            r = dict(name=layer["name"], ok=False, exception=repr(exc))
        results.append(r)
        failures += not r["ok"]
        print(f"{'PASS' if r['ok'] else 'FAIL'} {r['name']:32s} " + " ".join(
            f"{n} {r[n]['err']:.2e} (torch {r[n]['torch_lowp_err']:.1e})"
            for n in ("dq", "dk", "dv") if n in r) +
            f" det {r.get('deterministic')}"
            + (f" ({r['dq_note']}, dq again {r['dq_again_err']:.2e},"
               f" dk/dv bitwise {r['dkdv_deterministic']})"
               if "dq_note" in r else "")
            + f" zeros {r.get('zeros_ok')}"
            f" nan {r.get('nan')} regs {r.get('registers')}"
            + (f" {r['exception']}" if "exception" in r else ""), flush=True)
    if args.bench:
        for layer in manifest:
            if layer.get("bench"):
                try:
                    t = flex_bench(layer, args.dir)
                except Exception as exc:
                    t = dict(exception=repr(exc))
                results.append(dict(name=layer["name"], bench=t))
                print(f"BENCH {layer['name']}: {json.dumps(t)}", flush=True)
    with open(os.path.join(args.out, "grad_check.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"{len(results)} results, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
