"""Independent NumPy (float64) reference for spa.attention, written from SPEC.md section 1.

Nothing here is derived from the compiler's C++ code: the band tables of the
closed-form policies follow SPEC's formulas, and `attention` evaluates

    O[b,h,i,:] = sum_j softmax_j(scale * <Q[b,h,i,:], K[b,g(h),j,:]>) V[b,g(h),j,:]

over the keys j whose distance d = p_i - j (causal: d >= 0) or |p_i - j|
(bidirectional) lies in head h's interval set, with bottom-right aligned
queries p_i = i + (Nk - Nq) and grouped-query heads g(h) = h // (Hq // Hkv).
A row without admissible keys gives zeros and a log-sum-exp of -inf.

A band table is a list with one entry per query head; each entry is a sorted
list of disjoint half-open distance intervals (lo, hi) with lo < hi.
"""

from __future__ import annotations

import math
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np

Interval = Tuple[int, int]
Table = List[List[Interval]]

MODES = ("causal", "bidirectional")
# The policies whose tables band_table() computes from SPEC's formulas (the
# list of all policy names is spa.bands.POLICIES).
CLOSED_FORM_POLICIES = (
    "exclusive_equal",
    "local_plus_band",
    "gapped_half",
    "sliding_window",
    "dense_causal",
)


# ---------------------------------------------------------------------------
# Band tables
# ---------------------------------------------------------------------------

