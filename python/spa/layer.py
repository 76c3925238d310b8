"""A banded attention layer described in Python and rendered as IR."""

from dataclasses import dataclass
from typing import List, Optional, Tuple

DTYPES = ("f32", "f16", "bf16")


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

    def bands_attr(self) -> str:
        if self.bands is not None:
            body = ", ".join("[" + ", ".join(f"{lo}:{hi}" for lo, hi in h) +
                             "]" for h in self.bands)
            return f"#spa.bands<{self.mode}, {body}>"
        extra = f", window = {self.window}" if self.window is not None else ""
        return f"#spa.band_policy<{self.mode}, {self.policy}{extra}>"

    def to_mlir(self) -> str:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype}")
        kv = self.kv_heads or self.heads
        dv = self.value_dim or self.head_dim
        dynamic = self.seq_len is None
        nk = "?" if dynamic else str(self.seq_len)
        nq = "?" if dynamic else str(self.query_len or self.seq_len)
        t = self.dtype
        q_t = f"tensor<{self.batch}x{self.heads}x{nq}x{self.head_dim}x{t}>"
        k_t = f"tensor<{self.batch}x{kv}x{nk}x{self.head_dim}x{t}>"
        v_t = f"tensor<{self.batch}x{kv}x{nk}x{dv}x{t}>"
        o_t = f"tensor<{self.batch}x{self.heads}x{nq}x{dv}x{t}>"
        l_t = f"tensor<{self.batch}x{self.heads}x{nq}xf32>"
        dyn = "%nq" if dynamic else ""
        lines = [f"func.func @{self.name}(%q: {q_t}, %k: {k_t}, %v: {v_t})"
                 f" -> ({o_t}{', ' + l_t if self.with_lse else ''}) {{"]
        if dynamic:
            lines.append("  %c2 = arith.constant 2 : index")
            lines.append(f"  %nq = tensor.dim %q, %c2 : {q_t}")
        lines.append(f"  %o = tensor.empty({dyn}) : {o_t}")
        outs, out_types = "%o", o_t
        if self.with_lse:
            lines.append(f"  %l = tensor.empty({dyn}) : {l_t}")
            outs, out_types = "%o, %l", f"{o_t}, {l_t}"
        scale = f" scale({self.scale!r})" if self.scale is not None else ""
        results = "%r:2" if self.with_lse else "%r"
        lines.append(
            f"  {results} = spa.attention bands({self.bands_attr()}){scale}\n"
            f"      ins(%q, %k, %v : {q_t}, {k_t}, {v_t})\n"
            f"      outs({outs} : {out_types}) -> {out_types}")
        ret = "%r#0, %r#1" if self.with_lse else "%r"
        lines.append(f"  return {ret} : {out_types}")
        lines.append("}")
        return "\n".join(lines) + "\n"
