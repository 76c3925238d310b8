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

or, with the preprocess chunked too (variants `chunks<N>p`; a chunk is then
a run of consecutive (batch, head) pairs, the preprocess launched over its
rows with the buffers' addresses offset to the run's first pair), so that
dO read by a chunk's preprocess is still in L2 for its dK/dV items:

    for each chunk: preprocess(chunk), dkdv(chunk), dq_stored(chunk); ...

where `tail` holds the key tiles no query reaches (they write zeros and no
dS; the classic kernel's zero-tail index stays past every chunk's list, so
the chunks' items all take the general path). The dS scratch is indexed by
head, so chunks write and read disjoint parts of it. Every chunking's
gradients are compared bitwise with the op's own call, then each is timed
by bench_ms (L2 flushed before each backward) in one process, ABAB, both
launched from Python and replayed from a CUDA graph (`graph_ms`: without
the host's cost per launch).

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


ELEMENT_BYTES = {"bf16": 2, "f16": 2, "f32": 4, "i32": 4}


def preprocess_over(grd, pre, first, count):
    """(KernelLaunch, {slot: byte offset}): the preprocess over the rows of
    the `count` (batch, head) pairs from pair `first` on. Its block index
    maps to (pair, row tile) with static strides, so offsetting each
    buffer's address to pair `first` (and the bounds table to its head)
    and launching count * tiles-per-pair blocks computes exactly those
    rows. Needs `count` to divide the head count or be a multiple of it."""
    meta = kernel_of(grd, "preprocess")[0]
    batch, heads = meta["args"][0]["shape"][:2]
    if not (heads % count == 0 or count % heads == 0) or first % count:
        raise SystemExit(f"pairs {first}+{count} do not align with {heads}")
    tiles = pre.grid[0] // (batch * heads)
    offsets = {}
    args = []
    for arg, launch_arg in zip(meta["args"], pre.args):
        rows_bytes = ELEMENT_BYTES[arg["dtype"]]
        for extent in arg["shape"][1:]:
            rows_bytes *= extent
        if arg["kind"] == "constant":  # bounds: one row a head
            address = launch_arg[1] + (first % heads) * rows_bytes
            args.append((launch_arg[0], address) + tuple(launch_arg[2:]))
            continue
        # [B, H, N, ...]: a pair's rows are shape[2:] elements.
        offsets[launch_arg[1]] = first * rows_bytes // heads
        args.append(launch_arg)
    kernel = dataclasses.replace(pre, grid=(count * tiles, 1, 1),
                                 args=tuple(args))
    return kernel, offsets


def chunked_backward(grd, chunks, keep, chunk_preprocess=False):
    """The launch list of the chunked backward: (KernelLaunch, {slot: byte
    offset of that launch's buffer addresses}) pairs."""
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
    heads = kv_meta["args"][0]["shape"][1]
    if chunk_preprocess:  # runs of consecutive pairs
        pairs = [(b, h) for b in range(kv_meta["args"][0]["shape"][0])
                 for h in range(heads)]
    else:  # in the order the cost-sorted list first meets them
        pairs = []
        for b, h, _ in kv_rows:
            if (b, h) not in pairs:
                pairs.append((b, h))
    size = -(-len(pairs) // chunks)
    launches = [] if chunk_preprocess else [(pre, {})]
    for c in range(0, len(pairs), size):
        group = set(pairs[c:c + size])
        if chunk_preprocess:
            launches.append(preprocess_over(grd, pre, c, len(group)))
        kv_part = [r for r in kv_rows
                   if (r[0], r[1]) in group and r[2] in reached[r[1]]]
        dq_part = [r for r in dq_rows if (r[0], r[1]) in group]
        if kv_part:
            launches.append((with_work(kv, kv_constants, kv_part, keep), {}))
        if dq_part:
            launches.append((with_work(dq, dq_constants, dq_part, keep), {}))
    tail = [r for r in kv_rows if r[2] not in reached[r[1]]]
    if tail:
        launches.append((with_work(kv, kv_constants, tail, keep), {}))
    return launches


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chunks", default="1,2,4,8,16,2p,4p,8p")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    shape, (q, k, v, dout), fwd, grd = load_variant(args.dir)
    o, lse = fwd(q, k, v)
    inputs = (q, k, v, o, lse, dout)
    reference = [g.clone() for g in grd(*inputs)]
    slots = grd.launcher.slots
    variants = {"op": lambda: grd(*inputs)}
    outputs = {}
    keep = []
    forms = [(int(c.rstrip("p")), c.endswith("p"))
             for c in args.chunks.split(",")]
    for count, chunk_preprocess in forms:
        buffers = [torch.empty_strided(shape_, strides, **kw)
                   for shape_, strides, kw in grd.allocation_calls()]
        pointers = [t.data_ptr() for t in inputs + tuple(buffers)]
        launchers = []
        for kernel, offsets in chunked_backward(grd, count, keep,
                                                chunk_preprocess):
            moved = [address + offsets.get(slot, 0)
                     for slot, address in enumerate(pointers)]
            launchers.append((op_launcher([kernel], slots, grd.context),
                              moved))

        def run(launchers=launchers):
            stream = torch.cuda.current_stream().cuda_stream  # or capture's
            for launch, moved in launchers:
                launch(moved, stream)

        name = f"chunks{count}" + ("p" if chunk_preprocess else "")
        variants[name] = run
        outputs[name] = (buffers, len(launchers))
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
    # Each launch through Python costs host time (argument packing, tensor
    # maps encoded per call) that a chunked form multiplies; replayed from
    # CUDA graphs, every form pays only the device's launch gaps.
    graphs = {}
    for name, run in variants.items():
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            run()
        graphs[name] = graph
    for _ in range(2):
        for row, run in zip(rows, variants.values()):
            row["ms"].append(bench_ms(run).median)
        for row, graph in zip(rows, graphs.values()):
            row.setdefault("graph_ms", []).append(
                bench_ms(graph.replay).median)
    for row in rows:
        print(json.dumps(row), flush=True)
    with open(os.path.join(args.out, "chunks.json"), "w") as f:
        json.dump(dict(dir=args.dir, shape=shape,
                       device=torch.cuda.get_device_name(), rows=rows), f,
                  indent=1)


if __name__ == "__main__":
    main()
