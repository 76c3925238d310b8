#!/usr/bin/env python3
"""Device probe (issue #11, docs/backward-plan.md section 7, candidate 1's
first measurement): does the dq_stored kernel read dS from L2 when its work
list visits first the query tiles whose dS the dK/dV kernel wrote last?

For each sweep directory (bench/grad_sweep_prepare.py, variants with
score-grads = store), the gradient op is timed by bench_ms with the
dq_stored kernel's work list (its constant `work`, rows (batch, head,
query tile)) permuted in place on the device:

- `compiled`: the list as compiled (heaviest first);
- `reversed`: the same rows backwards;
- `written_last_first`: each query tile ranked by the last position, in the
  dK/dV kernel's list, of the key tiles its rows reach (from the bounds
  table), latest first, so that the first dq_stored items read the dS the
  dK/dV kernel's last wave wrote (the L2's content when it ends).

Each order's gradients are compared bitwise with the compiled order's (the
list's order changes which block runs an item, not what it computes), and
the kernels' times come from the CUDA profiler. A permutation is a probe
only: the compiler's list is what a change would set.

    python bench/dq_order_probe.py --dir .device/x/rE --out $OUT/order
"""

import argparse
import json
import os

import torch

from grad_sweep import kernel_times, load_variant
from sweep_tables import kernel_of, reached_key_tiles
from spa.runtime.timing import bench_ms


def written_last_first(dq_rows, kv_rows, intervals, seq_len, q_tile, k_tile,
                       bidirectional):
    """dq rows ordered by the latest dK/dV list position of a key tile
    they reach, latest first (rows reaching none last)."""
    heads, kv_heads = len(intervals), max(r[1] for r in kv_rows) + 1
    group = heads // kv_heads
    position = {tuple(r): i for i, r in enumerate(kv_rows)}
    rank = []
    for i, (b, h, t) in enumerate(dq_rows):
        tiles = reached_key_tiles(intervals[h], t * q_tile,
                                  min(seq_len, (t + 1) * q_tile) - 1,
                                  seq_len, k_tile, bidirectional)
        latest = max((position.get((b, h // group, j), -1) for j in tiles),
                     default=-1)
        rank.append((-latest, i))
    return [dq_rows[i] for _, i in sorted(rank)]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--variant", default=None,
                        help="the sweep variant (default: the first)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    shape, (q, k, v, dout), fwd, grd = load_variant(args.dir, args.variant)
    n = shape["seq_len"]
    o, lse = fwd(q, k, v)
    dq_meta, dq_constants = kernel_of(grd, "dq_stored")
    kv_meta, kv_constants = kernel_of(grd, "dkdv")
    dq_work = dq_constants["work"]
    compiled = dq_work.clone()
    # Tiles: dq_stored's [own rows, stream keys], dK/dV's [stream rows, own
    # keys] (launch.json `tile`).
    latest_first = written_last_first(
        compiled.tolist(), kv_constants["work"].tolist(),
        kv_constants["bounds"].tolist(), n, dq_meta["tile"][0],
        kv_meta["tile"][1], shape.get("mode", "causal") == "bidirectional")
    orders = {
        "compiled": compiled,
        "reversed": compiled.flip(0),
        "written_last_first": torch.tensor(latest_first, dtype=compiled.dtype,
                                           device=compiled.device),
    }
    reference, rows = None, []
    for name, order in list(orders.items()) + [("compiled_again", compiled)]:
        dq_work.copy_(order)
        grads = grd(q, k, v, o, lse, dout)
        torch.cuda.synchronize()
        if reference is None:
            reference = [g.clone() for g in grads]
        equal = all(torch.equal(g, r) for g, r in zip(grads, reference))
        row = dict(order=name, bitwise_equal=equal,
                   bwd_ms=bench_ms(lambda: grd(q, k, v, o, lse, dout)).median,
                   kernels_ms=kernel_times(lambda: grd(q, k, v, o, lse, dout)))
        print(json.dumps(row), flush=True)
        rows.append(row)
    dq_work.copy_(compiled)
    with open(os.path.join(args.out, "dq_order.json"), "w") as f:
        json.dump(dict(dir=args.dir, variant=args.variant or "first", shape=shape,
                       device=torch.cuda.get_device_name(), rows=rows), f,
                  indent=1)


if __name__ == "__main__":
    main()
