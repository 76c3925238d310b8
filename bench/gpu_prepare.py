#!/usr/bin/env python3
"""Compile the GPU correctness matrix and benchmark layers here (MLIR), for
bench/gpu_device.py to run on the GPU machine (no MLIR there).

Writes DIR/<name>/{kernel.cubin, kernel.ptx, launch.json} and DIR/manifest.json
with each layer's shapes, dtype, band table, scale and useful pairs.

    PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_prepare.py --out .device/spa
"""
import argparse
import json
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, batch, heads, kv_heads, seq_len, query_len, head_dim, value_dim,
# dtype, policy, mode, with_lse, bench
CHECKS = [
    ("ee_bf16_d64_n1000", 1, 8, 8, 1000, 1000, 64, 64, "bf16", "exclusive_equal", "causal", True),
    ("lpb_f16_d128_gqa_nq500", 2, 4, 2, 777, 500, 128, 128, "f16", "local_plus_band", "causal", True),
    ("sw_bf16_bidir_n64", 1, 3, 3, 64, 64, 64, 64, "bf16", "sliding_window", "bidirectional", True),
    ("dense_bf16_nq300_nk200", 1, 2, 1, 200, 300, 128, 128, "bf16", "dense_causal", "causal", True),
    ("ee_bf16_n1", 1, 1, 1, 1, 1, 64, 64, "bf16", "exclusive_equal", "causal", True),
    ("gh_bf16_empty_heads", 1, 16, 4, 20, 20, 64, 64, "bf16", "gapped_half", "causal", True),
    ("pb_bf16_n2048", 1, 16, 16, 2048, 2048, 64, 64, "bf16", "pair_balanced", "causal", False),
    ("tb_f16_n2047_dv64", 1, 16, 8, 2047, 2047, 128, 64, "f16", "tile_balanced", "causal", True),
    ("lpb_bf16_bidir_n513", 1, 4, 4, 513, 513, 64, 64, "bf16", "local_plus_band", "bidirectional", False),
    # f32 inputs: the tf32 mma.sync kernel.
    ("ee_f32_d128_gqa_n777", 1, 4, 2, 777, 777, 128, 128, "f32", "exclusive_equal", "causal", True),
    ("lpb_f32_d64_nq300_nk500", 1, 4, 4, 500, 300, 64, 64, "f32", "local_plus_band", "causal", True),
    ("dense_f32_nq300_nk200_dv32", 1, 2, 1, 200, 300, 48, 32, "f32", "dense_causal", "causal", True),
    ("sw_f32_bidir_n1", 1, 1, 1, 1, 1, 32, 32, "f32", "sliding_window", "bidirectional", True),
]
# Heads with more intervals than the kernel unrolls (4): the run-time
# interval loop, on every schedule (policy name = explicit table).
MANY = [[(7 * i + h, 7 * i + h + 4) for i in range(9)] for h in range(4)]
MANY_INTERVAL_CHECKS = [
    ("many_bf16_d64_n300", 1, 4, 2, 300, 300, 64, 64, "bf16", "table", "causal", True),
    ("many_f16_d128_bidir_nq200_nk333", 1, 4, 4, 333, 200, 128, 128, "f16", "table", "bidirectional", True),
    ("many_f32_d64_n130", 1, 4, 1, 130, 130, 64, 64, "f32", "table", "causal", True),
]
# Kernel shape variants (warps per block, keys per tile) checked for
# correctness on odd shapes and timed on one benchmark shape.
VARIANT_CHECKS = [
    ("w8k32_bf16_d16_n333", 1, 4, 2, 333, 333, 16, 16, "bf16", "local_plus_band", "causal", True, 8, 32),
    ("w2k128_f16_d64_nq100", 1, 3, 3, 257, 100, 64, 64, "f16", "exclusive_equal", "causal", True, 2, 128),
    ("w8k64_bf16_bidir_n200", 1, 2, 1, 200, 200, 128, 128, "bf16", "dense_causal", "bidirectional", True, 8, 64),
    ("w1k16_bf16_n50", 1, 2, 2, 50, 50, 32, 32, "bf16", "pair_balanced", "causal", True, 1, 16),
    # wgmma with two warpgroups and 16-key tiles: 256 threads copy 128-chunk
    # K/V tiles (the guard against writes past the tile).
    ("w8k16_bf16_d64_n300_wgmma", 1, 4, 2, 300, 300, 64, 64, "bf16", "local_plus_band", "causal", True, 8, 16),
    ("w8k16_f16_d64_bidir_n150_wgmma", 1, 2, 2, 150, 150, 64, 64, "f16", "sliding_window", "bidirectional", True, 8, 16),
]
VARIANT_BENCH = [(8, 64), (4, 32), (8, 32), (2, 64)]
BENCH_SHAPES = [(4, 16, 4096, 64), (2, 16, 8192, 128), (1, 32, 16384, 128)]
BENCH_POLICIES = ["exclusive_equal", "local_plus_band", "pair_balanced",
                  "tile_balanced"]


