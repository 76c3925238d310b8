"""Run-time lengths on the GPU path (issue #14): one compiled forward kernel
serves every sequence length. Here, without a GPU: the launch contract of
`spa.compile(LayerSpec(seq_len=None), target="cuda:...")`, its
specialisation per call (spa.runtime.lengths) against the contract the
compiler writes for the same static length, the pure-Python closed form of
the band bounds against the planner, and the refusals. The kernels
themselves run on the H200 at several lengths (bench/dynamic_lengths_device.py).
"""

import os
import shutil

import pytest

import spa
from spa import _spa_native
from spa.runtime.lengths import (RUNTIME_POLICIES, is_dynamic, runtime_bands,
                                 specialize)


def _have_ptxas():
    return bool(shutil.which("ptxas")) or os.path.exists(
        "/usr/local/cuda/bin/ptxas")


needs_ptxas = pytest.mark.skipif(not _have_ptxas(),
                                 reason="needs the CUDA toolkit's ptxas")


@pytest.mark.parametrize("policy", RUNTIME_POLICIES)
def test_runtime_bands_match_the_planner(policy):
    # The launcher's closed form and the planner (the static path's table)
    # give the same distances for every length, odd ones and N < H
    # included, in both modes, with the default and an explicit window
    # (sliding_window), and for Nq != Nk both ways (the distances compared
    # up to max(Nq, Nk), past which neither table can reach a key). The CPU
    # path of spa.torch relies on it too (cpu.compiled_config).
    windows = (-1, 1, 7, 5000) if policy == "sliding_window" else (-1,)
    for mode in ("causal", "bidirectional"):
        for heads in (1, 3, 4, 16):
            for n in (1, 2, 3, 5, 15, 16, 17, 64, 100, 333, 1000, 4097):
                for nq in sorted({n, n // 2 + 1, n + 7}):
                    for window in windows:
                        ours = runtime_bands(policy, n, heads, window)
                        planned = _spa_native.plan_bands(
                            policy, n, heads, mode, window, 64, 64, nq)
                        limit = max(n, nq)
                        for h in range(heads):
                            mine = sorted((lo, min(hi, limit))
                                          for lo, hi in ours[h]
                                          if lo < min(hi, limit))
                            theirs = sorted((lo, min(hi, limit))
                                            for lo, hi in planned[h]
                                            if lo < min(hi, limit))
                            assert mine == theirs, (policy, mode, heads, n,
                                                    nq, window, h)


def _forward(seq_len, policy="local_plus_band", query_len=None, **options):
    layer = spa.LayerSpec(heads=4, kv_heads=2, seq_len=seq_len,
                          query_len=query_len, head_dim=128, dtype="bf16",
                          policy=policy)
    return spa.compile(layer.to_mlir(), target="cuda:sm_90a", **options)


def _args(kernel):
    return {a["name"]: a for a in kernel["args"]}


@needs_ptxas
@pytest.mark.parametrize("options", [{}, {"tma": False}, {"warps": 8},
                                     {"warps": 8, "forward_schedule": "ws"}])
@pytest.mark.parametrize("policy", ["exclusive_equal", "local_plus_band"])
def test_specialised_contract_equals_the_static_one(policy, options):
    dynamic = _forward(None, policy, **options)
    assert is_dynamic(dynamic.metadata)
    (kernel,) = dynamic.metadata["kernels"]
    args = _args(kernel)
    assert kernel["grid"][0] == -1 and "grid_items" in kernel
    assert "work" not in args
    assert args["query"]["shape"][2] == -1
    assert args["query_len"]["kind"] == "length"
    assert args["bounds"]["policy"]["name"] == policy
    for n in (5, 100, 300, 1000):
        # The run-time-length kernel has no zero tail of its own (its items
        # are ordered in closed form): the static one written the same way.
        static = _forward(n, policy, zero_tail_with_items=False, **options)
        (want,) = static.metadata["kernels"]
        (got,) = specialize(dynamic.metadata,
                            {"query_len": n, "key_len": n})["kernels"]
        want_args, got_args = _args(want), _args(got)
        # One block per (batch, head, query tile): the static work list
        # holds every item too.
        assert got["grid"] == want["grid"], n
        assert got["block"] == want["block"]
        assert got["shared_bytes"] == want["shared_bytes"]
        for name in ("query", "key", "value", "output", "log_sum_exp"):
            assert got_args[name]["shape"] == want_args[name]["shape"]
            assert got_args[name]["strides"] == want_args[name]["strides"]
        if options.get("tma", True):
            for name in ("query_map", "key_map", "value_map"):
                for field in ("dims", "strides_bytes", "box"):
                    assert got_args[name][field] == want_args[name][field]
        # The same intervals per head (the static table may list a merged
        # window in one slot, the run-time form leaves the second empty).
        slots = got_args["bounds"]["shape"][1]
        values = got_args["bounds"]["values"]
        static_slots = want_args["bounds"]["shape"][1]
        static_values = want_args["bounds"]["values"]
        for h in range(4):
            mine = {tuple(values[(h * slots + s) * 2:(h * slots + s) * 2 + 2])
                    for s in range(slots)}
            theirs = {tuple(static_values[(h * static_slots + s) * 2:
                                          (h * static_slots + s) * 2 + 2])
                      for s in range(static_slots)}
            assert {i for i in mine if i[0] < min(i[1], n)} == \
                {(lo, hi) for lo, hi in theirs if lo < hi}, (n, h)
        assert got_args["query_len"] == {
            "name": "query_len", "kind": "scalar", "value": n,
            "dtype": "i64", "of": "query", "dim": 2}


@needs_ptxas
@pytest.mark.parametrize("warps,blocks", [(8, 132), (4, 264)])
def test_persistent_grid_is_capped(warps, blocks):
    # forward_schedule="ws" loops its blocks over the items: the launcher
    # launches min(items, max_blocks), as the static contract does.
    dynamic = _forward(None, "exclusive_equal", warps=warps,
                       forward_schedule="ws")
    (kernel,) = dynamic.metadata["kernels"]
    assert kernel["grid_items"]["max_blocks"] == blocks
    for n, items in ((300, 4 * -(-300 // (16 * warps))), (40000, blocks)):
        (got,) = specialize(dynamic.metadata,
                            {"query_len": n, "key_len": n})["kernels"]
        assert got["grid"] == [min(items, blocks), 1, 1], n
        (want,) = _forward(n, "exclusive_equal", warps=warps,
                           forward_schedule="ws").metadata["kernels"]
        assert got["grid"] == want["grid"], n


@needs_ptxas
def test_query_and_key_lengths_differ():
    dynamic = _forward(None, "exclusive_equal")
    (got,) = specialize(dynamic.metadata,
                        {"query_len": 1, "key_len": 777})["kernels"]
    args = _args(got)
    assert got["grid"] == [1 * 4 * 1, 1, 1]
    assert args["query"]["shape"] == [1, 4, 1, 128]
    assert args["key"]["shape"] == [1, 2, 777, 128]
    assert args["key_map"]["dims"] == [128, 777, 2, 1]
    assert args["key_map"]["strides_bytes"] == [256, 777 * 256,
                                                2 * 777 * 256]


@needs_ptxas
def test_refusals():
    dynamic = _forward(None, "exclusive_equal")
    with pytest.raises(ValueError, match="no work items"):
        specialize(dynamic.metadata, {"query_len": 0, "key_len": 10})
    with pytest.raises(ValueError, match="outside"):
        specialize(dynamic.metadata, {"query_len": 2**31, "key_len": 10})
    with pytest.raises(ValueError, match="key has shape \\[1, 2, 0, 128\\]: "
                       "this kernel loads its tiles by TMA, whose maps have no empty "
                       "dimension; pass non-empty sequences"):
        specialize(dynamic.metadata, {"query_len": 3, "key_len": 0})
    # Policies without a closed form need a static length (located error
    # from the compiler, not a kernel that guesses).
    with pytest.raises(spa.MLIRError, match="pair_balanced needs a static key length"):
        _forward(None, "pair_balanced")
    # The gradient op keeps static shapes on the GPU.
    layer = spa.LayerSpec(heads=4, kv_heads=2, seq_len=None, head_dim=128,
                          dtype="bf16", policy="exclusive_equal")
    with pytest.raises(spa.MLIRError, match="needs a concrete band table "
                       "with a static key length"):
        spa.compile(layer.to_mlir(backward=True), target="cuda:sm_90a")


@needs_ptxas
def test_explicit_bands_with_runtime_lengths():
    # An explicit table does not depend on N: its values travel in the
    # contract, the lengths still come from the call.
    bands = [[(0, 40)], [(40, 90)], [(90, 10**6)], []]
    layer = spa.LayerSpec(heads=4, seq_len=None, head_dim=64, dtype="bf16",
                          bands=bands)
    art = spa.compile(layer.to_mlir(), target="cuda:sm_90a")
    (kernel,) = art.metadata["kernels"]
    assert "values" in _args(kernel)["bounds"]
    (got,) = specialize(art.metadata, {"query_len": 70,
                                       "key_len": 70})["kernels"]
    assert _args(got)["bounds"]["values"] == [0, 40, 40, 90, 90, 10**6,
                                               0, 0]
    assert got["grid"] == [4 * 2, 1, 1]


class _FakeTensor:
    """What spa.arguments reads of a tensor, without torch."""

    def __init__(self, shape, dtype="torch.bfloat16", device="cuda:0"):
        self.shape, self.dtype, self.device = tuple(shape), dtype, device

    def is_contiguous(self):
        return True


@needs_ptxas
def test_lengths_that_disagree_are_refused():
    # The lengths come from q (query_len) and k (key_len); v, or a caller's
    # output buffer, of another length fails the specialised contract's
    # check (the same check every static call passes), naming the argument.
    from spa.arguments import check_tensors
    from spa.runtime.cuda import op_launches
    from spa.runtime.lengths import call_lengths
    dynamic = _forward(None, "exclusive_equal")
    launches = op_launches(dynamic.metadata)
    q = _FakeTensor((1, 4, 50, 128))
    k = _FakeTensor((1, 2, 70, 128))
    lengths = call_lengths(launches.kernels[0], launches.inputs,
                           [q, k, _FakeTensor((1, 2, 69, 128))])
    assert lengths == {"query_len": 50, "key_len": 70}
    static = op_launches(specialize(dynamic.metadata, lengths))
    check_tensors("layer", "inputs", [q, k, _FakeTensor((1, 2, 70, 128))],
                  static.inputs, "cuda:0")
    with pytest.raises(ValueError, match=r"argument #2 \(value\): expected "
                       r"shape \(1, 2, 70, 128\), got \(1, 2, 69, 128\)"):
        check_tensors("layer", "inputs", [q, k, _FakeTensor((1, 2, 69, 128))],
                      static.inputs, "cuda:0")
    with pytest.raises(ValueError, match=r"argument #3 \(output\): expected "
                       r"shape \(1, 4, 50, 128\), got \(1, 4, 49, 128\)"):
        check_tensors("layer outputs=", "tensors",
                      [_FakeTensor((1, 4, 49, 128))], static.outputs[:1],
                      "cuda:0", 3)
