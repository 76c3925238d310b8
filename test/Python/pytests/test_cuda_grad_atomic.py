"""deterministic=False on CUDA artifacts of gradient ops (compiled here with
ptxas; launching needs a GPU: bench/gpu_grad_check.py on the matrix of
bench/gpu_grad_prepare.py --atomic): dQ by bulk f32 reductions
(cp.reduce.async.bulk) from the dK/dV kernel into a padded scratch. The option reaches the generator from spa.compile, the roles and the
scratch dq_accum travel in launch.json, the MLIR-free runtime groups them,
and the chips and kernels that cannot take it are refused."""
import re

import pytest

import spa
from spa.compiler import pipeline_defaults
from spa.runtime.cuda import op_launches

from cuda_grad_support import module_text, needs_ptxas, grad_layer  # noqa: F401


def layer(**changes):
    return grad_layer(64, **changes)


def entry(ptx, name):
    """The PTX of kernel `name` (up to the next .entry)."""
    start = ptx.index(".entry " + name + "(")
    end = ptx.find(".entry ", start + 1)
    return ptx[start:end if end >= 0 else len(ptx)]


# The piece width P of each case (BackwardConfig.cpp, dqPieceColumns: the
# widest of 64, 32, 16 whose staging ring keeps the blocks an SM holds by
# registers, with an even number of pieces a stream tile), worked out by
# hand: (4, 64, 64, 64) one chunk a tile, so P = 64 would give one piece:
# 32; (8, 64, 128, 128) one block an SM, 208 KiB: 64; (4, 128, 128, 64) one
# block (the mainloop alone is 120 KiB): 64; (8, 128, 64, 128) P = 64 would
# need 240 KiB: 32.
@needs_ptxas
@pytest.mark.parametrize("warps,tile_k,head_dim,value_dim,dtype,piece", [
    (4, 64, 64, 64, "bf16", 32), (8, 64, 128, 128, "f16", 64),
    (4, 128, 128, 64, "bf16", 64), (8, 128, 64, 128, "bf16", 32)])