def compile_layer(spa, layer, out, chip):
    """Compiles one layer (a dict of shapes, dtype, policy, mode, with_lse,
    warps, mma and optionally tile_k, stages) into out/<name>; adds what
    bench/gpu_device.py needs (band table, scale, useful pairs, the kernel's
    grid, matrix instructions and shared memory). Returns the artifact."""
    table = layer.get("table")  # an explicit band table instead of a policy
    spec = spa.LayerSpec(
        batch=layer["batch"], heads=layer["heads"],
        kv_heads=layer["kv_heads"], seq_len=layer["seq_len"],
        query_len=layer["query_len"], head_dim=layer["head_dim"],
        value_dim=layer["value_dim"], dtype=layer["dtype"],
        policy=layer["policy"], mode=layer["mode"], bands=table,
        with_lse=layer["with_lse"])
    warps, tile_k = layer["warps"], layer.get("tile_k", 64)
    extra = {key: layer[key] for key in ("forward_schedule", "split_keys",
                                         "blocks_per_sm", "successor_prefetch",
                                         "zero_tail_items", "tma_stores",
                                         "zero_tail_with_items",
                                         "zero_tail_spread",
                                         "stmatrix_staging")
             if key in layer}
    artifact = spa.compile(spec, target=f"cuda:{chip}", warps=warps,
                           tile_k=tile_k, mma=layer["mma"],
                           stages=layer.get("stages", 0), **extra)
    artifact.save(os.path.join(out, layer["name"]))
    if table is not None:
        plan = spa.bands.BandPlan(
            mode=layer["mode"], heads=table, seq_len=layer["seq_len"],
            query_len=layer["query_len"], report=spa.bands.analyze(
                layer["mode"], table, layer["query_len"], layer["seq_len"],
                (16 * warps, tile_k)))
    else:
        plan = spa.bands.plan(layer["policy"], layer["seq_len"],
                              layer["heads"], mode=layer["mode"],
                              query_len=layer["query_len"],
                              tile=(16 * warps, tile_k))
    kernel = artifact.kernel
    layer.update(
        bands=plan.heads, scale=1.0 / math.sqrt(layer["head_dim"]),
        pairs=plan.report["total_pairs"] * layer["batch"],
        work_items=kernel["grid"][0], mma=kernel.get("mma", "?"),
        shared_bytes=kernel.get("kernel_shared_bytes"))
    # The kernel must use exactly the planner's table.
    assert kernel["bands"] == plan.to_attr(), (kernel["bands"],
                                               plan.to_attr())
    return artifact


def compile_layers(spa, layers, out, chip):
    """compile_layer for each of `layers` (complete: warps, mma and stages
    set), then out/manifest.json, which bench/gpu_device.py reads."""
    for layer in layers:
        start = time.time()
        artifact = compile_layer(spa, layer, out, chip)
        print(f"{layer['name']:40s} {time.time() - start:5.1f} s, "
              f"{len(artifact.cubin)} B cubin, {layer['work_items']} blocks, "
              f"{layer['mma']}",
              flush=True)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(layers, f, indent=1)
    print(f"wrote {len(layers)} layers to {out}")


