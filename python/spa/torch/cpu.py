"""CPU tensors through spa's CPU JIT (`spa.compile(..., target="cpu")`).

Tensors cross to NumPy and back as views (`Tensor.numpy()`,
`torch.from_numpy`), bf16 as ml_dtypes views of the same bytes; the JIT
functions (forward and gradient, one lowering) are compiled on first use
per KernelConfig and kept in memory. With a closed-form policy one pair
of functions serves every sequence length of a layer (compiled_config).
"""

import dataclasses

import numpy as np
import torch

from ..runtime.lengths import RUNTIME_POLICIES
from .cache import MemoryCache
from .config import KernelConfig

_functions = MemoryCache()


def compiled_config(config: KernelConfig) -> KernelConfig:
    """The configuration whose functions serve `config`: with a closed-form
    policy (RUNTIME_POLICIES) the band table follows from the lengths at
    run time (`spa.band_bounds`, the same table the planner gives a static
    length), so the functions are compiled once with dynamic Nq and Nk and
    serve every length: a training loop over varying lengths compiles a
    layer once instead of once per length (1-2 s each), at the same speed
    (docs/torch.md). Explicit tables and the balanced policies are planned
    for one length and compile per length. Fewer keys than query heads is
    no exception: the heads a distance-partitioning policy leaves without
    a band give zero rows, statically and at run time alike (SPEC 1)."""
    if config.policy not in RUNTIME_POLICIES:
        return config
    return dataclasses.replace(config, query_len=None, key_len=None)


def _compile(config: KernelConfig):
    from ..compiler import compile as spa_compile
    forward, gradient = spa_compile(config.layer_spec(), target="cpu",
                                    backward=True)
    return forward, gradient


def functions(config: KernelConfig):
    """(forward, gradient) CpuFunctions of `config` (compiled_config's)."""
    return _functions.get(compiled_config(config), _compile)


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        import ml_dtypes
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def _to_torch(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    if dtype == torch.bfloat16:
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    t = torch.from_numpy(a)
    assert t.dtype == dtype, (t.dtype, dtype)
    return t


def forward(config: KernelConfig, q, k, v):
    """(out, lse)."""
    fn, _ = functions(config)
    out, lse = fn(_to_numpy(q), _to_numpy(k), _to_numpy(v))
    return _to_torch(out, q.dtype), _to_torch(lse, torch.float32)


def backward(config: KernelConfig, q, k, v, out, lse, dout):
    """(dq, dk, dv)."""
    _, fn = functions(config)
    dq, dk, dv = fn(*(_to_numpy(t) for t in (q, k, v, out, lse, dout)))
    return (_to_torch(dq, q.dtype), _to_torch(dk, k.dtype),
            _to_torch(dv, v.dtype))
