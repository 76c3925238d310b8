#!/usr/bin/env python3
"""Device probe (issue #11, docs/backward-plan.md section 7, the interleaved
dS pass): does the dq_stored kernel read dS from L2 when the backward runs
in chunks of (batch, head) pairs, each chunk's dK/dV items followed at once
by its dq_stored items, so that a chunk's dS (about 4.7 MB a pair at the
headline) is still in L2 when it is read back?

No compiler change: the stored-dS gradient op's own kernels are launched
with sub-lists of their compiled work lists (the constant `work`, rows
(batch, head, tile); the grid is the sub-list's length):

    preprocess; for each chunk: dkdv(chunk), dq_stored(chunk); dkdv(tail)

where `tail` holds the key tiles no query reaches (they write zeros and no
dS; the classic kernel's zero-tail index stays past every chunk's list, so
the chunks' items all take the general path). The dS scratch is indexed by
head, so chunks write and read disjoint parts of it. Every chunking's
gradients are compared bitwise with the op's own call, then each is timed
by bench_ms (L2 flushed before each backward) in one process, ABAB.

    python bench/chunked_backward_probe.py --dir .device/x/hE --out $OUT/chunks
"""

import argparse
import dataclasses
import json
import os

import torch

from grad_sweep import load_variant
from sweep_tables import kernel_of, reached_key_tiles
from spa.runtime.launcher import ARG_CONSTANT, op_launcher
from spa.runtime.timing import bench_ms


def with_work(kernel, constants, rows, keep):
    """`kernel` (a KernelLaunch) launched over `rows` of its work list:
    a device table of them (appended to `keep`) in place of `work`."""
    table = torch.tensor(rows, dtype=torch.int32, device="cuda")
    keep.append(table)
    address = constants["work"].data_ptr()
    args = tuple((ARG_CONSTANT, table.data_ptr()) + tuple(a[2:])
                 if a[0] == ARG_CONSTANT and a[1] == address else a
                 for a in kernel.args)
    return dataclasses.replace(kernel, grid=(len(rows), 1, 1), args=args)


def chunked_backward(grd, chunks, keep):
    """The launch list of the chunked backward (KernelLaunch objects)."""
    roles = [m.get("role") for m in grd.kernels]
    if roles != ["preprocess", "dkdv", "dq_stored"]:
        raise SystemExit(f"needs the stored-dS backward, got {roles}")
    pre, kv, dq = grd.launcher.kernels
    kv_meta, kv_constants = kernel_of(grd, "dkdv")
    dq_constants = kernel_of(grd, "dq_stored")[1]
    kv_rows = kv_constants["work"].tolist()
    dq_rows = dq_constants["work"].tolist()
    seq_len = kv_meta["args"][0]["shape"][2]
    key_tile = kv_meta["tile"][1]  # [stream rows, own keys]
    # The key tiles some query of the head reaches (causal layers only).
    reached = [reached_key_tiles(intervals, 0, seq_len - 1, seq_len, key_tile)
               for intervals in kv_constants["bounds"].tolist()]
    pairs = []
    for b, h, _ in kv_rows:
        if (b, h) not in pairs:
            pairs.append((b, h))
    size = -(-len(pairs) // chunks)
    launches = [pre]
    for c in range(0, len(pairs), size):
        group = set(pairs[c:c + size])
        kv_part = [r for r in kv_rows
                   if (r[0], r[1]) in group and r[2] in reached[r[1]]]
        dq_part = [r for r in dq_rows if (r[0], r[1]) in group]
        if kv_part:
            launches.append(with_work(kv, kv_constants, kv_part, keep))
        if dq_part:
            launches.append(with_work(dq, dq_constants, dq_part, keep))
    tail = [r for r in kv_rows if r[2] not in reached[r[1]]]
    if tail:
        launches.append(with_work(kv, kv_constants, tail, keep))
    return launches


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chunks", default="1,4,8,16")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    shape, (q, k, v, dout), fwd, grd = load_variant(args.dir)
    o, lse = fwd(q, k, v)
    inputs = (q, k, v, o, lse, dout)
    reference = [g.clone() for g in grd(*inputs)]
    stream = torch.cuda.current_stream().cuda_stream
    slots = grd.launcher.slots
    variants = {"op": lambda: grd(*inputs)}
    outputs = {}
    keep = []
    for count in (int(c) for c in args.chunks.split(",")):
        buffers = [torch.empty_strided(shape_, strides, **kw)
                   for shape_, strides, kw in grd.allocation_calls()]
        pointers = [t.data_ptr() for t in inputs + tuple(buffers)]
        launchers = [op_launcher([kernel], slots, grd.context)
                     for kernel in chunked_backward(grd, count, keep)]

        def run(launchers=launchers, pointers=pointers):
            for launch in launchers:
                launch(pointers, stream)

        variants[f"chunks{count}"] = run
        outputs[f"chunks{count}"] = (buffers, len(launchers))
    rows = []
    for name, run in variants.items():
        run()
        torch.cuda.synchronize()
        row = dict(variant=name, ms=[])
        if name in outputs:
            buffers, launches = outputs[name]
            row["launches"] = launches
            row["bitwise_equal"] = all(
                torch.equal(g, r) for g, r in zip(buffers[:3], reference))
        rows.append(row)
    for _ in range(2):
        for row, run in zip(rows, variants.values()):
            row["ms"].append(bench_ms(run).median)
    for row in rows:
        print(json.dumps(row), flush=True)
    with open(os.path.join(args.out, "chunks.json"), "w") as f:
        json.dump(dict(dir=args.dir, shape=shape,
                       device=torch.cuda.get_device_name(), rows=rows), f,
                  indent=1)


if __name__ == "__main__":
    main()