def overlap_twins(layers):
    """forward_schedule=overlap twins of the layers the wgmma kernel takes:
    every check at stages 3 (the default of the schedule), the checks with
    intervals or odd shapes also at stages 2 and with two warpgroups; every
    benchmark at stages 3, the headline shape also in the other shapes."""
    twins = []
    for l in layers:
        if (l["dtype"] == "f32" or l["head_dim"] % 64 or l["value_dim"] % 64
                or l.get("mma") == "mma.sync" or l["name"].endswith("_ring")):
            continue
        base = dict(l, forward_schedule="overlap")
        twins.append(dict(base, name=l["name"] + "_overlap", stages=3))
        if not l["bench"]:
            twins.append(dict(base, name=l["name"] + "_overlap_s2", stages=2))
            twins.append(dict(base, name=l["name"] + "_overlap_w8", stages=3,
                              warps=8))
        elif "_b2_h16_n8192_d128" not in l["name"]:
            twins.append(dict(base, name=f"{l['name']}_overlap_w4", warps=4))
        else:
            for warps, tile_k, stages in ((4, 64, 2), (4, 64, 4), (8, 64, 2),
                                          (8, 64, 3), (4, 128, 2)):
                twins.append(dict(
                    base, name=f"{l['name']}_overlap_w{warps}k{tile_k}s{stages}",
                    warps=warps, tile_k=tile_k, stages=stages))
    return twins


def ws_twins(layers, schedule="ws"):
    """forward_schedule=ws (or ws-overlap, ws-pingpong) twins of the layers
    the wgmma kernel takes: every check with two consumer warpgroups (warps
    8) and with one (warps 4), the checks with intervals or odd shapes also
    at stages 2; every benchmark with warps 8 and 4, the headline shape also
    in the schedule's other shapes. ws-pingpong takes warps 8 only."""
    twins = []
    tag = schedule.replace("-", "_")
    two_only = schedule == "ws-pingpong"
    for l in layers:
        if (l["dtype"] == "f32" or l["head_dim"] % 64 or l["value_dim"] % 64
                or l.get("mma") == "mma.sync" or l["name"].endswith("_ring")):
            continue
        base = dict(l, forward_schedule=schedule, stages=0)
        twins.append(dict(base, name=f"{l['name']}_{tag}", warps=8))
        if not l["bench"]:
            if not two_only:
                twins.append(dict(base, name=f"{l['name']}_{tag}_w4",
                                  warps=4))
            if l.get("table") or l["query_len"] != l["seq_len"]:
                twins.append(dict(base, name=f"{l['name']}_{tag}_s2",
                                  warps=8, stages=2))
        elif "_b2_h16_n8192_d128" not in l["name"]:
            if not two_only:
                twins.append(dict(base, name=f"{l['name']}_{tag}_w4",
                                  warps=4))
        else:
            for warps, tile_k, stages in ((4, 64, 0), (8, 64, 2), (8, 128, 0)):
                if two_only and warps != 8:
                    continue
                twins.append(dict(
                    base, name=f"{l['name']}_{tag}_w{warps}k{tile_k}s{stages}",
                    warps=warps, tile_k=tile_k, stages=stages))
    return twins


def ws12_twins(layers):
    """forward_schedule=ws twins with three consumer warpgroups (warps 12,
    192-row work items sharing each K/V tile) of the layers the wgmma kernel
    takes, named <layer>_ws12; the checks with intervals or odd shapes also
    at stages 2 (<layer>_ws12_s2)."""
    twins = []
    for l in layers:
        if (l["dtype"] == "f32" or l["head_dim"] % 64 or l["value_dim"] % 64
                or l.get("mma") == "mma.sync" or l["name"].endswith("_ring")
                or l.get("forward_schedule")):
            continue
        base = dict(l, forward_schedule="ws", stages=0, warps=12)
        twins.append(dict(base, name=f"{l['name']}_ws12"))
        if not l["bench"] and (l.get("table")
                               or l["query_len"] != l["seq_len"]):
            twins.append(dict(base, name=f"{l['name']}_ws12_s2", stages=2))
    return twins


def blocks_twins(layers, blocks):
    """blocks_per_sm twins of the layers the serial wgmma kernel takes at
    D = Dv = 128 (the ones whose registers, not shared memory, hold them to
    3 blocks an SM): every check and benchmark, named <layer>_b<blocks>."""
    twins = []
    for l in layers:
        if (l["dtype"] == "f32" or l["head_dim"] != 128
                or l["value_dim"] != 128 or l.get("mma") == "mma.sync"
                or l.get("forward_schedule") or l.get("stages", 0) > 1
                or l.get("warps", 4) != 4 or l.get("split_keys", 1) > 1):
            continue
        # forward_schedule = auto keeps the serial kernel with blocks_per_sm
        # (it would take ws for local_plus_band at N >= 4096).
        twins.append(dict(l, name=f"{l['name']}_b{blocks}",
                          blocks_per_sm=blocks))
    return twins


