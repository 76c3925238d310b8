#!/usr/bin/env python3
"""Device probe (issue #11): where a forward + backward call's time goes,
kernel by kernel, with the gaps between them, in context (each kernel
after the one before it, as training runs them; bench_ms times each op
after an L2 flush instead).

For each variant of a sweep directory (bench/grad_sweep_prepare.py), in
one process, the forward and gradient ops are called back to back REPS
times under the CUDA profiler; its Chrome trace gives each kernel's start
and duration. Printed per kernel (in launch order): the median duration
and the median gap from the previous kernel's end (the first kernel's gap
is from the last kernel of the previous call); then bench_ms of the whole
pair (L2 flushed before each pair), the variants' pairs timed in turn
twice (ABAB) so that a drift of the machine shows.

    python bench/kernel_timeline.py --dir .device/x/rE --out $OUT/timeline
"""

import argparse
import json
import os
import statistics
import tempfile

import torch

from grad_sweep import profiled, sweep_inputs
from spa.runtime.cuda import CudaArtifact, CudaLayer
from spa.runtime.timing import bench_ms


def timeline(fn, reps):
    """[(kernel name, start us, duration us)] of `reps` calls of fn."""
    prof = profiled(fn, reps)
    with tempfile.NamedTemporaryFile(suffix=".json") as trace:
        prof.export_chrome_trace(trace.name)
        events = json.load(open(trace.name))["traceEvents"]
    kernels = [(e["name"], float(e["ts"]), float(e["dur"])) for e in events
               if e.get("cat") == "kernel"]
    return sorted(kernels, key=lambda e: e[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest = json.load(open(os.path.join(args.dir, "manifest.json")))
    shape = manifest["shape"]
    q, k, v, dout = sweep_inputs(shape)
    pairs, results = {}, []
    for variant in manifest["variants"]:
        art = CudaArtifact.load(os.path.join(args.dir, variant["name"]))
        fwd, grd = CudaLayer(art, op=0), CudaLayer(art, op=1)

        def pair(fwd=fwd, grd=grd):
            o, lse = fwd(q, k, v)
            return grd(q, k, v, o, lse, dout)

        pairs[variant["name"]] = pair
        rows = kernel_rows(timeline(pair, args.reps), args.reps)
        results.append(dict(variant=variant["name"], kernels=rows,
                            kernels_sum_us=sum(r["duration_us"] for r in rows),
                            gaps_sum_us=sum(r["gap_before_us"] for r in rows)))
        print(json.dumps(results[-1]), flush=True)
    # Gradients of every variant against the first's (the options compared
    # here do not change the arithmetic: bitwise equal).
    first = [g.clone() for g in next(iter(pairs.values()))()]
    for result, pair in zip(results, pairs.values()):
        result["bitwise_equal"] = all(torch.equal(a, b)
                                      for a, b in zip(pair(), first))
        result["fwd_bwd_bench_ms"] = []
    for _ in range(2):
        for result, pair in zip(results, pairs.values()):
            result["fwd_bwd_bench_ms"].append(bench_ms(pair).median)
    for result in results:
        print(json.dumps({key: result[key] for key in
                          ("variant", "bitwise_equal", "fwd_bwd_bench_ms",
                           "kernels_sum_us", "gaps_sum_us")}), flush=True)
    with open(os.path.join(args.out, "timeline.json"), "w") as f:
        json.dump(dict(dir=args.dir, shape=shape, reps=args.reps,
                       device=torch.cuda.get_device_name(),
                       variants=results), f, indent=1)


def kernel_rows(kernels, reps):
    """Per kernel of a call: its median duration and the median gap before
    it (the timeline of `reps` calls)."""
    per_call = len(kernels) // reps
    per_call = len(kernels) // reps
    rows = []
    for i in range(per_call):
        mine = kernels[i::per_call]
        before = [kernels[j - 1] for j in range(i, len(kernels), per_call)
                  if j > 0]
        gaps = [k[1] - (p[1] + p[2]) for k, p in
                zip(mine[1:] if i == 0 else mine, before)]
        rows.append(dict(kernel=mine[0][0],
                         duration_us=statistics.median(k[2] for k in mine),
                         gap_before_us=statistics.median(gaps)))
    return rows


if __name__ == "__main__":
    main()
