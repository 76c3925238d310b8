"""A banded attention layer described in Python and written as IR text.

The one writer of `spa.attention` and `spa.attention_grad` IR text in
Python: `LayerSpec.to_mlir`, `BandPlan.to_attr`, the test harnesses and the
benchmarks all call the functions here. Pure Python: no native extension
needed.
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


def _check_layer(heads, kv_heads, query_len, key_len, head_dim, value_dim,
                 batch, dtype, scale) -> None:
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype}")
    check_sizes([("heads", heads, 1, False), ("kv_heads", kv_heads, 1, False),
                 ("head_dim", head_dim, 1, False),
                 ("value_dim", value_dim, 1, False),
                 ("batch", batch, 0, True), ("query_len", query_len, 0, True),
                 ("key_len", key_len, 0, True)])
    if scale is not None:
        check_scale("scale", scale)


def _dim(size: Optional[int]) -> str:
    return "?" if size is None else str(size)


def _dynamic_sizes(lines: List[str], sizes) -> dict:
    """Appends `tensor.dim` lines for the dynamic sizes among `sizes`, rows
    (static size or None, SSA name of the size, source value, its type,
    dimension); returns {SSA name: defined} for the ones emitted."""
    constants, defined = set(), {}
    for size, value, source, source_type, index in sizes:
        if size is not None or value in defined:
            continue
        if index not in constants:
            lines.append(f"  %c{index} = arith.constant {index} : index")
            constants.add(index)
        lines.append(f"  {value} = tensor.dim {source}, %c{index} : "
                     f"{source_type}")
        defined[value] = True
    return defined


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
    _check_layer(heads, kv_heads, query_len, key_len, head_dim, value_dim,
                 batch, dtype, scale)
    b, nq, nk = _dim(batch), _dim(query_len), _dim(key_len)
    q_t = f"tensor<{b}x{heads}x{nq}x{head_dim}x{dtype}>"
    k_t = f"tensor<{b}x{kv_heads}x{nk}x{head_dim}x{dtype}>"
    v_t = f"tensor<{b}x{kv_heads}x{nk}x{value_dim}x{dtype}>"
    o_t = f"tensor<{b}x{heads}x{nq}x{value_dim}x{dtype}>"
    l_t = f"tensor<{b}x{heads}x{nq}xf32>"
    out_types = f"{o_t}, {l_t}" if with_lse else o_t
    lines = [f"func.func @{name}(%q: {q_t}, %k: {k_t}, %v: {v_t}) -> "
             f"({out_types}) {{"]
    # Dynamic output sizes: batch is dimension 0 of %q, Nq dimension 2.
    sizes = ", ".join(_dynamic_sizes(lines, [
        (batch, "%nb", "%q", q_t, 0), (query_len, "%nq", "%q", q_t, 2)]))
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


def layer_grad_mlir(*, batch: Optional[int], heads: int, kv_heads: int,
                    query_len: Optional[int], key_len: Optional[int],
                    head_dim: int, value_dim: int, dtype: str, mode: str,
                    bands: Bands, window: Optional[int] = None,
                    tile: Optional[Tuple[int, int]] = None,
                    scale: Optional[float] = None, with_lse: bool = True,
                    name: str = "layer") -> str:
    """`func.func @<name>_grad(%q, %k, %v, %o, %lse, %do) -> (dq, dk, dv)`
    around one spa.attention_grad: the gradients of `layer_mlir`'s layer with
    the same parameters, from its output `%o`, its log-sum-exp `%lse` and
    the output gradient `%do`. The bands text is `layer_mlir`'s, so both
    resolve to the same table. The gradient needs the log-sum-exp:
    `with_lse=False` is a ValueError.
    """
    _check_layer(heads, kv_heads, query_len, key_len, head_dim, value_dim,
                 batch, dtype, scale)
    if not with_lse:
        raise ValueError("the gradient needs the forward's log-sum-exp: "
                         "with_lse must be True")
    b, nq, nk = _dim(batch), _dim(query_len), _dim(key_len)
    q_t = f"tensor<{b}x{heads}x{nq}x{head_dim}x{dtype}>"
    k_t = f"tensor<{b}x{kv_heads}x{nk}x{head_dim}x{dtype}>"
    v_t = f"tensor<{b}x{kv_heads}x{nk}x{value_dim}x{dtype}>"
    o_t = f"tensor<{b}x{heads}x{nq}x{value_dim}x{dtype}>"
    l_t = f"tensor<{b}x{heads}x{nq}xf32>"
    in_types = f"{q_t}, {k_t}, {v_t}, {o_t}, {l_t}, {o_t}"
    out_types = f"{q_t}, {k_t}, {v_t}"
    lines = [f"func.func @{name}_grad(%q: {q_t}, %k: {k_t}, %v: {v_t}, "
             f"%o: {o_t}, %lse: {l_t}, %do: {o_t}) -> ({out_types}) {{"]
    # Dynamic gradient sizes: batch and Nq from %q, Nk from %k.
    _dynamic_sizes(lines, [(batch, "%nb", "%q", q_t, 0),
                           (query_len, "%nq", "%q", q_t, 2),
                           (key_len, "%nk", "%k", k_t, 2)])

    def sizes(*pairs) -> str:
        return ", ".join(value for size, value in pairs if size is None)

    q_sizes = sizes((batch, "%nb"), (query_len, "%nq"))
    k_sizes = sizes((batch, "%nb"), (key_len, "%nk"))
    lines.append(f"  %dq = tensor.empty({q_sizes}) : {q_t}")
    lines.append(f"  %dk = tensor.empty({k_sizes}) : {k_t}")
    lines.append(f"  %dv = tensor.empty({k_sizes}) : {v_t}")
    scale_text = f" scale({float_literal(scale)})" if scale is not None else ""
    attr = bands_attr(mode, bands, window=window, tile=tile)
    lines.append(f"  %r:3 = spa.attention_grad bands({attr}){scale_text}")
    lines.append(f"      ins(%q, %k, %v, %o, %lse, %do : {in_types})")
    lines.append(f"      outs(%dq, %dk, %dv : {out_types}) -> {out_types}")
    lines.append(f"  return %r#0, %r#1, %r#2 : {out_types}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def contiguous_strides(shape: Sequence[int]) -> Tuple[int, ...]:
    """Row-major element strides of `shape`."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(int(size), 1)
    return tuple(reversed(strides))


