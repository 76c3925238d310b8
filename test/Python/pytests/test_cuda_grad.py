"""CUDA artifacts of gradient ops (compiled here with ptxas; launching needs
a GPU: bench/gpu_grad_check.py): the three backward kernels in launch order
next to the forward's, their launch contracts, and how the MLIR-free runtime
groups an artifact's kernels by op (inputs, outputs, scratch)."""
import re

import pytest

import spa
from spa.runtime.cuda import op_launches

from cuda_grad_support import module_text, needs_ptxas, grad_layer  # noqa: F401


def layer(**changes):
    return grad_layer(32, **changes)


@needs_ptxas
@pytest.mark.parametrize("chip", ["sm_90a", "sm_80"])
def test_forward_and_gradient_in_one_artifact(chip):
    artifact = spa.compile(module_text(spa, layer()), target=f"cuda:{chip}")
    assert artifact.cubin[:4] == b"\x7fELF"
    assert f".target {chip}" in artifact.ptx
    kernels = artifact.metadata["kernels"]
    # Two backward launches: dQ first (it computes Delta), then dK/dV.
    assert [(k["op"], k["role"]) for k in kernels] == [
        (0, "forward"), (1, "dq"), (1, "dkdv")]
    assert [k["name"] for k in kernels[1:]] == [
        "spa_attention_grad_1_dq", "spa_attention_grad_1_dkdv"]
    for k in kernels[1:]:
        assert k["mma"] == "mma.sync"
        assert ".entry " + k["name"] in artifact.ptx
    assert "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32" in \
        artifact.ptx
    dq, dkdv = kernels[1:]
    # The dQ kernel reads O for Delta, which it writes to the f32 scratch
    # the dK/dV kernel reads.
    delta = next(a for a in dq["args"] if a["name"] == "delta")
    assert (delta["kind"], delta["dtype"], delta["shape"]) == (
        "scratch", "f32", [2, 4, 100])
    assert next(a for a in dq["args"] if a["name"] == "output")["kind"] == \
        "input"
    # dK/dV: every (batch, kv head, 64-key tile) once; dQ: every (batch,
    # head, 64-row query tile) once.
    for kernel, heads, tiles in ((dkdv, 2, 3), (dq, 4, 2)):
        work = next(a for a in kernel["args"] if a["name"] == "work")
        items = sorted(zip(work["values"][0::3], work["values"][1::3],
                           work["values"][2::3]))
        assert items == [(b, h, t) for b in range(2) for h in range(heads)
                         for t in range(tiles)]
        assert kernel["grid"] == [len(items), 1, 1]
        # Four padded tiles (64 own + 64 stream rows) of D and Dv.
        assert kernel["shared_bytes"] == 128 * (72 + 40) * 2
    kinds = {a["name"]: a["kind"] for a in dkdv["args"]}
    assert kinds == {"query": "input", "key": "input", "value": "input",
                     "log_sum_exp": "input", "output_grad": "input",
                     "delta": "scratch", "key_grad": "output",
                     "value_grad": "output", "bounds": "constant",
                     "work": "constant"}
    assert [a["name"] for a in dq["args"]] == [
        "query", "key", "value", "log_sum_exp", "output_grad", "delta",
        "output", "query_grad", "bounds", "work"]


@needs_ptxas
@pytest.mark.parametrize("warps,head_dim,value_dim,dtype", [
    (4, 128, 128, "bf16"), (8, 64, 128, "f16"), (4, 128, 64, "bf16")])
