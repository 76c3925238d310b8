"""`bands_from_mask_mod`: a FlexAttention mask_mod as a spa band table.

spa can run a mask only if it depends on nothing but the query head and the
distance d = p_q - kv (p_q = q + Nk - Nq: queries bottom-right aligned;
|d| in bidirectional mode). That is proved here by evaluating the mask on
every (head, q, kv) of the given sizes, vectorised with torch in bounded
chunks: first one representative pair per (head, distance), the profile;
then every row block compared with the profile laid out as a Toeplitz
matrix (a strided view, no copy). Any pair that disagrees with its
distance's representative is a ValueError naming the head, the pair and
the representative. A profile over integer distances is always a union of
intervals; the table is its runs of True.
"""

from typing import Callable, List, Optional, Tuple

import torch

from .arguments import MODES

# Elements of one evaluated block (heads x rows x keys); bounds memory.
_BLOCK = 1 << 23


def _evaluator(mask_mod: Callable, heads: int, device: torch.device):
    """A function (h, q, kv) index tensors -> bool tensor of their
    broadcast shape. mask_mods written with tensor operations broadcast;
    ones written for scalars (Python control flow on 0-d tensors) are run
    under torch.vmap, as FlexAttention does."""
    b = torch.zeros((), dtype=torch.int64, device=device)

    def broadcast(h, q, kv):
        return mask_mod(b, h, q, kv)

    def vmapped(h, q, kv):
        shape = torch.broadcast_shapes(h.shape, q.shape, kv.shape)
        h, q, kv = (t.expand(shape).reshape(-1) for t in (h, q, kv))
        fn = torch.vmap(lambda hh, qq, kk: mask_mod(b, hh, qq, kk))
        return fn(h, q, kv).reshape(shape)

    probe = (torch.arange(heads, device=device)[:, None, None],
             torch.arange(2, device=device)[None, :, None],
             torch.arange(3, device=device)[None, None, :])
    try:
        out = broadcast(*probe)
        if (isinstance(out, torch.Tensor) and out.dtype == torch.bool and
                torch.broadcast_shapes(out.shape, (heads, 2, 3)) ==
                (heads, 2, 3)):
            return broadcast
    except Exception:  # not written for broadcasting: try vmap below
        pass
    try:
        out = vmapped(*probe)
    except Exception as e:
        raise ValueError(f"mask_mod could not be evaluated on index tensors "
                         f"(as FlexAttention calls it): {e}") from e
    if not isinstance(out, torch.Tensor) or out.dtype != torch.bool:
        raise ValueError("mask_mod must return a bool tensor, got "
                         f"{getattr(out, 'dtype', type(out).__name__)}")
    return vmapped


def _check_size(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _proof_device(device) -> torch.device:
    """`device` as a torch.device the proof can compute on, else a
    ValueError/TypeError naming the argument."""
    if device is None:
        return torch.device("cpu")
    if not isinstance(device, (str, int, torch.device)) or \
            isinstance(device, bool):
        raise TypeError(f"device must be a torch.device, a string or an "
                        f"index, got {type(device).__name__}")
    try:
        device = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"device {device!r} is not a device: {e}") from None
    if device.type == "meta":
        raise ValueError("device 'meta' holds no values: the proof "
                         "evaluates the mask; pass 'cpu' or a GPU")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r}: no CUDA device here "
                         f"(torch.cuda.is_available() is False); pass 'cpu'")
    return device


def bands_from_mask_mod(mask_mod: Callable, heads: int, seq_len: int,
                        query_len: Optional[int] = None,
                        mode: str = "causal",
                        device=None) -> List[List[Tuple[int, int]]]:
    """The band table (one list of (lo, hi) per head) equal to `mask_mod`
    on `heads` heads, `query_len` queries (default `seq_len`) and `seq_len`
    keys, proved on every pair (batch index 0: spa's bands are the same for
    every batch element). ValueError if the mask is not a function of the
    head and the (causal or absolute) distance, or admits a key after its
    query in causal mode.

    `device` (default CPU) is where the mask is evaluated: the proof visits
    every (head, q, kv), heads x query_len x seq_len evaluations (about 50 s
    for 16 heads at 16384 on two CPU cores, well under a second on a GPU).
    The mask_mod must accept index tensors on that device, as FlexAttention's
    `create_block_mask(..., device=...)` requires."""
    if not callable(mask_mod):
        raise TypeError(f"mask_mod must be callable, got "
                        f"{type(mask_mod).__name__}")
    _check_size("heads", heads, 1)
    _check_size("seq_len", seq_len, 1)
    nq = seq_len if query_len is None else query_len
    _check_size("query_len", nq, 1)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    nk = seq_len
    device = _proof_device(device)
    evaluate = _evaluator(mask_mod, heads, device)
    with torch.no_grad():
        profile = _profile(evaluate, heads, nq, nk, device)
        _prove_toeplitz(evaluate, profile, heads, nq, nk, device)
    profile = profile.cpu()
    # profile[h, m] is the mask at distance d = m - (nq - 1).
    zero = nq - 1
    table = []
    for h in range(heads):
        row = profile[h]
        if mode == "causal":
            bad = torch.nonzero(row[:zero]).flatten()
            if bad.numel():
                d = int(bad[-1]) - zero
                q, kv = _pair(d, nq, nk)
                raise ValueError(
                    f"mask_mod admits a key after its query: head {h}, "
                    f"(q={q}, kv={kv}) at distance {d} < 0; causal bands "
                    "cannot express it (use mode='bidirectional' for a "
                    "symmetric mask)")
            allowed = row[zero:]
        else:
            allowed = _fold(row, zero, h, nq, nk)
        table.append(_runs(allowed))
    return table