def successor_twins(layers, distances):
    """successor_prefetch twins of the default kernel's benchmark layers at
    the headline shape (B=2 H=16 N=8192 D=128, every policy): each block
    also sends the Q tile of work item +N to L2 (the first wait of an
    item); named <layer>_n<N>."""
    twins = []
    for l in layers:
        if (not l["bench"] or l.get("mma") == "mma.sync"
                or l["name"] != f"bench_{l['policy']}_b2_h16_n8192_d128"):
            continue
        for n in distances:
            twins.append(dict(l, name=f"{l['name']}_n{n}",
                              successor_prefetch=n))
    return twins


def wide_row_twins(layers):
    """128-row twins of the serial wgmma kernel's benchmark layers at D = Dv
    = 128: warps 8 (two warpgroups share every K and V tile; one block an
    SM at 163 registers), warps 8 with blocks_per_sm = 2 (128 registers,
    four warpgroups an SM against the 64-row kernel's three), and the
    two-stage ring at warps 8 and blocks_per_sm = 2, whose warpgroups skip
    the tiles their rows do not reach; named <layer>_w8, _w8b2, _w8s2b2;
    at D = 64 the skipping ring alone (<layer>_w8s2).
    And the checks on that ring (warps 8, stages 2 and 4: <check>_w8s2,
    _w8s4) for its correctness. Whether half the K/V traffic from L2
    pays for the 128-row item's extra edge tiles (docs/forward-plan.md)."""
    twins = []
    for l in layers:
        # Every check the wgmma kernel takes, on the ring that skips tiles
        # per warpgroup (two warpgroups, stages 2 and 4).
        # (The _ring checks are already stages-2 layers: their twins would
        # repeat the plain checks' kernels.)
        if (not l["bench"] and l["dtype"] != "f32" and not l["head_dim"] % 64
                and not l["value_dim"] % 64 and l.get("mma") != "mma.sync"
                and not l.get("forward_schedule")
                and not l["name"].endswith("_ring")):
            for stages in (2, 4):
                twins.append(dict(l, name=f"{l['name']}_w8s{stages}", warps=8,
                                  stages=stages, forward_schedule="serial"))
            continue
        if (not l["bench"] or l.get("mma") == "mma.sync"
                or l.get("forward_schedule") or l.get("warps", 4) != 4):
            continue
        if l["head_dim"] == 64 and l["value_dim"] == 64:
            # D = 64: the skipping ring at ptxas's 121 registers (two blocks,
            # four warpgroups an SM, against the 64-row ring's five; three
            # blocks spill 544 bytes).
            twins.append(dict(l, name=f"{l['name']}_w8s2", warps=8, stages=2,
                              forward_schedule="serial"))
            continue
        if l["head_dim"] != 128 or l["value_dim"] != 128:
            continue
        wide = dict(l, warps=8, forward_schedule="serial")
        twins.append(dict(wide, name=f"{l['name']}_w8"))
        twins.append(dict(wide, name=f"{l['name']}_w8b2", blocks_per_sm=2))
        # The ring (stages 2) skips per warpgroup the tiles its rows do not
        # reach (MainloopSm90Ring); 96 KiB, two blocks an SM.
        twins.append(dict(wide, name=f"{l['name']}_w8s2b2", stages=2,
                          blocks_per_sm=2))
    return twins