# The buffers of a layer whose strides a caller may choose (the forward's
# log-sum-exp, [B, Hq, Nq] f32, is always contiguous).
LAYOUT_OPERANDS = ("query", "key", "value", "output", "output_grad",
                   "query_grad", "key_grad", "value_grad")


@dataclass(frozen=True)
class Layouts:
    """Element strides of a layer's 4-D buffers, each a tuple of four ints
    or None (contiguous). A layer with any non-contiguous layout is written
    at the memref level (`layer_memref_mlir`): the GPU kernels then index
    the caller's views (a token-major `q.transpose(1, 2)`, a slice of a
    fused qkv projection) in place; convert-spa-to-gpu checks the strides
    (offset 0, innermost 1, 16-byte aligned rows, heads and batches)."""
    query: Optional[Tuple[int, ...]] = None
    key: Optional[Tuple[int, ...]] = None
    value: Optional[Tuple[int, ...]] = None
    output: Optional[Tuple[int, ...]] = None
    output_grad: Optional[Tuple[int, ...]] = None
    query_grad: Optional[Tuple[int, ...]] = None
    key_grad: Optional[Tuple[int, ...]] = None
    value_grad: Optional[Tuple[int, ...]] = None

    def __post_init__(self):
        for name in LAYOUT_OPERANDS:
            strides = getattr(self, name)
            if strides is None:
                continue
            if (isinstance(strides, (str, bytes)) or
                    not isinstance(strides, Sequence) or len(strides) != 4):
                raise TypeError(f"layouts.{name} must be four strides or "
                                f"None, got {strides!r}")
            check_sizes([(f"layouts.{name}[{d}]", s, 0, False)
                         for d, s in enumerate(strides)])
            object.__setattr__(self, name, tuple(int(x) for x in strides))

    def strides(self, name: str, shape: Sequence[int]) -> Tuple[int, ...]:
        given = getattr(self, name)
        return contiguous_strides(shape) if given is None else given

    def is_contiguous(self, shapes: dict) -> bool:
        """True when every layout is the row-major one of its shape in
        `shapes` (name -> shape)."""
        return all(self.strides(n, shapes[n]) == contiguous_strides(shapes[n])
                   for n in LAYOUT_OPERANDS)


def _memref(shape: Sequence[int], dtype: str,
            strides: Optional[Sequence[int]] = None) -> str:
    dims = "x".join(str(d) for d in shape)
    if strides is None or tuple(strides) == contiguous_strides(shape):
        return f"memref<{dims}x{dtype}>"
    return (f"memref<{dims}x{dtype}, strided<["
            + ", ".join(str(s) for s in strides) + "]>>")


