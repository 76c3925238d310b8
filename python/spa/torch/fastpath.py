"""The eager fast path of `spa.torch.attention`: what makes a small call
cost a few microseconds of host time rather than a hundred.

Three things, each exactly equivalent to the slow path it replaces:

1. Checked arguments, memoised. The verdict of the argument checks
   (arguments.py) is a function of the tensors' types, dtypes, devices and
   shapes and of the other arguments' values and types. `call_key` builds
   that tuple (None where an argument has no cheap exact key, e.g. a band
   table holding numpy ints: then every call is checked in full); a call
   whose key passed the checks once reuses their normal form. A key holds
   types next to values, so `scale=True` or a band bound `2.0` never
   matches a cached `1.0` or `2`.

2. No dispatcher in plain eager mode. `torch.ops.spa.attention` costs tens
   of microseconds per call in Python dispatch (custom_op's autograd,
   backend and fake layers). Where nothing can observe the difference --
   not compiling or exporting, no TorchFunction or TorchDispatch mode, no
   functorch transform, no JIT trace, no profiler, plain torch.Tensor
   inputs -- `run` calls the op's own implementation (ops.forward_impl)
   directly, under an autograd.Function with the op's backward
   (ops.backward_impl) when a gradient is wanted. Anywhere else the op is
   dispatched as usual, so torch.compile, torch.export and opcheck see the
   registered custom op.

3. For calls without a gradient or band table, the compiled call of the
   last plan their other arguments ran (`quick_forward`), tried first.

`SPA_TORCH_FAST_PATH=0` (read at import) or `set_enabled(False)` turns
all three off (for comparison; results are the same).
"""

import os
import threading

import torch
from torch.autograd.function import once_differentiable

from . import ops
from .plans import plan_for

MAX_KEYS = 4096

_enabled = os.environ.get("SPA_TORCH_FAST_PATH", "1").strip() != "0"
_checked = {}
_lock = threading.Lock()

_Tensor = torch.Tensor
_is_compiling = torch.compiler.is_compiling
_function_mode = torch._C._is_torch_function_mode_enabled
_dispatch_modes = torch._C._len_torch_dispatch_stack
_functorch = torch._C._are_functorch_transforms_active
_tracing = torch._C._get_tracing_state
_profiling = torch._C._autograd._profiler_enabled
_grad_enabled = torch.is_grad_enabled


def enabled() -> bool:
    return _enabled


def set_enabled(value: bool) -> None:
    global _enabled
    _enabled = bool(value)
    clear()


def clear() -> None:
    with _lock:
        _checked.clear()
        _quick.clear()


# 3. The quickest way, for calls without a gradient and without a band
# table: keyed by the other arguments alone, the compiled call
# (native.FastCall) of the plan the last such call ran. That call checks
# the tensors against the plan's contract (exactly torch.Tensor, device,
# dtype, sizes, strides, alignment: everything the argument checks and the
# plan depend on besides this key) and returns None for any other tensors,
# which then take the way above.
_quick = {}


def quick_key(policy, bands, mode, window, scale, return_lse):
    if bands is not None or not _enabled:
        return None
    return (type(policy), policy, type(mode), mode, type(window), window,
            type(scale), scale, type(return_lse), return_lse)


def quick_forward(key, q, k, v):
    """(out, lse) by the key's compiled call, or None (take the way
    above)."""
    parts = _quick.get(key)
    if parts is None or not eager() or (_grad_enabled() and (
            q.requires_grad or k.requires_grad or v.requires_grad)):
        return None
    call, handle, stream, index, layer = parts
    result = call(handle, stream(index), q, k, v)
    if type(result) is int:
        layer.raise_launch_error(result)
    return result


def remember_quick(key, entry: "Entry") -> None:
    call = getattr(entry.plan, "fast_forward", None)
    if call is None:
        return
    parts = call.parts()
    try:
        if _quick.get(key) is parts:  # every repeated call: nothing to do
            return
    except TypeError:  # an unhashable policy or mode
        return
    with _lock:
        if len(_quick) >= MAX_KEYS:
            _quick.clear()
        _quick[key] = parts


