"""`spa.torch.attention`: banded attention on PyTorch tensors."""

from torch.compiler import is_compiling

from . import fastpath
from .arguments import (check_choice, check_flag, check_scale,
                        check_tensors)
from .ops import attention_op


def attention(q, k, v, *, policy=None, bands=None, mode="causal",
              window=None, scale=None, return_lse=False):
    """Banded multi-head attention in `scaled_dot_product_attention`'s
    layout: q [B, Hq, Nq, D], k [B, Hkv, Nk, D], v [B, Hkv, Nk, Dv]
    (Hq a multiple of Hkv: grouped-query attention), float32, float16 or
    bfloat16, all on one device (cpu or cuda).

    policy: a band policy name (spa.bands.POLICIES; default
        "local_plus_band"), planned per sequence length by the compiler;
        window: the sliding_window policy's width.
    bands: instead of a policy, an explicit table: one list of (lo, hi)
        distance intervals per query head (an empty list: an empty head).
    mode: "causal" (distance p_i - j, queries bottom-right aligned) or
        "bidirectional" (|p_i - j|).
    scale: softmax scale, default 1/sqrt(D).
    return_lse: also return the log-sum-exp [B, Hq, Nq] (float32; -inf on
        rows without keys), itself differentiable.

    Returns out [B, Hq, Nq, Dv] (rows without keys are 0), or (out, lse).
    Differentiable in q, k and v. Bad arguments are TypeError/ValueError
    naming the argument.

    Eager calls skip the op's dispatcher and re-check only what can change
    between calls of one configuration (fastpath.py); compiled and traced
    calls go through torch.ops.spa.attention.
    """
    if is_compiling():
        # Traced by Dynamo (compile, export): plain checks, then the op.
        args = _check(q, k, v, policy, bands, mode, window, scale, return_lse)
        out, lse = attention_op(q, k, v, *args, return_lse)
        return (out, lse) if return_lse else out
    quick = fastpath.quick_key(policy, bands, mode, window, scale,
                               return_lse)
    if quick is not None:
        result = fastpath.quick_forward(quick, q, k, v)
        if result is not None:
            return result if return_lse else result[0]
    key = fastpath.call_key(q, k, v, policy, bands, mode, window, scale,
                            return_lse)
    entry = fastpath.checked(key)
    if entry is None:
        entry = fastpath.remember(key, _check(q, k, v, policy, bands, mode,
                                              window, scale, return_lse))
    if fastpath.eager():
        out, lse = fastpath.run(q, k, v, entry, return_lse)
        if quick is not None:
            fastpath.remember_quick(quick, entry)
    else:
        out, lse = attention_op(q, k, v, *entry.args, return_lse)
    return (out, lse) if return_lse else out


def _check(q, k, v, policy, bands, mode, window, scale, return_lse):
    """Every argument checked; the op's (bands, policy, mode, window,
    scale)."""
    check_tensors(q, k, v)
    policy, flat, window = check_choice(policy, bands, mode, window,
                                        q.shape[1])
    scale = check_scale(scale, q.shape[3])
    check_flag("return_lse", return_lse)
    return flat, policy, mode, window, scale


def launch_path() -> dict:
    """How eager CUDA calls run: {"eager_fast_path": skips the op's
    dispatcher (fastpath.py), "launcher": "compiled" (libspa_launcher.so)
    or "cuda-python", "library": its path, "reason": why not compiled,
    "native_call": the compiled call path (native.py) checks, allocates
    and launches, "native_library": its path, "native_reason": why not}."""
    from ..runtime.launcher import launcher_status
    from . import native
    return dict(eager_fast_path=fastpath.enabled(), **launcher_status(),
                **native.status())