def layer_memref_mlir(*, batch: int, heads: int, kv_heads: int,
                      query_len: int, key_len: int, head_dim: int,
                      value_dim: int, dtype: str, mode: str, bands: Bands,
                      layouts: Layouts, window: Optional[int] = None,
                      tile: Optional[Tuple[int, int]] = None,
                      scale: Optional[float] = None, backward: bool = False,
                      name: str = "layer") -> str:
    """The layer in destination-passing style on buffers of static shape
    and the strides of `layouts`:

        func.func @<name>(%q, %k, %v, %o, %lse)      spa.attention
        func.func @<name>_grad(%q, %k, %v, %o, %lse, %do, %dq, %dk, %dv)
                                                     (backward=True)

    For the GPU (spa-to-nvvm bufferizes nothing here and the kernels take
    the buffers' layouts as they are); the log-sum-exp is contiguous.
    """
    _check_layer(heads, kv_heads, query_len, key_len, head_dim, value_dim,
                 batch, dtype, scale)
    if None in (batch, query_len, key_len):
        raise ValueError("strided layouts need static shapes (batch, "
                         "query_len and key_len)")
    shapes = layout_shapes(batch, heads, kv_heads, query_len, key_len,
                           head_dim, value_dim)
    t = {n: _memref(shapes[n], dtype, layouts.strides(n, shapes[n]))
         for n in LAYOUT_OPERANDS}
    lse_t = _memref((batch, heads, query_len), "f32")
    scale_text = f" scale({float_literal(scale)})" if scale is not None else ""
    attr = bands_attr(mode, bands, window=window, tile=tile)
    lines = [f"func.func @{name}(%q: {t['query']}, %k: {t['key']}, "
             f"%v: {t['value']}, %o: {t['output']}, %l: {lse_t}) {{",
             f"  spa.attention bands({attr}){scale_text}",
             f"      ins(%q, %k, %v : {t['query']}, {t['key']}, "
             f"{t['value']})",
             f"      outs(%o, %l : {t['output']}, {lse_t})",
             "  return", "}"]
    if backward:
        ins = (f"{t['query']}, {t['key']}, {t['value']}, {t['output']}, "
               f"{lse_t}, {t['output_grad']}")
        outs = f"{t['query_grad']}, {t['key_grad']}, {t['value_grad']}"
        lines += ["",
                  f"func.func @{name}_grad(%q: {t['query']}, %k: {t['key']}, "
                  f"%v: {t['value']}, %o: {t['output']}, %lse: {lse_t}, "
                  f"%do: {t['output_grad']}, %dq: {t['query_grad']}, "
                  f"%dk: {t['key_grad']}, %dv: {t['value_grad']}) {{",
                  f"  spa.attention_grad bands({attr}){scale_text}",
                  f"      ins(%q, %k, %v, %o, %lse, %do : {ins})",
                  f"      outs(%dq, %dk, %dv : {outs})",
                  "  return", "}"]
    return "\n".join(lines) + "\n"


def layout_shapes(batch, heads, kv_heads, query_len, key_len, head_dim,
                  value_dim) -> dict:
    """The shape of each of LAYOUT_OPERANDS."""
    q = (batch, heads, query_len, head_dim)
    k = (batch, kv_heads, key_len, head_dim)
    v = (batch, kv_heads, key_len, value_dim)
    o = (batch, heads, query_len, value_dim)
    return dict(query=q, key=k, value=v, output=o, output_grad=o,
                query_grad=q, key_grad=k, value_grad=v)


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
    # Strides of the buffers (None: all contiguous). A non-contiguous
    # layout writes the layer at the memref level (layer_memref_mlir; GPU
    # only, static shapes).
    layouts: Optional[Layouts] = None

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

    def strided(self) -> bool:
        """True when `layouts` holds a non-contiguous layout (the layer is
        then written on buffers)."""
        if self.layouts is None:
            return False
        if self.seq_len is None:
            return True  # to_mlir refuses it
        kv = self.heads if self.kv_heads is None else self.kv_heads
        nq = self.seq_len if self.query_len is None else self.query_len
        dv = self.head_dim if self.value_dim is None else self.value_dim
        return not self.layouts.is_contiguous(layout_shapes(
            self.batch, self.heads, kv, nq, self.seq_len, self.head_dim, dv))

    def to_mlir(self, backward: bool = False) -> str:
        """The layer as `func.func @<name>(q, k, v)`; with `backward=True`
        also `@<name>_grad(q, k, v, out, lse, dout) -> (dq, dk, dv)` in the
        same module (same bands text, so both get the same table).
        With non-contiguous `layouts` the functions take their outputs as
        buffers instead (layer_memref_mlir)."""
        dynamic = self.seq_len is None
        params = dict(
            batch=self.batch, heads=self.heads,
            kv_heads=self.heads if self.kv_heads is None else self.kv_heads,
            query_len=None if dynamic else (
                self.seq_len if self.query_len is None else self.query_len),
            key_len=self.seq_len, head_dim=self.head_dim,
            value_dim=(self.head_dim if self.value_dim is None
                       else self.value_dim), dtype=self.dtype,
            mode=self.mode, bands=self._bands(), window=self.window,
            scale=self.scale, with_lse=self.with_lse, name=self.name)
        if self.strided():
            if dynamic:
                raise ValueError("strided layouts need a static seq_len")
            if not self.with_lse:
                raise ValueError("strided layouts write the log-sum-exp: "
                                 "with_lse must be True")
            del params["with_lse"]
            return layer_memref_mlir(layouts=self.layouts,
                                     backward=backward, **params)
        text = layer_mlir(**params)
        if backward:
            if not self.with_lse:
                raise ValueError("backward=True needs with_lse=True: the "
                                 "gradient reads the forward's log-sum-exp")
            text += "\n" + layer_grad_mlir(**params)
        return text