def test_atomic_gradient_artifact(warps, tile_k, head_dim, value_dim, dtype,
                                  piece):
    text = module_text(spa, layer(head_dim=head_dim, value_dim=value_dim,
                                  dtype=dtype))
    # The classic dkdv_dq kernel (backward-schedule=auto takes the
    # warp-specialised one where it applies: test_spa_python.py).
    artifact = spa.compile(text, target="cuda:sm_90a", warps=warps,
                           tile_k=tile_k, deterministic=False,
                           backward_schedule="classic")
    assert artifact.cubin[:4] == b"\x7fELF"
    kernels = artifact.metadata["kernels"]
    assert [(k["op"], k["role"]) for k in kernels] == [
        (0, "forward"), (1, "preprocess"), (1, "dkdv_dq"),
        (1, "dq_convert")]
    pre, dkdv, convert = kernels[1:]
    assert (pre["mma"], dkdv["mma"], convert["mma"]) == (
        "mma.sync", "wgmma", "mma.sync")
    # 64-row blocks: ceil(100 / 64) + tile-k / 64 (padding for the stream
    # tiles that run past Nq), then D / P pieces of 64 x P.
    blocks = 2 + tile_k // 64
    accum = dict(dtype="f32",
                 shape=[2, 4, blocks, head_dim // piece, 64, piece],
                 kind="scratch")

    def args(kernel):
        return {a["name"]: {key: a[key] for key in ("dtype", "shape", "kind")}
                for a in kernel["args"] if a["kind"] != "tensor_map"}
    assert [a["name"] for a in pre["args"]] == ["output", "output_grad",
                                                "delta", "dq_accum", "bounds"]
    assert args(pre)["dq_accum"] == accum
    assert [a["name"] for a in dkdv["args"]] == [
        "query", "key", "value", "log_sum_exp", "output_grad", "delta",
        "key_grad", "value_grad", "dq_accum", "bounds", "work", "key_map",
        "value_map", "query_map", "output_grad_map", "key_grad_map",
        "value_grad_map"]
    assert args(dkdv)["dq_accum"] == accum
    assert args(dkdv)["key_grad"]["kind"] == "output"
    assert [a["name"] for a in convert["args"]] == ["dq_accum", "query_grad"]
    assert args(convert)["query_grad"] == dict(
        dtype=dtype, shape=[2, 4, 100, head_dim], kind="output")
    # Eight elements a thread.
    threads = 32 * warps
    assert convert["grid"] == [-(-2 * 4 * 100 * head_dim // 8 // threads),
                               1, 1]
    # The deterministic kernels' tiles, the dS^T staging tile, two f32
    # pieces per warpgroup and the TMA loads' three 8-byte mbarriers.
    rows = 16 * warps
    assert dkdv["shared_bytes"] == (rows + 2 * tile_k) * (
        head_dim + value_dim) * 2 + rows * tile_k * 2 + (
            rows // 64) * 2 * 64 * piece * 4 + 24
    ptx = entry(artifact.ptx, dkdv["name"])
    # dQ = dS K: both operands MN-major from shared memory (transpose bits
    # 1, 1), staged and added by bulk reductions: per visited tile, one
    # statement pair (the rows of block i0 / 64 and of the next) per piece
    # of 64 x P, tile-k / 64 x D / 64 chunks of 64 / P pieces (the body
    # exists once per unrolled interval and mask branch).
    assert re.search(r"%rd\d+, %rd\d+, p, 1,\s+1, 1,\s+1;", ptx)
    reduces = len(re.findall(
        r"cp\.reduce\.async\.bulk\.global\.shared::cta\.bulk_group"
        r"\.add\.f32 \[", ptx))
    per_tile = 2 * (tile_k // 64) * (head_dim // 64) * (64 // piece)
    assert reduces > 0 and reduces % per_tile == 0, (reduces, per_tile)
    # A bulk group a statement pair, and one each for the dK and dV
    # epilogues' TMA stores (tma_stores by default).
    assert len(re.findall(r"cp\.async\.bulk\.commit_group;",
                          ptx)) == reduces // 2 + 2
    assert re.search(r"cp\.async\.bulk\.wait_group\.read\s+1;", ptx)
    assert re.search(r"cp\.async\.bulk\.wait_group\s+0;", ptx)
    assert re.search(r"bar\.sync\s+%r\d+, 128;", ptx)
    assert "fence.proxy.async.shared::cta;" in ptx
    assert not re.search(r"\bred\.global", ptx)
    assert "red.global.add" not in entry(artifact.ptx, convert["name"])
    assert re.search(r"st\.global\.v4\.(f32|b32)", entry(artifact.ptx, pre["name"]))


@needs_ptxas
def test_runtime_allocates_the_accumulator_as_scratch():
    artifact = spa.compile(module_text(spa, layer()), target="cuda:sm_90a",
                           deterministic=False, backward_schedule="classic")
    grad = op_launches(artifact.metadata, op=1)
    assert [k["role"] for k in grad.kernels] == ["preprocess", "dkdv_dq",
                                                 "dq_convert"]
    assert [a["name"] for a in grad.inputs] == [
        "query", "key", "value", "output", "log_sum_exp", "output_grad"]
    assert [a["name"] for a in grad.outputs] == ["query_grad", "key_grad",
                                                 "value_grad"]
    assert [(a["name"], a["shape"]) for a in grad.scratch] == [
        ("delta", [2, 4, 100]), ("dq_accum", [2, 4, 3, 2, 64, 32])]


@needs_ptxas
def test_deterministic_default_is_unchanged():
    text = module_text(spa, layer())
    default = spa.compile(text, target="cuda:sm_90a")
    explicit = spa.compile(text, target="cuda:sm_90a", deterministic=True)
    assert default.ptx == explicit.ptx
    assert [k["role"] for k in default.metadata["kernels"]] == [
        "forward", "dq", "dkdv"]
    assert "red.global.add" not in default.ptx


@pytest.mark.parametrize("options,got", [
    (dict(chip="sm_80"), "got chip = sm_80, mma = auto"),
    (dict(mma="mma.sync"), "got chip = sm_90a, mma = mma.sync"),
    (dict(warps=2), "warps = 2"),
])
def test_refused_off_the_wgmma_backward(options, got):
    text = module_text(spa, layer())
    chip = options.pop("chip", "sm_90a")
    with pytest.raises(spa.MLIRError, match="deterministic = false") as info:
        spa.compile(text, target=f"cuda:{chip}", deterministic=False,
                    **options)
    assert got in str(info.value)
    assert "use deterministic = true" in str(info.value)


def test_refused_with_small_tiles():
    text = module_text(spa, layer())
    with pytest.raises(spa.MLIRError, match="tile-k must be 64 or 128, got "
                       "32"):
        spa.compile(text, target="cuda:sm_90a", deterministic=False,
                    tile_k=32)


def test_option_is_listed():
    assert pipeline_defaults("cuda")["deterministic"] == "true"