def _bands_key(bands):
    """The table as a tuple of per-head tuples of exact ints, or None where
    it holds anything else (the full check then runs every call)."""
    if type(bands) is not list and type(bands) is not tuple:
        return None
    key = []
    for head in bands:
        if type(head) is not list and type(head) is not tuple:
            return None
        flat = []
        for pair in head:
            if (type(pair) is not tuple and type(pair) is not list) or \
                    len(pair) != 2:
                return None
            lo, hi = pair
            if type(lo) is not int or type(hi) is not int:
                return None
            flat += (lo, hi)
        key.append(tuple(flat))
    return tuple(key)


def call_key(q, k, v, policy, bands, mode, window, scale, return_lse):
    """Everything the argument checks read, or None (check in full)."""
    if not _enabled or type(q) is not _Tensor or type(k) is not _Tensor \
            or type(v) is not _Tensor:
        return None
    if bands is None:
        band_key = None
    else:
        band_key = _bands_key(bands)
        if band_key is None:
            return None
    # Strides too: an entry keeps its plan, whose kernels are compiled for
    # the layouts of q, k and v (plans.py).
    return (q.dtype, k.dtype, v.dtype, q.device, k.device, v.device,
            q.shape, k.shape, v.shape, q.stride(), k.stride(), v.stride(),
            type(policy), policy, band_key,
            type(mode), mode, type(window), window, type(scale), scale,
            type(return_lse), return_lse)


class Entry:
    """A key's checked arguments (the op's bands, policy, mode, window,
    scale) and, once a call of it ran, its plan (plans.py; None until then
    and for calls without work)."""
    __slots__ = ("args", "plan")

    def __init__(self, args):
        self.args = args
        self.plan = None


def checked(key):
    """The Entry stored for this key, or None."""
    if key is None:
        return None
    try:
        return _checked.get(key)
    except TypeError:  # an unhashable policy or mode: the checks say why
        return None


def remember(key, args) -> Entry:
    entry = Entry(args)
    if key is None:
        return entry
    try:
        hash(key)
    except TypeError:
        return entry
    with _lock:
        if len(_checked) >= MAX_KEYS:
            _checked.clear()
        _checked[key] = entry
    return entry


def eager() -> bool:
    """Nothing but plain eager execution could see this call."""
    return _enabled and not (_is_compiling() or _function_mode()
                             or _dispatch_modes() or _functorch()
                             or _tracing() is not None or _profiling())


def _forward(q, k, v, entry):
    """(out, lse): the op's implementation; a key's first call goes the
    checked way (plans.plan_for, the layer's argument check) and leaves the
    plan in the entry for the next ones."""
    plan = entry.plan
    if plan is not None:
        return plan, plan.forward_prechecked(q, k, v)
    if ops._no_work(q, k):
        return None, ops.forward_impl(q, k, v, *entry.args)
    plan = plan_for(q, k, v, *entry.args)
    result = plan.forward(q, k, v)
    entry.plan = plan
    return plan, result


class _Attention(torch.autograd.Function):
    """The op's autograd (ops._setup_context / ops._backward) around its
    implementation, for eager calls that need a gradient."""

    @staticmethod
    def forward(ctx, q, k, v, entry, lse_grad):
        plan, (out, lse) = _forward(q, k, v, entry)
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.band_args = entry.args
        ctx.plan = plan
        ctx.lse_grad = lse_grad
        return out, lse

    @staticmethod
    @once_differentiable  # as the op: its backward is not differentiable
    def backward(ctx, dout, dlse):
        q, k, v, out, lse, dout, dlse = ops.gradient_inputs(ctx, dout, dlse)
        dq, dk, dv = ops.backward_impl(dout, dlse, q, k, v, out, lse,
                                       *ctx.band_args, plan=ctx.plan)
        return dq, dk, dv, None, None


def run(q, k, v, entry: Entry, lse_grad: bool):
    """(out, lse) of the op's implementation for a checked call; only where
    `eager()`."""
    if _grad_enabled() and (q.requires_grad or k.requires_grad
                            or v.requires_grad):
        return _Attention.apply(q, k, v, entry, lse_grad)
    return _forward(q, k, v, entry)[1]
