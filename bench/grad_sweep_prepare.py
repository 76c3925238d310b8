#!/usr/bin/env python3
"""Compiles the backward sweep of bench/grad_sweep.py (here, with MLIR):
SPEC.md's headline layer (B=2 H=16 N=8192 D=128 bf16 exclusive_equal,
forward with lse + gradient) under several tile shapes. A variant name
w<warps>k<tile-k> compiles the default (deterministic) backward;
w<warps>k<tile-k>a compiles it with deterministic=False (dQ by f32
atomics from the dK/dV kernel: roles preprocess, dkdv_dq, dq_convert; auto
takes the warp-specialised fused form where it applies, al the classic
kernel); an
s compiles it with backward_schedule="ws" (the warp-specialised dK/dV
kernel: a TMA producer warp and two consumer warpgroups of 64 keys; the
warps apply to the dQ kernel only), an l with backward_schedule="classic";
a c compiles it with tma=False
(every thread's cp.async instead of TMA tile loads), and a final d with
score_grads="store" (the dK/dV kernel stores dS, the dQ kernel is one
product a tile pair: roles preprocess, dkdv, dq_stored) or r with
score_grads="recompute" (the dQ kernel recomputes S and dP), after d a p with
score_grad_layout="compact" (the dS scratch holds the visited tile pairs
only, through a table of slot bases) and a q with stored_dq_rows=128 (the
dq_stored kernel on 128-row items, two warpgroups sharing each K tile),
then f<N> with score_grad_prefetch=N (the dq_stored kernel prefetches
its dS tiles into L2 N tiles ahead of its ring), n<N> with
successor_prefetch=N (each block of the dK/dV and dQ kernels sends the own
tiles of work item +N to L2), x with shared_stream_lse=True (the
classic dK/dV kernel's lse through shared memory), y with
shared_stream_delta=True (its Delta the same way), z<N> with
zero_tail_items=N (a block writes N items of each kernel's zero tail),
v<N> with wave_stagger_ns=N (the forward's first wave started apart,
N ns a key tile a slot; v-1: off), and a final g with
programmatic_launch=True (every kernel waits for the grids before it with
griddepcontrol and is launched with programmatic stream serialization;
the default on sm_90a since 2026-12-07) or h with programmatic_launch=False,
and a last e with tma_stores=False (the staged epilogues' rows out by
every thread's 16-byte stores) or t with tma_stores=True (by TMA bulk
tensor stores, one lane a warp), and a final u with
score_grad_warp_stores=True (each warp of the dK/dV kernel stores its own
rows of the dS tile: no block barrier a tile) and a final m with
stmatrix_staging=True (staged rows written by stmatrix), and a last
i<N> with interleaved_dq=True, interleaved_dq_lag=N (the dq_stored
blocks in the dK/dV kernel's launch, each N dK/dV items after the last
one whose dS it reads: roles preprocess, dkdv_dq_stored), o<S> after it
with interleaved_dq_stages=S (its dQ blocks' ring), and a very last j with
zero_tail_with_items=True (each kernel's zero tail written by the blocks of
its items with keys) or b with zero_tail_with_items=False (blocks of its
own, as auto does: measured slower, 2026-12-08), and after all an S with
zero_tail_spread=True (the tail's own blocks spread among the items'
blocks in the launch order instead of last).

    PYTHONPATH=build/python_packages .venv/bin/python bench/grad_sweep_prepare.py \\
        --out .device/sweep [--variants w4k64,w8k64,...] [--policy P]
        [--batch B --heads H --seq-len N]

--append adds the variants to an existing sweep's manifest and --tag T
names them <variant>_T: with another tree's spa on PYTHONPATH (say main's
build, for the kernels before a change) both land in one sweep, timed in
the same process by grad_sweep.py.
"""

import argparse
import json
import os
import re