def test_wgmma_gradient_kernels(warps, head_dim, value_dim, dtype):
    # mma = wgmma: both product kernels on wgmma, assembled by ptxas for
    # sm_90a (register or PTX errors fail here).
    text = module_text(spa, layer(head_dim=head_dim, value_dim=value_dim,
                                  dtype=dtype))
    # score_grads="recompute": the dQ kernel of three products (auto
    # stores dS at D = Dv = 128: test_stored_score_grads below).
    artifact = spa.compile(text, target="cuda:sm_90a", mma="wgmma",
                           warps=warps, score_grads="recompute")
    assert artifact.cubin[:4] == b"\x7fELF"
    dq, dkdv = artifact.metadata["kernels"][1:]
    assert (dkdv["mma"], dq["mma"]) == ("wgmma", "wgmma")
    rows = 16 * warps
    # Swizzled own tiles, two stages of 64-row stream tiles, no padding;
    # then the TMA loads' three 8-byte mbarriers; at D = Dv = 128, warps 4
    # the recomputing dK/dV kernel also stages its stream rows' lse
    # ([2][64] f32) and Delta ([64] f32) by auto (docs/gpu.md).
    staged = 768 if (warps, head_dim, value_dim) == (4, 128, 128) else 0
    for kernel in (dkdv, dq):
        assert kernel["shared_bytes"] == \
            (rows + 2 * 64) * (head_dim + value_dim) * 2 + 24 + \
            (staged if kernel is dkdv else 0)
        # The loads' maps, then (dK/dV, tma_stores by default) the maps
        # of the staged dK and dV rows, 16-row boxes (a warp's rows).
        maps = [a for a in kernel["args"] if a["kind"] == "tensor_map"]
        assert [m["name"] for m in maps] == (
            ["key_map", "value_map", "query_map", "output_grad_map",
             "key_grad_map", "value_grad_map"]
            if kernel is dkdv else
            ["query_map", "output_grad_map", "key_map", "value_map"])
        assert [m["box"][1] for m in maps] == [rows, rows, 64, 64] + (
            [16, 16] if kernel is dkdv else [])
    # The dK/dV kernel's PTX (after the dQ kernel's).
    ptx = artifact.ptx[artifact.ptx.index(".entry " + dkdv["name"]):]
    # own x stream^T from shared memory (N = 64 stream rows), and the
    # accumulating products with A in registers and B transposed.
    assert f"wgmma.mma_async.sync.aligned.m64n64k16.f32.{dtype}.{dtype}" in ptx
    assert re.search(r"%rd\d+, %rd\d+, p, 1,\s+1, 0,\s+0;", ptx)
    assert re.search(r"}, %rd\d+, p, 1, 1, 1;", ptx)
    # Tiles by TMA on transaction barriers, not by every thread's cp.async:
    # the only cp.async copies are the staged statistics' 4-byte ones
    # (whose commit groups the wait_group 1 counts).
    assert "cp.async.bulk.tensor.4d.shared::cluster.global.tile" in ptx
    assert "mbarrier.try_wait.parity" in ptx
    sizes = re.findall(r"cp\.async\.c[ag]\.shared\.global[^;]*, (\d+);", ptx)
    assert set(sizes) == ({"4"} if staged else set())
    if not staged:
        assert not re.search(r"cp\.async\.wait_group\s+1;", ptx)


@needs_ptxas
@pytest.mark.parametrize("changes,options,mma", [
    # mma = auto: wgmma on sm_90a at D, Dv = 64 or 128 with warps 4 or 8.
    (dict(value_dim=64), {}, "wgmma"),
    (dict(head_dim=128, value_dim=128), dict(warps=8), "wgmma"),
    (dict(), {}, "mma.sync"),                      # Dv = 32
    (dict(value_dim=64), dict(warps=2), "mma.sync"),
    (dict(head_dim=256, value_dim=256), {}, "mma.sync"),  # not verified
    (dict(value_dim=64), dict(mma="mma.sync"), "mma.sync"),
])
def test_gradient_kernel_choice(changes, options, mma):
    text = module_text(spa, layer(**changes))
    kernels = spa.compile(text, target="cuda:sm_90a",
                          **options).metadata["kernels"]
    assert [k["role"] for k in kernels] == ["forward", "dq", "dkdv"]
    assert [k["mma"] for k in kernels[1:]] == [mma, mma]


@needs_ptxas
def test_runtime_groups_kernels_by_op():
    artifact = spa.compile(module_text(spa, layer()), target="cuda:sm_90a")
    with pytest.raises(ValueError, match="holds 2 spa ops"):
        op_launches(artifact.metadata)
    with pytest.raises(ValueError, match="has no op 2"):
        op_launches(artifact.metadata, op=2)
    forward = op_launches(artifact.metadata, op=0)
    assert [k["role"] for k in forward.kernels] == ["forward"]
    assert [a["name"] for a in forward.inputs] == ["query", "key", "value"]
    assert [a["name"] for a in forward.outputs] == ["output", "log_sum_exp"]
    assert forward.scratch == []
    grad = op_launches(artifact.metadata, op=1)
    assert [k["role"] for k in grad.kernels] == ["dq", "dkdv"]
    # The op's operand order, not the kernels' order of first use.
    assert [a["name"] for a in grad.inputs] == [
        "query", "key", "value", "output", "log_sum_exp", "output_grad"]
    assert [a["name"] for a in grad.outputs] == ["query_grad", "key_grad",
                                                 "value_grad"]
    assert [(a["name"], a["shape"]) for a in grad.scratch] == [
        ("delta", [2, 4, 100])]


