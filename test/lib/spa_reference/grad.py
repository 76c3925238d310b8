"""Independent NumPy (float64) gradients of spa.attention, from the definition.

For each batch b and query head h (key/value head g = h // (Hq // Hkv)),
with M the head's admissible-pair mask (SPEC.md section 1, the same rule as
`reference.attention`):

    S = scale * Q K^T           P = softmax of S over the admissible keys
    O = P V                     (a row without keys: P = 0, O = 0)

and the output gradient dO, the chain rule through the softmax gives

    dV[g] += P^T dO
    dP     = dO V^T
    dS     = P * (dP - sum_l P[:, l] dP[:, l])     (the softmax Jacobian)
    dQ     = scale * dS K
    dK[g] += scale * dS^T Q

summed over the query heads of each group. Nothing here comes from the
compiler: it does not use the saved log-sum-exp or the Delta = rowsum(dO O)
shortcut of the lowering, and it forms whole [Nq, Nk] matrices (test sizes
only). Pairs outside the mask contribute exactly nothing, NaN or not, as in
PyTorch; a NaN reaches the gradients of the pairs it takes part in.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .reference import MODES, Table


def pair_mask(bands_h, q_len: int, k_len: int, mode: str) -> np.ndarray:
    """[Nq, Nk] bool: key j admissible for query i under one head's
    intervals (bottom-right aligned positions p_i = i + Nk - Nq)."""
    pos = np.arange(q_len)[:, None] + (k_len - q_len)
    dist = pos - np.arange(k_len)[None, :]
    if mode == "bidirectional":
        dist = np.abs(dist)
    mask = np.zeros((q_len, k_len), dtype=bool)
    for lo, hi in bands_h:
        mask |= (dist >= lo) & (dist < hi)
    return mask


def _masked_product(mask, a, b):
    """sum_j where(mask[i, j], a[i, j] * b[j, :], 0): a product in which
    masked pairs add an exact 0 even when a or b holds NaN or Inf."""
    if np.isfinite(a).all() and np.isfinite(b).all():
        return np.where(mask, a, 0.0) @ b
    terms = np.where(mask[:, :, None], a[:, :, None] * b[None, :, :], 0.0)
    return terms.sum(axis=1)


def attention_grad_reference(q, k, v, dout, bands: Table,
                             mode: str = "causal",
                             scale: Optional[float] = None):
    """Gradients (dq, dk, dv), float64, of sum(out * dout) where out is
    banded attention of q (B, Hq, Nq, D), k (B, Hkv, Nk, D), v (B, Hkv, Nk,
    Dv) under `bands` (one interval list per query head) in `mode`;
    `scale=None` means 1/sqrt(D)."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    q, k, v, dout = (np.asarray(x, dtype=np.float64) for x in (q, k, v, dout))
    bsz, hq, nq, d = q.shape
    hkv, nk, dv = k.shape[1], k.shape[2], v.shape[3]
    if hq % hkv or len(bands) != hq:
        raise ValueError("Hkv must divide Hq and bands list every query head")
    if dout.shape != (bsz, hq, nq, dv):
        raise ValueError(f"dout shape {dout.shape}, expected "
                         f"{(bsz, hq, nq, dv)}")
    if scale is None:
        scale = 1.0 / math.sqrt(d)
    group = hq // hkv
    dq = np.zeros(q.shape)
    dk = np.zeros(k.shape)
    dvv = np.zeros(v.shape)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for h in range(hq):
            g = h // group
            mask = pair_mask(bands[h], nq, nk, mode)
            has_key = mask.any(axis=1)
            if not has_key.any():
                continue
            for b in range(bsz):
                # Each entry of Q K^T and dO V^T involves one pair only, so
                # the mask can be applied afterwards.
                s = np.where(mask, scale * (q[b, h] @ k[b, g].T), -np.inf)
                m = np.where(has_key, s.max(axis=1), 0.0)
                e = np.where(mask, np.exp(s - m[:, None]), 0.0)
                total = np.where(has_key, e.sum(axis=1), 1.0)
                p = np.where(mask, e / total[:, None], 0.0)
                dp = np.where(mask, dout[b, h] @ v[b, g].T, 0.0)
                row = np.where(mask, p * dp, 0.0).sum(axis=1)
                ds = np.where(mask, p * (dp - row[:, None]), 0.0)
                dq[b, h] = scale * _masked_product(mask, ds, k[b, g])
                dk[b, g] += scale * _masked_product(mask.T, ds.T, q[b, h])
                dvv[b, g] += _masked_product(mask.T, p.T, dout[b, h])
    return dq, dk, dvv
