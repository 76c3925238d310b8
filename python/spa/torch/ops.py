"""The custom ops `spa::attention` and `spa::attention_backward`, with their
fake (meta) kernels and autograd.

    spa::attention(q, k, v, bands, policy, mode, window, scale, lse_grad)
        -> (out, lse)
    spa::attention_backward(dout, dlse?, q, k, v, out, lse, bands, policy,
                            mode, window, scale) -> (dq, dk, dv)

The band choice is `policy` (a name, "" for an explicit table), `window`
(-1: the policy's default) and `bands` (arguments.encode_bands' flat int
list): plain values torch hashes and records in graphs, so the ops work
under torch.compile(fullgraph=True) and torch.export. Arguments are checked
by spa.torch.attention before they get here.

The backward saves q, k, v, out and lse only. `lse_grad` says whether the
caller was handed lse (return_lse=True) and so may differentiate it: then
the backward adds lse's gradient (see `_lse_terms`); otherwise lse's
gradient is known to be zero and is not read.
"""

from typing import List, Optional, Tuple

import torch
from torch import Tensor

from .layouts import call_layouts, empty
from .plans import plan_for

Args = Tuple[List[int], str, str, int, float]


def _no_work(q, k) -> bool:
    """Empty batch, no queries or no keys: nothing to compile (every row,
    if any, has no keys: out 0, lse -inf)."""
    return q.shape[0] == 0 or q.shape[2] == 0 or k.shape[2] == 0


# Output layouts (layouts.call_layouts): on CUDA out follows q's dimension
# order and dq, dk, dv follow q, k, v, so a token-major caller gets
# token-major results; lse is contiguous. The fake kernels return the same
# strides as the real ones (torch.compile relies on them).

def _empty_outputs(q, k, v):
    b, hq, nq, _ = q.shape
    lay = call_layouts(q, k, v)
    return (empty(q, (b, hq, nq, v.shape[3]), lay.output),
            q.new_empty((b, hq, nq), dtype=torch.float32))


def _empty_grads(q, k, v):
    lay = call_layouts(q, k, v)
    return (empty(q, q.shape, lay.query_grad),
            empty(k, k.shape, lay.key_grad),
            empty(v, v.shape, lay.value_grad))


def forward_impl(q, k, v, bands, policy, mode, window, scale):
    """(out, lse): the op's computation, shared by the op and the eager fast
    path (fastpath.py), which differ only in how they are dispatched."""
    if _no_work(q, k):
        out, lse = _empty_outputs(q, k, v)
        return out.zero_(), lse.fill_(float("-inf"))
    plan = plan_for(q, k, v, bands, policy, mode, window, scale)
    return plan.forward(q, k, v)


def backward_impl(dout, dlse, q, k, v, out, lse, bands, policy, mode,
                  window, scale, plan=None):
    """(dq, dk, dv), with lse's term where dlse is given (_lse_terms).
    `plan`: the forward's, where the caller has it."""
    if _no_work(q, k):
        return tuple(t.zero_() for t in _empty_grads(q, k, v))
    if plan is None:
        plan = plan_for(q, k, v, bands, policy, mode, window, scale)
    dout = dout.to(out.dtype)
    dq, dk, dv = plan.backward(q, k, v, out, lse, dout)
    if dlse is not None:
        lq, lk = _lse_terms(plan, q, k, v, out, lse, dlse)
        # In place: the sums keep dq's and dk's layouts (the fake's).
        dq.copy_(dq.float() + lq.float())
        dk.copy_(dk.float() + lk.float())
    return dq, dk, dv


@torch.library.custom_op("spa::attention", mutates_args=())
def attention_op(q: Tensor, k: Tensor, v: Tensor, bands: List[int],
                 policy: str, mode: str, window: int, scale: float,
                 lse_grad: bool) -> Tuple[Tensor, Tensor]:
    return forward_impl(q, k, v, bands, policy, mode, window, scale)


@attention_op.register_fake
def _attention_fake(q, k, v, bands, policy, mode, window, scale, lse_grad):
    return _empty_outputs(q, k, v)


@torch.library.custom_op("spa::attention_backward", mutates_args=())
def attention_backward_op(dout: Tensor, dlse: Optional[Tensor], q: Tensor,
                          k: Tensor, v: Tensor, out: Tensor, lse: Tensor,
                          bands: List[int], policy: str, mode: str,
                          window: int, scale: float
                          ) -> Tuple[Tensor, Tensor, Tensor]:
    return backward_impl(dout, dlse, q, k, v, out, lse, bands, policy, mode,
                         window, scale)


def _lse_terms(plan, q, k, v, out, lse, dlse):
    """lse's gradient, by a second call of the same gradient kernels.

    d lse_i / d s_ij = P_ij, so lse adds dS_ij = P_ij dlse_i; the gradient op
    computes dS = P (dP - Delta) with dP = dO V^T and Delta_i = <dO_i, O_i>.
    With V = 0 (dP = 0), dO_i = e_0 and O_i = -dlse_i e_0 (Delta_i = -dlse_i)
    it yields exactly that dS, and its dq and dk are lse's terms (its dv,
    P^T e_0, is not a term of anything and is dropped). Same shapes and
    dtype: the same compiled kernels serve.
    """
    # In the layout the kernels read v in (no copy on their way in).
    zeros_v = empty(v, v.shape, plan.config.layouts().value).zero_()
    unit = torch.zeros_like(out)
    unit[..., 0] = 1
    shifted = torch.zeros_like(out)
    shifted[..., 0] = -dlse.to(out.dtype)
    lq, lk, _ = plan.backward(q, k, zeros_v, shifted, lse, unit)
    return lq, lk


@attention_backward_op.register_fake
def _attention_backward_fake(dout, dlse, q, k, v, out, lse, bands, policy,
                             mode, window, scale):
    return _empty_grads(q, k, v)


def _setup_context(ctx, inputs, output):
    q, k, v, bands, policy, mode, window, scale, lse_grad = inputs
    out, lse = output
    ctx.save_for_backward(q, k, v, out, lse)
    ctx.band_args = (bands, policy, mode, window, scale)
    ctx.lse_grad = lse_grad


def gradient_inputs(ctx, dout, dlse):
    """(q, k, v, out, lse, dout, dlse) for the gradient op from an
    autograd context (the op's and the eager fast path's): a missing dout is
    zeros, dlse only where the caller asked for lse."""
    q, k, v, out, lse = ctx.saved_tensors
    if dout is None:
        dout = torch.zeros_like(out)
    if not ctx.lse_grad:
        dlse = None
    return q, k, v, out, lse, dout, dlse


def _backward(ctx, dout, dlse):
    q, k, v, out, lse, dout, dlse = gradient_inputs(ctx, dout, dlse)
    dq, dk, dv = attention_backward_op(dout, dlse, q, k, v, out, lse,
                                       *ctx.band_args)
    return dq, dk, dv, None, None, None, None, None, None


attention_op.register_autograd(_backward, setup_context=_setup_context)