def test_runtime_rejects_inconsistent_buffers():
    meta = {"kernels": [
        {"name": "a", "op": 0, "args": [
            {"name": "delta", "kind": "scratch", "dtype": "f32",
             "shape": [1, 2, 3]}]},
        {"name": "b", "op": 0, "args": [
            {"name": "delta", "kind": "scratch", "dtype": "f32",
             "shape": [1, 2, 4]}]}]}
    with pytest.raises(ValueError, match="b: argument 'delta'"):
        op_launches(meta)


@needs_ptxas
@pytest.mark.parametrize("changes,options,message", [
    (dict(dtype="f32"), {}, "f32 gradients are not supported on the GPU yet"),
    (dict(head_dim=256, value_dim=256), dict(warps=8, tile_k=128),
     "the backward kernels' shared tiles need 270336 bytes"),
])
def test_gradient_errors_are_reported(changes, options, message):
    # The forward op compiles in each case; only the gradient is refused.
    text = module_text(spa, layer(**changes))
    with pytest.raises(spa.MLIRError, match=message):
        spa.compile(text, target="cuda:sm_90a", **options)


@needs_ptxas
def test_stored_score_grads():
    # score_grads="store" (and "auto" at D = Dv = 128): preprocess (Delta),
    # dkdv (which stores every visited tile pair's dS^T in the scratch
    # score_grad) and dq_stored (one product a tile pair: only K, the
    # scratch and dQ), assembled by ptxas; at D = 64 auto recomputes; where
    # the stored form does not apply, "store" is a located MLIRError.
    def roles(head_dim, **options):
        text = module_text(spa, layer(head_dim=head_dim, value_dim=head_dim,
                                      dtype="bf16"))
        artifact = spa.compile(text, target="cuda:sm_90a", **options)
        assert artifact.cubin[:4] == b"\x7fELF"
        return artifact, [k["role"] for k in artifact.metadata["kernels"]]

    stored = ["forward", "preprocess", "dkdv", "dq_stored"]
    for options in ({"score_grads": "store"}, {}):
        artifact, got = roles(128, **options)
        assert got == stored
    kernels = {k["role"]: k for k in artifact.metadata["kernels"]}
    args = {a["name"]: a for a in kernels["dkdv"]["args"]}
    assert args["score_grad"]["kind"] == "scratch"
    assert args["score_grad"]["dtype"] == "bf16"
    assert args["score_grad"]["shape"][1] == 64 * 64
    assert [a["name"] for a in kernels["dq_stored"]["args"]] == [
        "key", "score_grad", "query_grad", "bounds", "work", "key_map",
        "query_grad_map"]
    # The preprocess reads the bounds: rows without keys load nothing.
    assert [a["name"] for a in kernels["preprocess"]["args"]] == [
        "output", "output_grad", "delta", "bounds"]
    ptx = artifact.ptx
    assert "cp.async.bulk.global.shared::cta.bulk_group" in ptx
    assert "cp.async.bulk.shared::cluster.global.mbarrier" in ptx
    assert roles(64)[1] == ["forward", "dq", "dkdv"]
    assert roles(128, score_grads="recompute")[1] == ["forward", "dq", "dkdv"]
    with pytest.raises(spa.MLIRError, match="score-grads = store needs 64 x "
                       "64 tiles"):
        roles(128, score_grads="store", warps=8)


@needs_ptxas
def test_stored_dq_rows_option():
    # stored_dq_rows=128: the dq_stored kernel's items are 128 query rows
    # (two warpgroups, 256 threads, a work list of 128-row tiles, shared
    # memory for a K tile and two dS^T tiles in each of three stages); the
    # launch contract
    # the runtime reads says so. Other values are a located MLIRError.
    text = module_text(spa, layer(head_dim=128, value_dim=128, dtype="bf16"))

    def dq_stored(**options):
        artifact = spa.compile(text, target="cuda:sm_90a", **options)
        assert artifact.cubin[:4] == b"\x7fELF"
        return {k["role"]: k for k in artifact.metadata["kernels"]}[
            "dq_stored"]

    narrow, wide = dq_stored(), dq_stored(stored_dq_rows=128)
    assert narrow["block"][0] == 128 and wide["block"][0] == 256
    assert narrow["tile"] == [64, 64] and wide["tile"] == [128, 64]
    assert wide["grid"][0] < narrow["grid"][0]
    assert wide["kernel_shared_bytes"] == 3 * (128 * 64 * 2 + 2 * 8192 + 8)
    with pytest.raises(spa.MLIRError, match="stored-dq-rows must be 0"):
        dq_stored(stored_dq_rows=96)
    with pytest.raises(spa.MLIRError, match="applies to the stored dS"):
        dq_stored(stored_dq_rows=128, score_grads="recompute")


