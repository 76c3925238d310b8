"""Which tensor layouts spa's GPU kernels read in place, and the layouts of
what they return.

A model that calls attention the SDPA way passes views: `q.view(b, n, h,
d).transpose(1, 2)` (token-major, strides [N*H*D, D, H*D, 1]) and a slice
of a fused qkv projection (token stride (Hq + 2 Hkv) * D). The kernels are
compiled per static shape and strides, so such views need no copy when
their strides are usable:

- innermost stride 1, all strides nonnegative, no two elements at one
  address (the rules convert-spa-to-gpu checks, BufferLayout.cpp);
- every other stride of a dimension longer than 1 a multiple of 16 bytes
  (the kernels' 16-byte vector and cp.async copies).

An unusable tensor is copied into the contiguous layout (`.contiguous()`),
as before. Outputs follow their inputs: out and dq take q's dimension order
densely packed, dk k's, dv v's (so `y.transpose(1, 2).reshape(b, n, h*d)`
of a token-major out is a view); lse is contiguous. Strides of dimensions of
size 1 never move an address: they are normalised, so they do not split the
kernel cache.

Reads only `.shape`, `.stride()`, `.element_size()` and `.device`, so it
works on meta and fake tensors (torch.compile's tracing, `--list-kernels`).
"""

import functools
from typing import Optional, Sequence, Tuple

import torch

from ..arguments import same_strides
from ..runtime.launcher import POINTER_ALIGN as VECTOR_ALIGNMENT
from ..layer import Layouts, contiguous_strides, layout_shapes

Strides = Tuple[int, ...]


def normalised(shape: Sequence[int], strides: Sequence[int]) -> Strides:
    """`strides` with each size-1 dimension's stride replaced by the one a
    row-major tensor would have there (outer size times stride of the next
    inner dimension): equal tensors get equal tuples."""
    out = list(int(s) for s in strides)
    for d in range(len(shape) - 2, -1, -1):
        if shape[d] == 1:
            out[d] = out[d + 1] * max(int(shape[d + 1]), 1)
    if len(shape) and shape[-1] == 1:
        out[-1] = 1
    return tuple(out)


def _non_overlapping(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """The dimensions longer than 1, by stride, each step past the whole
    extent of the smaller ones (BufferLayout.cpp's test)."""
    extent = 1
    for d in sorted((d for d in range(len(shape)) if shape[d] > 1),
                    key=lambda d: strides[d]):
        if strides[d] < extent:
            return False
        extent += strides[d] * (shape[d] - 1)
    return True


def usable_strides(shape: Sequence[int], strides: Sequence[int],
                   element_size: int) -> Optional[Strides]:
    """The normalised strides when the GPU kernels can read a tensor of
    this layout in place, else None (it is copied)."""
    if len(shape) != 4 or len(strides) != 4:
        return None
    s = normalised(shape, strides)
    if s[3] != 1 or any(x < 0 for x in s):
        return None
    quantum = VECTOR_ALIGNMENT // element_size
    if any(shape[d] > 1 and s[d] % quantum for d in range(3)):
        return None
    if not _non_overlapping(shape, s):
        return None
    return s


def dense_like(shape: Sequence[int], template: Sequence[int]) -> Strides:
    """Dense strides for `shape` with `template`'s dimension order (larger
    stride outer; the last dimension innermost): torch.empty_like's rule
    for a tensor of another size in the last dimension."""
    order = sorted(range(len(shape)),
                   key=lambda d: (d == len(shape) - 1, -template[d], d))
    out = [0] * len(shape)
    step = 1
    for d in reversed(order):
        out[d] = step
        step *= max(int(shape[d]), 1)
    return tuple(out)


def plan_strides(q, k, v) -> Tuple[int, ...]:
    """The q, k, v strides a CUDA kernel is compiled for, flat (12 ints),
    or () when all three are (to be made) contiguous: the part of the
    kernel configuration the layouts decide."""
    chosen = []
    for t in (q, k, v):
        shape = tuple(int(x) for x in t.shape)
        s = usable_strides(shape, t.stride(), t.element_size())
        chosen.append(s if s is not None else contiguous_strides(shape))
    if all(s == contiguous_strides(tuple(t.shape))
           for s, t in zip(chosen, (q, k, v))):
        return ()
    return tuple(x for s in chosen for x in s)


@functools.lru_cache(maxsize=256)  # per call on the launch path
def layouts_of(batch: int, heads: int, kv_heads: int, query_len: int,
               key_len: int, head_dim: int, value_dim: int,
               strides: Tuple[int, ...]) -> Layouts:
    """Every 4-D buffer's strides from the flat q, k, v strides of
    `plan_strides` (() : all contiguous)."""
    shapes = layout_shapes(batch, heads, kv_heads, query_len, key_len,
                           head_dim, value_dim)
    if not strides:
        return Layouts(**{n: contiguous_strides(s)
                          for n, s in shapes.items()})
    q, k, v = (tuple(strides[i:i + 4]) for i in (0, 4, 8))
    out = dense_like(shapes["output"], q)
    return Layouts(query=q, key=k, value=v, output=out, output_grad=out,
                   query_grad=dense_like(shapes["query"], q),
                   key_grad=dense_like(shapes["key"], k),
                   value_grad=dense_like(shapes["value"], v))


def call_layouts(q, k, v) -> Layouts:
    """The layouts a call with these tensors uses: planned on CUDA,
    contiguous elsewhere (the CPU JIT copies into contiguous arrays)."""
    b, hq, nq, d = (int(x) for x in q.shape)
    hk, nk, dv = int(k.shape[1]), int(k.shape[2]), int(v.shape[3])
    strides = plan_strides(q, k, v) if q.device.type == "cuda" else ()
    return layouts_of(b, hq, hk, nq, nk, d, dv, strides)


def empty(like, shape: Sequence[int], strides: Sequence[int], dtype=None):
    """An uninitialised tensor of `shape` and `strides` on like's device."""
    return like.new_empty_strided(tuple(shape), tuple(strides),
                                  dtype=like.dtype if dtype is None else dtype)


def as_layout(t: torch.Tensor, strides: Sequence[int]) -> torch.Tensor:
    """`t` itself when it has `strides` and a 16-byte aligned data
    pointer, else a copy in that layout (for the contiguous layout that
    is `.contiguous()`)."""
    if same_strides(tuple(t.shape), strides, t.stride()) and \
            t.data_ptr() % VECTOR_ALIGNMENT == 0:
        return t
    return empty(t, t.shape, strides).copy_(t)
