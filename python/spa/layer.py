"""A banded attention layer described in Python and written as IR text.

The one writer of `spa.attention` IR text in Python: `LayerSpec.to_mlir`,
`BandPlan.to_attr`, the test harnesses and the benchmarks all call the
functions here. Pure Python: no native extension needed.
"""

import math
import numbers
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

DTYPES = ("f32", "f16", "bf16")

Interval = Tuple[int, int]
# A band policy's name, or an explicit table (one interval list per head).
Bands = Union[str, Sequence[Sequence[Interval]]]


def float_literal(value: float) -> str:
    """`value` as MLIR's lexer reads a float: `1.0e-05`, `0.125`.

    Python's repr is the shortest text that reads back to the same double,
    but it writes `1e-05` and `1e+16` without a '.', which MLIR lexes as the
    integer 1 followed by an identifier: the '.0' is added there. Only
    finite values have a decimal spelling.
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{value} has no MLIR decimal float literal")
    mantissa, e, exponent = repr(value).partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + e + exponent


def check_sizes(sizes) -> None:
    """Tensor dimensions given in Python, as (field, value, minimum,
    may_be_none) rows: each an int (not a bool) of at least `minimum`, or
    None where allowed. The error names the field; unchecked, the IR
    writer would give text with a dimension like `-1` that fails to parse
    far from its cause. Heads and feature sizes have minimum 1 (the op
    verifier's rule); batch and lengths 0 (empty tensors are valid IR)."""
    for field, value, minimum, may_be_none in sizes:
        if value is None and may_be_none:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{field} must be an int, got {value!r}")
        if value < minimum:
            raise ValueError(f"{field} must be at least {minimum}, got "
                             f"{value}")


def check_scale(field: str, value) -> None:
    """The softmax scale, as spa.attention's verifier requires it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{field} must be a float, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{field} must be positive and finite, got {value}")


def head_text(intervals: Sequence[Interval]) -> str:
    """One head's intervals as IR writes them: `[0:64, 512:1024]`."""
    return "[" + ", ".join(f"{lo}:{hi}" for lo, hi in intervals) + "]"


def bands_attr(mode: str, bands: Bands, *, window: Optional[int] = None,
               tile: Optional[Tuple[int, int]] = None) -> str:
    """The `bands(...)` attribute of spa.attention.

    A policy name gives `#spa.band_policy<mode, policy[, window = w]
    [, tile = QxK]>`; a table gives `#spa.bands<mode, [lo:hi, ...], ...>`
    (`window` and `tile` only apply to policies).
    """
    if isinstance(bands, str):
        extra = ""
        if window is not None:
            extra += f", window = {window}"
        if tile is not None:
            extra += f", tile = {tile[0]}x{tile[1]}"
        return f"#spa.band_policy<{mode}, {bands}{extra}>"
    heads = ", ".join(head_text(intervals) for intervals in bands)
    return f"#spa.bands<{mode}, {heads}>"


def layer_mlir(*, batch: Optional[int], heads: int, kv_heads: int,
               query_len: Optional[int], key_len: Optional[int],
               head_dim: int, value_dim: int, dtype: str, mode: str,
               bands: Bands, window: Optional[int] = None,
               tile: Optional[Tuple[int, int]] = None,
               scale: Optional[float] = None, with_lse: bool = True,
               name: str = "layer") -> str:
    """`func.func @name(%q, %k, %v) -> (out[, lse])` around one spa.attention.

    None for `batch`, `query_len` or `key_len` makes that dimension dynamic
    (`?`); the outputs then take their dynamic sizes from %q. `bands`,
    `window` and `tile` are as in `bands_attr`; `scale=None` leaves the
    op's default 1/sqrt(D).
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype}")
    check_sizes([("heads", heads, 1, False), ("kv_heads", kv_heads, 1, False),
                 ("head_dim", head_dim, 1, False),
                 ("value_dim", value_dim, 1, False),
                 ("batch", batch, 0, True), ("query_len", query_len, 0, True),
                 ("key_len", key_len, 0, True)])
    if scale is not None:
        check_scale("scale", scale)

    def dim(size: Optional[int]) -> str:
        return "?" if size is None else str(size)

    b, nq, nk = dim(batch), dim(query_len), dim(key_len)
    q_t = f"tensor<{b}x{heads}x{nq}x{head_dim}x{dtype}>"
    k_t = f"tensor<{b}x{kv_heads}x{nk}x{head_dim}x{dtype}>"
    v_t = f"tensor<{b}x{kv_heads}x{nk}x{value_dim}x{dtype}>"
    o_t = f"tensor<{b}x{heads}x{nq}x{value_dim}x{dtype}>"
    l_t = f"tensor<{b}x{heads}x{nq}xf32>"
    out_types = f"{o_t}, {l_t}" if with_lse else o_t
    lines = [f"func.func @{name}(%q: {q_t}, %k: {k_t}, %v: {v_t}) -> "
             f"({out_types}) {{"]
    # Dynamic output sizes: batch is dimension 0 of %q, Nq dimension 2.
    sizes = []
    for size, index, value in ((batch, 0, "%nb"), (query_len, 2, "%nq")):
        if size is None:
            lines.append(f"  %c{index} = arith.constant {index} : index")
            lines.append(f"  {value} = tensor.dim %q, %c{index} : {q_t}")
            sizes.append(value)
    sizes = ", ".join(sizes)
    lines.append(f"  %o = tensor.empty({sizes}) : {o_t}")
    if with_lse:
        lines.append(f"  %l = tensor.empty({sizes}) : {l_t}")
    scale_text = f" scale({float_literal(scale)})" if scale is not None else ""
    attr = bands_attr(mode, bands, window=window, tile=tile)
    lines.append(f"  {'%r:2' if with_lse else '%r'} = spa.attention "
                 f"bands({attr}){scale_text}")
    lines.append(f"      ins(%q, %k, %v : {q_t}, {k_t}, {v_t})")
    outs = "%o, %l" if with_lse else "%o"
    lines.append(f"      outs({outs} : {out_types}) -> {out_types}")
    returned = "%r#0, %r#1" if with_lse else "%r"
    lines.append(f"  return {returned} : {out_types}")
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass
class LayerSpec:
    """One `spa.attention` layer.

    `policy` names a SPEC.md policy (resolved by -spa-balance-bands), or
    `bands` gives an explicit table (one list of (lo, hi) per query head).
    `seq_len=None` makes the sequence length dynamic: one compiled function
    then serves every length (closed-form policies only).
    """
    heads: int
    seq_len: Optional[int]
    head_dim: int
    batch: int = 1
    kv_heads: Optional[int] = None
    query_len: Optional[int] = None  # defaults to seq_len
    value_dim: Optional[int] = None  # defaults to head_dim
    dtype: str = "f32"
    policy: str = "local_plus_band"
    mode: str = "causal"
    window: Optional[int] = None
    bands: Optional[List[List[Tuple[int, int]]]] = None
    scale: Optional[float] = None
    with_lse: bool = True
    name: str = "layer"

    def __post_init__(self):
        # Checked here, under the field names the caller used, before any
        # IR text exists (layer_mlir checks its own parameters again).
        check_sizes([(field, getattr(self, field), minimum, may_be_none)
                     for field, minimum, may_be_none in (
                         ("heads", 1, False), ("kv_heads", 1, True),
                         ("head_dim", 1, False), ("value_dim", 1, True),
                         ("batch", 0, False), ("seq_len", 0, True),
                         ("query_len", 0, True))])
        if self.scale is not None:
            check_scale("scale", self.scale)
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got "
                             f"{self.dtype!r}")

    def _bands(self) -> Bands:
        return self.bands if self.bands is not None else self.policy

    def bands_attr(self) -> str:
        return bands_attr(self.mode, self._bands(), window=self.window)

    def to_mlir(self) -> str:
        dynamic = self.seq_len is None
        return layer_mlir(
            batch=self.batch, heads=self.heads,
            kv_heads=self.heads if self.kv_heads is None else self.kv_heads,
            query_len=None if dynamic else (
                self.seq_len if self.query_len is None else self.query_len),
            key_len=self.seq_len, head_dim=self.head_dim,
            value_dim=(self.head_dim if self.value_dim is None
                       else self.value_dim), dtype=self.dtype,
            mode=self.mode, bands=self._bands(), window=self.window,
            scale=self.scale, with_lse=self.with_lse, name=self.name)