import spa


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--variants", default="w4k64,w8k64,w4k32,w8k32,w4k128,w8k128")
    parser.add_argument("--policy", default="exclusive_equal")
    parser.add_argument("--seq-len", type=int, default=8192)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--head-dim", type=int, default=128)
    parser.add_argument("--append", action="store_true",
                        help="add to the manifest already in --out")
    parser.add_argument("--tag", default="",
                        help="suffix of the variant names (_TAG)")
    args = parser.parse_args()
    shape = dict(batch=args.batch, heads=args.heads, seq_len=args.seq_len,
                 head_dim=args.head_dim, policy=args.policy)
    text = spa.LayerSpec(batch=args.batch, heads=args.heads,
                         kv_heads=args.heads, seq_len=args.seq_len,
                         query_len=args.seq_len, head_dim=args.head_dim,
                         value_dim=args.head_dim, dtype="bf16",
                         policy=args.policy, mode="causal").to_mlir(backward=True)
    variants = []
    manifest_path = os.path.join(args.out, "manifest.json")
    if args.append and os.path.exists(manifest_path):
        with open(manifest_path) as f:
            previous = json.load(f)
        if previous["shape"] != shape:
            parser.error(f"--append: {manifest_path} is a sweep of "
                         f"{previous['shape']}, not {shape}")
        variants = previous["variants"]
    for name in args.variants.split(","):
        m = re.fullmatch(
            r"w(\d+)k(\d+)(a?)([sl]?)(c?)([dr]?)(p?)(q?)(?:f(\d+))?(?:n(\d+))?(x?)(y?)(?:z(\d+))?(?:v(-?\d+))?([gh]?)([et]?)(u?)(m?)(?:i(\d+)(?:o(\d))?)?([bj]?)(S?)",
            name)
        if not m:
            parser.error(f"variant {name!r}: expected "
                         "w<warps>k<tile-k>[a][s|l][c][d[p][q][f<N>]|r][n<N>][x][y][z<N>][v<N>][g|h][e|t][u][m][i<N>[o<S>]][b|j]")
        options = dict(warps=int(m.group(1)), tile_k=int(m.group(2)))
        if m.group(3):
            options["deterministic"] = False
        if m.group(4):
            options["backward_schedule"] = {"s": "ws", "l": "classic"}[m.group(4)]
        if m.group(5):
            options["tma"] = False
        if m.group(6):
            options["score_grads"] = {"d": "store", "r": "recompute"}[m.group(6)]
        if (m.group(7) or m.group(8) or m.group(9)) and m.group(6) != "d":
            parser.error(f"variant {name!r}: p, q and f apply to d (the "
                         "stored dS)")
        if m.group(7):
            options["score_grad_layout"] = "compact"
        if m.group(8):
            options["stored_dq_rows"] = 128
        if m.group(9):
            options["score_grad_prefetch"] = int(m.group(9))
        if m.group(10):
            options["successor_prefetch"] = int(m.group(10))
        if m.group(11):
            options["shared_stream_lse"] = True
        if m.group(12):
            options["shared_stream_delta"] = True
        if m.group(13):
            options["zero_tail_items"] = int(m.group(13))
        if m.group(14):
            options["wave_stagger_ns"] = int(m.group(14))
        if m.group(15):
            options["programmatic_launch"] = m.group(15) == "g"
        if m.group(16):
            options["tma_stores"] = m.group(16) == "t"
        if m.group(17):
            options["score_grad_warp_stores"] = True
        if m.group(18):
            options["stmatrix_staging"] = True
        if m.group(19):
            options["interleaved_dq"] = True
            options["interleaved_dq_lag"] = int(m.group(19))
        if m.group(20):
            options["interleaved_dq_stages"] = int(m.group(20))
        if m.group(21):
            options["zero_tail_with_items"] = m.group(21) == "j"
        if m.group(22):
            options["zero_tail_spread"] = True
        art = spa.compile(text, target="cuda:sm_90a", **options)
        saved = name + ("_" + args.tag if args.tag else "")
        art.save(os.path.join(args.out, saved))
        variants.append(dict(name=saved, options=options,
                             spa=os.path.dirname(spa.__file__)))
        print(saved, "ok", flush=True)
    with open(manifest_path, "w") as f:
        json.dump(dict(shape=shape, variants=variants), f, indent=1)


if __name__ == "__main__":
    main()