def split_twins(layers):
    """split_keys twins of every correctness layer (both MMA kernels, f32,
    the schedules, many intervals): 3 shares (uneven), and 8 on the
    layers with intervals or odd shapes."""
    twins = []
    for l in layers:
        if l["bench"]:
            continue
        twins.append(dict(l, name=l["name"] + "_split3", split_keys=3))
        if l.get("table") or l["query_len"] != l["seq_len"]:
            twins.append(dict(l, name=l["name"] + "_split8", split_keys=8))
    return twins


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.path.join(ROOT, ".device", "spa"))
    parser.add_argument("--chip", default="sm_90a")
    parser.add_argument("--no-bench", action="store_true")
    parser.add_argument("--variants", action="store_true",
                        help="only the kernel-shape variants")
    parser.add_argument("--warps", type=int, default=4,
                        help="warps per block where a layer names none")
    parser.add_argument("--mma", default="auto",
                        help="matrix instructions where a layer names none")
    parser.add_argument("--stages", type=int, default=0,
                        help="wgmma K/V buffers where a layer names none")
    parser.add_argument("--quick", action="store_true",
                        help="benchmark only B=2 H=16 N=8192 D=128")
    parser.add_argument("--overlap", action="store_true",
                        help="add twins of every wgmma layer with "
                        "forward_schedule=overlap (checks: stages 3 and 2, "
                        "warps 4 and 8; benchmarks: the schedule's "
                        "variants on the headline shape)")
    parser.add_argument("--ws", action="store_true",
                        help="add twins of every wgmma layer with "
                        "forward_schedule=ws (checks: warps 8 and 4, stages "
                        "2; benchmarks: the schedule's variants on the "
                        "headline shape)")
    parser.add_argument("--ws-overlap", action="store_true",
                        help="the same twins with forward_schedule="
                        "ws-overlap")
    parser.add_argument("--ws-pingpong", action="store_true",
                        help="the same twins (warps 8 only) with "
                        "forward_schedule=ws-pingpong")
    parser.add_argument("--ws12", action="store_true",
                        help="add forward_schedule=ws twins with three "
                        "consumer warpgroups (warps 12) of every wgmma layer")
    parser.add_argument("--split", action="store_true",
                        help="add split_keys twins (3 and 8 shares) of "
                        "every correctness layer")
    parser.add_argument("--blocks-per-sm", type=int, default=0,
                        help="add blocks_per_sm twins of the serial wgmma "
                        "layers at D = Dv = 128 (checks and benchmarks)")
    parser.add_argument("--wide-rows", action="store_true",
                        help="add 128-row twins (warps 8, serial; and with "
                        "blocks_per_sm=2; the ring with stages 2) of the D = "
                        "128 benchmark layers, and ring twins (warps 8, "
                        "stages 2 and 4) of the wgmma checks")
    parser.add_argument("--successor-prefetch", default="",
                        help="comma-separated distances: successor_prefetch "
                        "twins of the headline shape's benchmark layers")
    parser.add_argument("--bench-only", action="store_true",
                        help="only the benchmark layers, no correctness matrix")
    parser.add_argument("--tma-stores", action="store_true",
                        help="every layer with tma_stores=True (the staged "
                        "epilogue's O out by TMA bulk tensor stores)")
    parser.add_argument("--stmatrix-staging", action="store_true",
                        help="every layer with stmatrix_staging=True (the "
                        "staged O written by stmatrix)")
    parser.add_argument("--zero-tail-items", type=int, default=0,
                        help="every layer with zero_tail_items=N (a block "
                        "writes N items of the work list's zero tail)")
    parser.add_argument("--zero-tail-with-items", action="store_true",
                        help="every layer with zero_tail_with_items=True (the "
                        "zero tail written by the blocks of the items with "
                        "keys)")
    parser.add_argument("--zero-tail-spread", action="store_true",
                        help="every layer with zero_tail_spread=True (the "
                        "zero tail's own blocks spread among the items' "
                        "blocks)")
    args = parser.parse_args()
    import spa

    layers = [dict(name=c[0], batch=c[1], heads=c[2], kv_heads=c[3],
                   seq_len=c[4], query_len=c[5], head_dim=c[6], value_dim=c[7],
                   dtype=c[8], policy=c[9], mode=c[10], with_lse=c[11],
                   bench=False) for c in CHECKS]
    layers += [dict(name=c[0], batch=c[1], heads=c[2], kv_heads=c[3],
                    seq_len=c[4], query_len=c[5], head_dim=c[6],
                    value_dim=c[7], dtype=c[8], policy=c[9], mode=c[10],
                    with_lse=c[11], bench=False, table=MANY)
               for c in MANY_INTERVAL_CHECKS]
    # The same checks on the portable mma.sync kernel (auto picks wgmma for
    # f16/bf16 with D and Dv multiples of 64 on sm_90a; f32 is mma.sync).
    layers += [dict(l, name=l["name"] + "_mmasync", mma="mma.sync")
               for l in list(layers) if l["head_dim"] % 64 == 0
               and l["value_dim"] % 64 == 0 and l["dtype"] != "f32"]
    # The chained and ring wgmma schedules both.
    layers += [dict(l, name=l["name"] + "_ring", stages=2) for l in layers
               if l.get("table") and l["dtype"] != "f32"
               and l.get("mma") != "mma.sync"]
    if args.variants:
        layers = [dict(name=c[0], batch=c[1], heads=c[2], kv_heads=c[3],
                       seq_len=c[4], query_len=c[5], head_dim=c[6],
                       value_dim=c[7], dtype=c[8], policy=c[9], mode=c[10],
                       with_lse=c[11], bench=False, warps=c[12],
                       tile_k=c[13]) for c in VARIANT_CHECKS]
        for warps, tile_k in VARIANT_BENCH:
            for policy in ("exclusive_equal", "local_plus_band"):
                layers.append(dict(
                    name=f"bench_{policy}_b2_h16_n8192_d128_w{warps}k{tile_k}",
                    batch=2, heads=16, kv_heads=16, seq_len=8192,
                    query_len=8192, head_dim=128, value_dim=128, dtype="bf16",
                    policy=policy, mode="causal", with_lse=True, bench=True,
                    warps=warps, tile_k=tile_k))
    elif not args.no_bench:
        shapes = BENCH_SHAPES[1:2] if args.quick else BENCH_SHAPES
        for b, h, n, d in shapes:
            for policy in BENCH_POLICIES:
                layers.append(dict(
                    name=f"bench_{policy}_b{b}_h{h}_n{n}_d{d}", batch=b,
                    heads=h, kv_heads=h, seq_len=n, query_len=n, head_dim=d,
                    value_dim=d, dtype="bf16", policy=policy, mode="causal",
                    with_lse=True, bench=True))
        # The portable kernel on the headline shape, for comparison.
        for policy in ("exclusive_equal", "local_plus_band"):
            layers.append(dict(
                name=f"bench_{policy}_b2_h16_n8192_d128_mmasync", batch=2,
                heads=16, kv_heads=16, seq_len=8192, query_len=8192,
                head_dim=128, value_dim=128, dtype="bf16", policy=policy,
                mode="causal", with_lse=True, bench=True, mma="mma.sync"))
    if args.zero_tail_items:
        layers = [dict(l, zero_tail_items=args.zero_tail_items)
                  for l in layers]
    if args.zero_tail_with_items:
        layers = [dict(l, zero_tail_with_items=True) for l in layers]
    if args.zero_tail_spread:
        layers = [dict(l, zero_tail_spread=True) for l in layers]
    if args.tma_stores:
        layers = [dict(l, tma_stores=True) for l in layers]
    if args.stmatrix_staging:
        layers = [dict(l, stmatrix_staging=True) for l in layers]
    if args.overlap:
        layers += overlap_twins(layers)
    twins = []
    for schedule, wanted in (("ws", args.ws), ("ws-overlap", args.ws_overlap),
                             ("ws-pingpong", args.ws_pingpong)):
        if wanted:
            twins += ws_twins(layers, schedule)
    layers += twins
    if args.ws12:
        layers += ws12_twins(layers)
    if args.blocks_per_sm:
        layers += blocks_twins(layers, args.blocks_per_sm)
    if args.wide_rows:
        layers += wide_row_twins(layers)
    if args.successor_prefetch:
        layers += successor_twins(
            layers, [int(n) for n in args.successor_prefetch.split(",")])
    if args.split:
        layers += split_twins(layers)
    if args.bench_only:
        layers = [l for l in layers if l["bench"]]
    for layer in layers:
        layer.setdefault("warps", args.warps)
        layer.setdefault("mma", args.mma)
        if layer["mma"] != "mma.sync":
            layer.setdefault("stages", args.stages)
    compile_layers(spa, layers, args.out, args.chip)


if __name__ == "__main__":
    sys.exit(main())
