"""One kernel configuration: everything that decides the compiled code of a
`spa::attention` call (shapes, dtype, bands, mode, scale, target, and on
CUDA the strides of q, k and v), its LayerSpec, its cache key and the
precompile command that builds it."""

import hashlib
import json
import shlex
from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

from ..layer import LayerSpec, Layouts, float_literal
from .arguments import decode_bands, optional

# Bumped when the cache's layout or what a key covers changes.
CACHE_FORMAT = "spa-torch-kernel-1"


@dataclass(frozen=True)
class KernelConfig:
    target: str          # "cpu" or "cuda:sm_90a"
    batch: int
    heads: int
    kv_heads: int
    query_len: int
    key_len: int
    head_dim: int
    value_dim: int
    dtype: str           # f32 / f16 / bf16
    mode: str
    policy: str          # "" for an explicit table
    bands: Tuple[int, ...]  # flat table (arguments.encode_bands) or ()
    window: int          # -1: the policy's default
    scale: float
    # CUDA: the q, k, v strides the kernels index in place (12 ints,
    # layouts.plan_strides), () for contiguous tensors; out, dout and the
    # gradients follow from them (layouts.layouts_of).
    strides: Tuple[int, ...] = ()

    @classmethod
    def from_tensors(cls, target: str, q, k, v, dtype: str, bands, policy,
                     mode, window, scale) -> "KernelConfig":
        from .layouts import plan_strides
        b, hq, nq, d = (int(x) for x in q.shape)
        hk, nk, dv = int(k.shape[1]), int(k.shape[2]), int(v.shape[3])
        strides = plan_strides(q, k, v) if target.startswith("cuda") else ()
        return cls(target, b, hq, hk, nq, nk, d, dv, dtype, mode, policy,
                   tuple(int(x) for x in bands), int(window), float(scale),
                   strides)

    def layouts(self) -> Layouts:
        """Every 4-D buffer's strides (all given, contiguous where the
        tensors are)."""
        from .layouts import layouts_of
        return layouts_of(self.batch, self.heads, self.kv_heads,
                          self.query_len, self.key_len, self.head_dim,
                          self.value_dim, self.strides)

    def table(self) -> Optional[List[List[Tuple[int, int]]]]:
        return decode_bands(self.bands) if not self.policy else None

    def layer_spec(self) -> LayerSpec:
        return LayerSpec(
            heads=self.heads, kv_heads=self.kv_heads, seq_len=self.key_len,
            query_len=self.query_len, head_dim=self.head_dim,
            value_dim=self.value_dim, batch=self.batch, dtype=self.dtype,
            policy=self.policy or "local_plus_band", bands=self.table(),
            mode=self.mode, window=optional(self.window), scale=self.scale,
            with_lse=True, name="layer",
            layouts=self.layouts() if self.strides else None)

    def mlir(self) -> str:
        """The module compiled: `@layer` and `@layer_grad`."""
        return self.layer_spec().to_mlir(backward=True)

    def key(self) -> str:
        """Hash of the configuration (the compiler's identity is the second
        level of the cache, see cache.py). The scale enters as the decimal
        text the IR carries."""
        fields = asdict(self)
        fields["scale"] = float_literal(self.scale)
        if not self.strides:
            # Contiguous configurations keep the keys they had before
            # strides were part of a configuration.
            del fields["strides"]
        text = json.dumps([CACHE_FORMAT, fields], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def describe(self) -> str:
        choice = (f"policy={self.policy}" if self.policy
                  else f"bands={self.table()}")
        return (f"{self.target} {self.dtype} B={self.batch} Hq={self.heads} "
                f"Hkv={self.kv_heads} Nq={self.query_len} Nk={self.key_len} "
                f"D={self.head_dim} Dv={self.value_dim} {self.mode} {choice}"
                f" scale={self.scale!r}" + (
                    " strides q={} k={} v={}".format(
                        *(list(self.strides[i:i + 4]) for i in (0, 4, 8)))
                    if self.strides else ""))

    def precompile_args(self) -> List[str]:
        """The `python -m spa.torch.precompile` arguments that build this
        configuration (precompile.py parses them back)."""
        args = ["--target", self.target, "--batch", str(self.batch),
                "--heads", str(self.heads), "--kv-heads", str(self.kv_heads),
                "--query-len", str(self.query_len),
                "--seq-len", str(self.key_len),
                "--head-dim", str(self.head_dim),
                "--value-dim", str(self.value_dim), "--dtype", self.dtype,
                "--mode", self.mode]
        if self.policy:
            args += ["--policy", self.policy]
            if self.window >= 0:
                args += ["--window", str(self.window)]
        else:
            args += ["--bands", json.dumps(self.table(),
                                           separators=(",", ":"))]
        args += ["--scale", repr(self.scale)]
        if self.strides:
            args += ["--strides", json.dumps(
                [list(self.strides[i:i + 4]) for i in (0, 4, 8)],
                separators=(",", ":"))]
        return args

    def precompile_command(self) -> str:
        return "python -m spa.torch.precompile " + " ".join(
            shlex.quote(a) for a in self.precompile_args())