def normalize(intervals: Sequence[Interval], seq_len: Optional[int] = None) -> List[Interval]:
    """Clips to [0, seq_len) (when given), drops empty intervals, sorts and
    merges overlapping or touching intervals."""
    ivs = []
    for lo, hi in intervals:
        lo, hi = int(lo), int(hi)
        lo = max(lo, 0)
        if seq_len is not None:
            hi = min(hi, seq_len)
        if lo < hi:
            ivs.append((lo, hi))
    ivs.sort()
    merged: List[Interval] = []
    for lo, hi in ivs:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def band_table(policy: str, seq_len: int, heads: int, mode: str = "causal",
               window: Optional[int] = None) -> Table:
    """The interval table of a closed-form policy (SPEC.md section 1).

    N = seq_len (the key length), H = heads (query heads), Wb = N // H,
    R = N % H, W_h = Wb + (h < R), S_h = h*Wb + min(h, R). Intervals are
    merged and clipped to [0, N). The table is the same in both modes.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    n, nh = int(seq_len), int(heads)
    if n < 0 or nh < 1:
        raise ValueError("need seq_len >= 0 and heads >= 1")
    if window is not None and policy != "sliding_window":
        raise ValueError("window only applies to sliding_window")
    wb, r = divmod(n, nh)
    table: Table = []
    for h in range(nh):
        w_h = wb + (1 if h < r else 0)
        s_h = h * wb + min(h, r)
        if policy == "exclusive_equal":
            ivs = [(s_h, s_h + w_h)]
        elif policy == "local_plus_band":
            ivs = [(0, w_h + 1), (s_h, s_h + w_h)]
        elif policy == "gapped_half":
            ivs = [(s_h, s_h + w_h // 2)]
        elif policy == "sliding_window":
            w = w_h if window is None else int(window)
            ivs = [(0, w + 1)]
        elif policy == "dense_causal":
            ivs = [(0, n)]
        else:
            raise ValueError(f"policy {policy!r} has no closed form here")
        table.append(normalize(ivs, n))
    return table


def pair_counts(table: Table, q_len: int, k_len: int, mode: str = "causal") -> List[int]:
    """Admissible (query, key) pairs of each head, per batch element."""
    out = []
    pos = np.arange(q_len) + (k_len - q_len)
    for ivs in table:
        total = 0
        for lo, hi in ivs:
            for sign in ((1,) if mode == "causal" else (1, -1)):
                # keys j with sign*(p - j) in [lo, hi), and d = 0 counted once
                lo_s = lo if sign == 1 or lo > 0 else 1
                if lo_s >= hi:
                    continue
                if sign == 1:   # j in [p - hi + 1, p - lo]
                    a, b = pos - hi + 1, pos - lo_s
                else:           # j in [p + lo, p + hi - 1]
                    a, b = pos + lo_s, pos + hi - 1
                a, b = np.maximum(a, 0), np.minimum(b, k_len - 1)
                total += int(np.maximum(b - a + 1, 0).sum())
        out.append(total)
    return out


_BANDS_RE = re.compile(r"#spa\.bands<\s*(causal|bidirectional)\s*((?:,\s*\[[^\]]*\]\s*)*)>")


def parse_bands(text: str) -> Tuple[str, Table]:
    """Parses one printed `#spa.bands<mode, [lo:hi, ...], ...>` attribute
    (the first one in `text`); returns (mode, table)."""
    found = find_bands(text)
    if not found:
        raise ValueError(f"no #spa.bands<...> in {text[:200]!r}")
    return found[0]


def find_bands(text: str) -> List[Tuple[str, Table]]:
    """Every `#spa.bands<...>` attribute in `text`, in order."""
    result = []
    for m in _BANDS_RE.finditer(text):
        mode = m.group(1)
        table: Table = []
        for head in re.findall(r"\[([^\]]*)\]", m.group(2)):
            ivs = []
            for item in head.split(","):
                item = item.strip()
                if not item:
                    continue
                lo, hi = item.split(":")
                ivs.append((int(lo), int(hi)))
            table.append(ivs)
        result.append((mode, table))
    return result


# ---------------------------------------------------------------------------
# Attention
# ---------------------------------------------------------------------------

def _chunk_rows(n_keys: int, span: int, budget: int = 1 << 22) -> int:
    """Rows per chunk: rows * columns stays under `budget`, where a chunk of
    r rows reaches at most min(n_keys, r + span) key columns."""
    by_keys = budget // max(1, n_keys)
    by_span = int((-span + math.sqrt(span * span + 4.0 * budget)) / 2)
    # Narrow bands: chunks about as tall as the band is wide, so that few of
    # the columns a chunk multiplies are masked off (32 rows at least, to
    # keep the Python loop short).
    return max(1, min(max(32, span), max(by_keys, by_span)))


def attention(q, k, v, bands: Table, mode: str = "causal",
              scale: Optional[float] = None):
    """Banded multi-head attention in float64.

    q: (B, Hq, Nq, D), k: (B, Hkv, Nk, D), v: (B, Hkv, Nk, Dv); Hkv divides Hq.
    bands: one interval list per query head. Returns (out (B, Hq, Nq, Dv)
    float64, lse (B, Hq, Nq) float64, natural log, -inf for empty rows).
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    bsz, hq, nq, d = q.shape
    bk, hkv, nk, dk = k.shape
    bv, hv, nv, dv = v.shape
    if (bk, dk) != (bsz, d) or (bv, hv, nv) != (bk, hkv, nk):
        raise ValueError(f"shape mismatch q{q.shape} k{k.shape} v{v.shape}")
    if hq % hkv:
        raise ValueError("Hkv must divide Hq")
    if len(bands) != hq:
        raise ValueError(f"{len(bands)} band lists for {hq} heads")
    if scale is None:
        scale = 1.0 / math.sqrt(d)
    group = hq // hkv
    bidir = mode == "bidirectional"

    out = np.zeros((bsz, hq, nq, dv), dtype=np.float64)
    lse = np.full((bsz, hq, nq), -np.inf, dtype=np.float64)
    for h in range(hq):
        ivs = [(int(lo), int(hi)) for lo, hi in bands[h] if lo < hi]
        if not ivs or nk == 0:
            continue
        g = h // group
        max_hi = max(hi for _, hi in ivs)
        min_lo = min(lo for lo, _ in ivs)
        # Rows in chunks; each chunk only looks at the key columns its band
        # can reach (the mask below decides exactly).
        span = 2 * max_hi if bidir else max_hi - min_lo
        rows = _chunk_rows(nk, span)
        for i0 in range(0, nq, rows):
            i1 = min(nq, i0 + rows)
            pos = np.arange(i0, i1) + (nk - nq)
            if bidir:
                j0, j1 = pos[0] - max_hi + 1, pos[-1] + max_hi
            else:
                j0, j1 = pos[0] - max_hi + 1, pos[-1] - min_lo + 1
            j0, j1 = max(0, j0), min(nk, j1)
            if j0 >= j1:
                continue
            dist = pos[:, None] - np.arange(j0, j1)[None, :]
            if bidir:
                dist = np.abs(dist)
            mask = np.zeros(dist.shape, dtype=bool)
            for lo, hi in ivs:
                mask |= (dist >= lo) & (dist < hi)
            if not bidir:
                mask &= dist >= 0
            has_key = mask.any(axis=1)
            if not has_key.any():
                continue
            for b in range(bsz):
                s = (q[b, h, i0:i1] @ k[b, g, j0:j1].T) * scale
                s = np.where(mask, s, -np.inf)
                m = s.max(axis=1)
                m = np.where(has_key, m, 0.0)
                e = np.exp(s - m[:, None])  # exp(-inf) = 0 off the band
                tot = e.sum(axis=1)
                safe = np.where(has_key, tot, 1.0)
                o = (e @ v[b, g, j0:j1]) / safe[:, None]
                out[b, h, i0:i1] = np.where(has_key[:, None], o, 0.0)
                lse[b, h, i0:i1] = np.where(has_key, m + np.log(safe), -np.inf)
    return out, lse


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------

def max_rel_error(got, ref) -> float:
    """max |got - ref| / (1 + |ref|); infinite values must match exactly
    (same sign) and count as 0; any NaN, or an infinity on one side only,
    gives inf. An empty array gives 0."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        raise ValueError(f"shape mismatch {got.shape} vs {ref.shape}")
    if got.size == 0:
        return 0.0
    if np.isnan(got).any() or np.isnan(ref).any():
        return math.inf
    inf_ref, inf_got = np.isinf(ref), np.isinf(got)
    if (inf_ref != inf_got).any() or (got[inf_ref] != ref[inf_ref]).any():
        return math.inf
    fin = ~inf_ref
    if not fin.any():
        return 0.0
    return float(np.max(np.abs(got[fin] - ref[fin]) / (1.0 + np.abs(ref[fin]))))