def _pair(d: int, nq: int, nk: int) -> Tuple[int, int]:
    """The representative (q, kv) of distance d: the last row for d >= 0,
    the last key for d < 0."""
    if d >= 0:
        return nq - 1, nk - 1 - d
    return nq - 1 + d, nk - 1


def _profile(evaluate, heads: int, nq: int, nk: int,
             device: torch.device) -> torch.Tensor:
    """[heads, nq + nk - 1]: the mask at each distance's representative."""
    d = torch.arange(1 - nq, nk, device=device)
    q = torch.where(d >= 0, torch.full_like(d, nq - 1), nq - 1 + d)
    kv = torch.where(d >= 0, nk - 1 - d, torch.full_like(d, nk - 1))
    h = torch.arange(heads, device=device)[:, None]
    step = max(1, _BLOCK // heads)
    out = [evaluate(h, q[None, s:s + step], kv[None, s:s + step])
           for s in range(0, d.numel(), step)]
    return torch.cat([o.expand(heads, -1) for o in out], dim=1).contiguous()


def _prove_toeplitz(evaluate, profile, heads: int, nq: int, nk: int,
                    device: torch.device):
    """Every pair equals its distance's representative, or ValueError."""
    shift = nk - nq
    length = profile.shape[1]
    # Reversed profile: rev[h, m] = mask at distance (nk - 1) - m, so row q
    # of the expected matrix is rev[h, (nk-1) - (q + shift) + kv], a
    # contiguous window: rows in descending q are windows at offsets
    # stepping by +1, a strided view with strides (length, 1, 1).
    rev = profile.flip(1).contiguous()
    h = torch.arange(heads, device=device)[:, None, None]
    kv = torch.arange(nk, device=device)[None, None, :]
    rows = max(1, _BLOCK // (heads * nk))
    for top in range(nq - 1, -1, -rows):
        bottom = max(-1, top - rows)
        q = torch.arange(top, bottom, -1, device=device)[None, :, None]
        got = evaluate(h, q, kv).expand(heads, q.shape[1], nk)
        start = (nk - 1) - (top + shift)
        expected = torch.as_strided(rev, (heads, q.shape[1], nk),
                                    (length, 1, 1), start)
        wrong = got != expected
        if bool(wrong.any()):
            hh, r, j = (int(x) for x in torch.nonzero(wrong)[0])
            i = top - r
            d = i + shift - j
            rq, rk = _pair(d, nq, nk)
            raise ValueError(
                f"mask_mod depends on more than the head and the distance: "
                f"head {hh}, (q={i}, kv={j}) gives {bool(got[hh, r, j])} but "
                f"(q={rq}, kv={rk}) at the same distance {d} gives "
                f"{bool(expected[hh, r, j])}; spa's bands need a mask that "
                "is a function of the head and q - kv only")


def _fold(row, zero: int, h: int, nq: int, nk: int) -> torch.Tensor:
    """Bidirectional: the mask at d and -d must agree; returns it over
    |d| = 0, 1, ..."""
    pos, neg = row[zero:], row[:zero + 1].flip(0)  # both start at d = 0
    common = min(pos.numel(), neg.numel())
    wrong = torch.nonzero(pos[:common] != neg[:common]).flatten()
    if wrong.numel():
        d = int(wrong[0])
        a, b = _pair(d, nq, nk), _pair(-d, nq, nk)
        raise ValueError(
            f"mask_mod is not symmetric in the distance: head {h}, "
            f"(q={a[0]}, kv={a[1]}) at distance {d} gives {bool(pos[d])} "
            f"but (q={b[0]}, kv={b[1]}) at distance {-d} gives "
            f"{bool(neg[d])}; bidirectional bands need mask(d) == mask(-d)")
    return pos if pos.numel() >= neg.numel() else neg


def _runs(allowed: torch.Tensor) -> List[Tuple[int, int]]:
    """The runs of True as half-open intervals."""
    flags = torch.cat([torch.zeros(1, dtype=torch.int8),
                       allowed.to(torch.int8),
                       torch.zeros(1, dtype=torch.int8)])
    edges = torch.nonzero(flags[1:] != flags[:-1]).flatten().tolist()
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
