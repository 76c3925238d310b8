#!/usr/bin/env python3
"""Device probe (issue #11, docs/backward-plan.md section 7): how fast can
Delta = rowsum(dO * O) go on this GPU? The preprocess kernel reads O and dO
of the rows with keys (71 MB at the headline) in 35 us in context, 2.0
TB/s, where dq_stored reaches 2.8. Timed here by bench_ms (L2 flushed before
each call), on the sweep's shape and policy:

- `spa`: the gradient op's preprocess kernel alone (its artifact's cubin,
  launched through CudaLayer with the other kernels' launches dropped),
  bytes = O and dO of the rows with keys (from the bounds table) plus
  Delta;
- `triton`: a Triton kernel of the same arithmetic over every row (BLOCK
  rows a program, f32 products), bytes = O, dO and Delta of every row;
- `copy`: torch's copy of O into a new tensor (read + write), a bandwidth
  reference.

Each result is checked against a float64 rowsum. Printed: ms and TB/s.
With several sweep directories (builds of one layer), each one's
preprocess and whole backward are timed in turn, twice, in one process,
and the gradients compared bitwise with the first's.

    python bench/preprocess_roofline_probe.py --dir .device/x/hE --out $OUT/pre
    python bench/preprocess_roofline_probe.py --dir a/hE,b/hE,c/hE --out $OUT/pre
"""

import argparse
import json
import os

import torch
import triton
import triton.language as tl

from grad_sweep import load_variant
from sweep_tables import kernel_of
from spa.runtime.timing import bench_ms


@triton.jit
def _row_dot(o_ptr, do_ptr, delta_ptr, rows, D: tl.constexpr,
             BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    r = pid * BLOCK + tl.arange(0, BLOCK)
    c = tl.arange(0, D)
    mask = r[:, None] < rows
    offs = r[:, None] * D + c[None, :]
    o = tl.load(o_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    do = tl.load(do_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    tl.store(delta_ptr + r, tl.sum(o * do, axis=1), mask=r < rows)


def triton_delta(o, do, block):
    rows, d = o.numel() // o.shape[-1], o.shape[-1]
    delta = torch.empty(o.shape[:-1], device=o.device, dtype=torch.float32)
    _row_dot[(triton.cdiv(rows, block),)](o, do, delta, rows, D=d,
                                          BLOCK=block)
    return delta


def rows_with_keys(bounds, seq_len):
    """Rows p of each head reaching a key (causal: p - j in [lo, hi) for
    some j in [0, p]: lo <= p), summed over heads."""
    total = 0
    for intervals in bounds.cpu().tolist():
        lows = [lo for lo, hi in intervals if hi > lo]
        total += seq_len - min(lows) if lows else 0
    return total


def spa_preprocess(grd, o, dout):
    """(run, delta): the gradient op's preprocess kernel alone, through a
    launcher of the op's plan holding only that kernel, its buffers O, dO
    and a Delta of our own (a slot no kernel of this plan reads gets a
    dummy pointer)."""
    from spa.runtime.launcher import op_launcher
    roles = [meta.get("role") for meta in grd.kernels]
    kernel = grd.launcher.kernels[roles.index("preprocess")]
    launch = op_launcher([kernel], grd.launcher.slots, grd.context)
    delta = torch.zeros(o.shape[:-1], device="cuda", dtype=torch.float32)
    buffers = {"output": o, "output_grad": dout, "delta": delta}
    dummy = torch.empty(64, device="cuda")
    pointers = [buffers.get(spec["name"], dummy).data_ptr()
                for spec in grd.inputs + grd.outputs + grd.scratch]

    def run():
        launch(pointers, torch.cuda.current_stream().cuda_stream)

    run._keep = (dummy, launch)
    return run, delta


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True,
                        help="sweep directories, comma-separated: the "
                        "first gives the inputs; each one's preprocess "
                        "and whole backward are timed in turn (ABAB)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--baselines", type=int, default=1,
                        help="also time the Triton kernel and the copy")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    dirs = args.dir.split(",")
    shape, (q, k, v, dout), fwd, grd = load_variant(dirs[0])
    o, lse = fwd(q, k, v)
    want = (o.double() * dout.double()).sum(-1)
    element = o.element_size()
    rows_all = o.numel() // o.shape[-1]
    d = o.shape[-1]
    results = []

    candidates = []
    for directory in dirs:
        grd_dir = load_variant(directory)[3]
        if "preprocess" not in [m.get("role") for m in grd_dir.kernels]:
            continue
        run, delta = spa_preprocess(grd_dir, o, dout)
        run()
        torch.cuda.synchronize()
        meta, constants = kernel_of(grd_dir, "preprocess")
        reached = rows_with_keys(constants["bounds"],
                                 shape["seq_len"]) * shape["batch"]
        inputs = (q, k, v, o, lse, dout)
        grads = [g.clone() for g in grd_dir(*inputs)]
        candidates.append(dict(directory=directory, run=run, grd=grd_dir,
                               inputs=inputs, grads=grads, reached=reached,
                               grid=meta["grid"][0],
                               max_err_all=(delta.double() - want).abs()
                               .max().item()))
    for c in candidates:
        c["bitwise_equal_to_first"] = all(
            torch.equal(a, b) for a, b in zip(c["grads"],
                                              candidates[0]["grads"]))
        c["ms"], c["bwd_ms"] = [], []
    for _ in range(2):
        for c in candidates:
            c["ms"].append(bench_ms(c["run"]).median)
            grd_dir, inputs = c["grd"], c["inputs"]
            c["bwd_ms"].append(bench_ms(lambda: grd_dir(*inputs)).median)
    for c in candidates:
        ms = min(c["ms"])
        # Rows without keys: Delta 0 from spa, and O = 0 there (the
        # forward's), so the float64 rowsum is 0 too.
        moved = c["reached"] * d * element * 2 + rows_all * 4
        results.append(dict(kind="spa", dir=c["directory"], grid=c["grid"],
                            ms=ms, ms_rounds=c["ms"],
                            bwd_ms_rounds=c["bwd_ms"],
                            mbytes=moved / 1e6, tbps=moved / ms / 1e9,
                            rows=c["reached"], max_err_all=c["max_err_all"],
                            bitwise_equal_to_first=c["bitwise_equal_to_first"]))
        print(json.dumps(results[-1]), flush=True)
    if args.baselines:
        block = 32
        got = triton_delta(o, dout, block)
        ms = bench_ms(lambda: triton_delta(o, dout, block)).median
        moved = rows_all * (d * element * 2 + 4)
        results.append(dict(kind=f"triton_block{block}", ms=ms,
                            mbytes=moved / 1e6, tbps=moved / ms / 1e9,
                            rows=rows_all,
                            max_err_all=(got.double() - want).abs().max()
                            .item()))
        print(json.dumps(results[-1]), flush=True)
        ms = bench_ms(lambda: o.clone()).median
        moved = o.numel() * element * 2
        results.append(dict(kind="copy", ms=ms, mbytes=moved / 1e6,
                            tbps=moved / ms / 1e9))
        print(json.dumps(results[-1]), flush=True)
    with open(os.path.join(args.out, "preprocess.json"), "w") as f:
        json.dump(dict(dir=args.dir, shape=shape,
                       device=torch.cuda.get_device_name(), results=results),
                  f, indent=1)


if __name__ == "__main__":
    main()
