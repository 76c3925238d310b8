"""Float64 PyTorch reference of banded attention (SPEC.md section 1) for the
spa.torch tests: the mask written from the definition, dense softmax,
autograd for gradients. Independent of spa's code."""

import torch


def band_mask(table, q_len, k_len, mode="causal"):
    """[H, Nq, Nk] bool: key j admissible for query i of head h
    (positions bottom-right aligned: p_i = i + Nk - Nq)."""
    pos = torch.arange(q_len)[:, None] + (k_len - q_len)
    dist = pos - torch.arange(k_len)[None, :]
    if mode == "bidirectional":
        dist = dist.abs()
    masks = []
    for intervals in table:
        m = torch.zeros(q_len, k_len, dtype=torch.bool)
        for lo, hi in intervals:
            m |= (dist >= lo) & (dist < hi)
        masks.append(m)
    return torch.stack(masks)


def attention(q, k, v, table, mode="causal", scale=None):
    """(out, lse) in float64, differentiable; rows without keys give out 0
    and lse -inf (and zero gradients)."""
    q, k, v = (t.double() for t in (q, k, v))
    hq, nq, d = q.shape[1], q.shape[2], q.shape[3]
    nk = k.shape[2]
    group = hq // k.shape[1]
    scale = d ** -0.5 if scale is None else scale
    mask = band_mask(table, nq, nk, mode)[None].to(q.device)
    kk = k.repeat_interleave(group, dim=1)
    vv = v.repeat_interleave(group, dim=1)
    s = (q @ kk.transpose(-1, -2)) * scale
    has_keys = mask.any(-1)
    # -1e300 rather than -inf keeps every gradient finite; the masked
    # entries' weights are exp(-1e300 - lse) = 0 exactly.
    filled = s.masked_fill(~mask, -1e300)
    lse_all = torch.logsumexp(filled, dim=-1)
    lse = torch.where(has_keys, lse_all, torch.full_like(lse_all,
                                                         float("-inf")))
    p = torch.exp(filled - lse_all[..., None]) * mask
    return p @ vv, lse
