"""Checks and normal form of `spa.torch.attention`'s arguments.

Everything a caller passes is checked here, before any kernel exists, and a
mistake is a TypeError (wrong kind of value) or ValueError (wrong value)
that names the argument. The band choice then travels to the custom op in a
form torch can hash and put in a graph: a policy name plus window, or an
explicit table flattened to one int list (`encode_bands`).

It reads only tensor metadata (`.dtype`, `.shape`, `.device`), so it runs
while torch.compile traces, without graph breaks.
"""

import math
import numbers
from typing import List, Optional, Sequence, Tuple

import torch

from ..bands import POLICIES

MODES = ("causal", "bidirectional")
DEFAULT_POLICY = "local_plus_band"
# spa's IR keeps band bounds in int64.
_MAX_BOUND = (1 << 63) - 1

# torch dtype -> the IR element type.
TORCH_TO_IR = {torch.float32: "f32", torch.float16: "f16",
               torch.bfloat16: "bf16"}


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_tensors(q, k, v) -> str:
    """SDPA's layout: q [B, Hq, Nq, D], k [B, Hkv, Nk, D], v [B, Hkv, Nk,
    Dv], Hq a multiple of Hkv, one dtype (f32/f16/bf16) and one device.
    Returns the IR element type."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got "
                            f"{type(t).__name__}")
        if t.dtype not in TORCH_TO_IR:
            raise TypeError(f"{name} must be float32, float16 or bfloat16, "
                            f"got {t.dtype}")
        if t.dim() != 4:
            raise ValueError(f"{name} must be 4-D {_LAYOUT[name]}, got "
                             f"shape {tuple(t.shape)}")
    for name, t in (("k", k), ("v", v)):
        if t.dtype != q.dtype:
            raise TypeError(f"{name} has dtype {t.dtype} but q has {q.dtype}; "
                            "convert explicitly (spa never casts)")
        if t.device != q.device:
            raise ValueError(f"{name} is on {t.device} but q is on "
                             f"{q.device}")
    if q.device.type not in ("cpu", "cuda"):
        raise ValueError(f"q is on {q.device}: spa runs on cpu and cuda")
    (b, hq, _, d), (bk, hk, nk, dk) = q.shape, k.shape
    bv, hv, nv, _ = v.shape
    if bk != b or bv != b:
        raise ValueError(f"batch sizes differ: q {b}, k {bk}, v {bv}")
    if hv != hk:
        raise ValueError(f"k has {hk} heads but v has {hv}")
    if nv != nk:
        raise ValueError(f"k has {nk} keys but v has {nv}")
    if dk != d:
        raise ValueError(f"k has head dim {dk} but q has {d}")
    if hk == 0 or hq == 0:
        raise ValueError(f"q and k need at least one head, got {hq} and {hk}")
    if hq % hk != 0:
        raise ValueError(f"q's {hq} heads are not a multiple of k's {hk} "
                         "(grouped-query attention shares each k/v head by "
                         "a whole group)")
    if d == 0 or v.shape[3] == 0:
        raise ValueError("head dims must be at least 1, got D="
                         f"{d}, Dv={v.shape[3]}")
    return TORCH_TO_IR[q.dtype]


_LAYOUT = {"q": "[B, Hq, Nq, D]", "k": "[B, Hkv, Nk, D]",
           "v": "[B, Hkv, Nk, Dv]"}


def check_bands(bands, heads: int) -> List[List[Tuple[int, int]]]:
    """One list of (lo, hi) per query head, each sorted and disjoint with
    0 <= lo < hi (spa's band table rules); an empty list is an empty head."""
    if isinstance(bands, (str, bytes)) or not isinstance(bands, Sequence):
        raise TypeError("bands must be a list with one list of (lo, hi) "
                        f"pairs per query head, got {type(bands).__name__}")
    if len(bands) != heads:
        raise ValueError(f"bands has {len(bands)} heads but q has {heads}")
    table = []
    for h, head in enumerate(bands):
        if isinstance(head, (str, bytes)) or not isinstance(head, Sequence):
            raise TypeError(f"bands[{h}] must be a list of (lo, hi) pairs, "
                            f"got {type(head).__name__}")
        intervals = []
        for n, pair in enumerate(head):
            if (isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence)
                    or len(pair) != 2 or not all(map(_is_int, pair))):
                raise TypeError(f"bands[{h}][{n}] must be a pair of ints "
                                f"(lo, hi), got {pair!r}")
            lo, hi = int(pair[0]), int(pair[1])
            if lo < 0 or hi > _MAX_BOUND:
                raise ValueError(f"bands[{h}][{n}] = ({lo}, {hi}): bounds "
                                 "must lie in [0, 2^63)")
            if lo >= hi:
                raise ValueError(f"bands[{h}][{n}] = ({lo}, {hi}) is empty "
                                 "(need lo < hi; leave the head's list empty "
                                 "for an empty head)")
            if intervals and intervals[-1][1] > lo:
                raise ValueError(
                    f"bands[{h}]: intervals {intervals[-1]} and ({lo}, {hi}) "
                    "overlap or are unsorted")
            intervals.append((lo, hi))
        table.append(intervals)
    return table


def encode_bands(table: Sequence[Sequence[Tuple[int, int]]]) -> List[int]:
    """[heads, n_0, lo, hi, ..., n_1, ...]: a table as one int list."""
    flat = [len(table)]
    for head in table:
        flat.append(len(head))
        for lo, hi in head:
            flat += [lo, hi]
    return flat


def decode_bands(flat: Sequence[int]) -> List[List[Tuple[int, int]]]:
    flat = [int(x) for x in flat]
    heads, at, table = flat[0], 1, []
    for _ in range(heads):
        count = flat[at]
        at += 1
        table.append([(flat[at + 2 * i], flat[at + 2 * i + 1])
                      for i in range(count)])
        at += 2 * count
    if at != len(flat):
        raise ValueError("malformed band encoding")
    return table


def check_choice(policy, bands, mode, window, heads: int
                 ) -> Tuple[str, List[int], int]:
    """(policy or "", flat table or [], window or -1) for the op."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if window is not None:
        if not _is_int(window):
            raise TypeError(f"window must be an int, got {window!r}")
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
    if policy is not None and bands is not None:
        raise ValueError("give policy or bands, not both")
    if bands is not None:
        if window is not None:
            raise ValueError("window applies to a policy, not to explicit "
                             "bands")
        return "", encode_bands(check_bands(bands, heads)), -1
    policy = DEFAULT_POLICY if policy is None else policy
    if not isinstance(policy, str):
        raise TypeError(f"policy must be a policy name, got {policy!r}")
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got "
                         f"{policy!r} (an explicit table goes in bands=)")
    return policy, [], -1 if window is None else int(window)


def check_scale(scale, head_dim: int) -> float:
    """The softmax scale; None gives 1/sqrt(D) as in SDPA."""
    if scale is None:
        return 1.0 / math.sqrt(head_dim)
    if not isinstance(scale, numbers.Real) or isinstance(scale, bool):
        raise TypeError(f"scale must be a float, got {scale!r}")
    scale = float(scale)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be positive and finite, got {scale}")
    return scale


def check_flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return value


def band_choice_text(policy: str, flat: Sequence[int], window: int) -> str:
    """For messages: `policy='exclusive_equal'` or `bands=[...]`."""
    if policy:
        return f"policy={policy!r}" + (f", window={window}"
                                       if window >= 0 else "")
    return f"bands={decode_bands(flat)!r}"


def optional(value: int) -> Optional[int]:
    return None if value < 0 else value
