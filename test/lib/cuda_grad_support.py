"""Shared by the CUDA gradient-artifact tests (test_cuda_grad*.py): the
ptxas skip marker, the layer module text bench/gpu_grad_prepare.py writes
(forward with lse + gradient), and the layer those tests start from."""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "bench"))
from gpu_grad_prepare import module_text  # noqa: E402,F401

needs_ptxas = pytest.mark.skipif(
    not (shutil.which("ptxas") or os.path.exists("/usr/local/cuda/bin/ptxas")),
    reason="needs the CUDA toolkit's ptxas")


def grad_layer(value_dim, /, **changes):
    """The tests' base layer (GQA 4:2, Nq 100 != Nk 150, D 64, bf16,
    local_plus_band, causal) with Dv `value_dim`, then `changes` (which may
    set value_dim again)."""
    base = dict(batch=2, heads=4, kv_heads=2, seq_len=150, query_len=100,
                head_dim=64, value_dim=value_dim, dtype="bf16",
                policy="local_plus_band", mode="causal")
    base.update(changes)
    return base