def _reference_slot_bases(heads, mode, query_len, key_len, slots):
    """The compact dS layout's slot bases by brute force over every (row,
    key) pair (SPEC: position p = i + Nk - Nq; causal distance p - j in
    [lo, hi); bidirectional also j - p in [max(lo, 1), hi)): slots are
    handed out in the dQ kernel's walk order (head, 64-row query tile,
    interval, side, aligned key tile), and a range's base is its first slot
    minus its first key tile; an empty range's entry is the next slot."""
    tile, sides = 64, (1, -1) if mode == "bidirectional" else (1,)
    bases, next_slot = [], 0
    for intervals in heads:
        for qt in range(-(-query_len // tile)):
            for s in range(slots):
                for side in sides:
                    tiles = set()
                    if s < len(intervals):
                        lo, hi = intervals[s]
                        for i in range(qt * tile, min(qt * tile + tile,
                                                      query_len)):
                            p = i + key_len - query_len
                            for j in range(key_len):
                                d = p - j if side > 0 else j - p
                                if (d >= (lo if side > 0 else max(lo, 1))
                                        and d < hi):
                                    tiles.add(j // tile)
                    bases.append(next_slot - min(tiles) if tiles
                                 else next_slot)
                    next_slot += len(tiles)
    return bases, next_slot


@needs_ptxas
@pytest.mark.parametrize("mode", ["causal", "bidirectional"])
def test_compact_score_grad_layout(mode):
    # score_grad_layout="compact": the dS scratch holds only the visited
    # tile pairs, found through a table of slot bases both stored kernels
    # take as the constant score_grad_slots; its values (in launch.json, the
    # runtime's only source) equal a brute-force layout of the band plan,
    # and the scratch is B x that many tiles, smaller than the padded one.
    shape = dict(head_dim=128, value_dim=128, dtype="bf16", mode=mode)
    text = module_text(spa, layer(**shape))

    def stored(**options):
        artifact = spa.compile(text, target="cuda:sm_90a",
                               score_grads="store", **options)
        assert artifact.cubin[:4] == b"\x7fELF"
        return {k["role"]: k for k in artifact.metadata["kernels"]}

    def arg(kernel, name):
        return next(a for a in kernel["args"] if a["name"] == name)

    padded, compact = stored(), stored(score_grad_layout="compact")
    for kernels in (padded, stored(score_grad_layout="padded")):
        assert all(a["name"] != "score_grad_slots"
                   for k in kernels.values() for a in k["args"])
    plan = spa.bands.plan("local_plus_band", 150, 4, mode=mode, query_len=100)
    slots = max(len(h) for h in plan.heads)
    bases, tiles = _reference_slot_bases(plan.heads, mode, 100, 150, slots)
    sides = 2 if mode == "bidirectional" else 1
    for role in ("dkdv", "dq_stored"):
        table = arg(compact[role], "score_grad_slots")
        assert table["kind"] == "constant" and table["dtype"] == "i32"
        assert table["shape"] == [4, 2, slots, sides]
        assert table["values"] == bases
        scratch = arg(compact[role], "score_grad")
        assert scratch["kind"] == "scratch"
        assert scratch["shape"] == [2 * tiles, 64 * 64]
    assert arg(padded["dkdv"], "score_grad")["shape"][0] > 2 * tiles
    # The table precedes bounds and work in both kernels.
    assert [a["name"] for a in compact["dq_stored"]["args"]] == [
        "key", "score_grad", "query_grad", "score_grad_slots", "bounds",
        "work", "key_map", "query_grad_map"]
    # The runtime takes it as a constant, not a buffer of the call.
    launches = op_launches({"kernels": list(compact.values())}, 1)
    assert [b["name"] for b in launches.scratch] == ["delta", "score_grad"]
    assert "score_grad_slots" not in [
        b["name"] for b in launches.inputs + launches.outputs]
    with pytest.raises(spa.MLIRError, match="score-grad-layout = compact "
                       "applies to the stored dS"):
        spa.compile(text, target="cuda:sm_90a", score_grads="recompute",
                    score_grad_layout="compact")
