"""The GPT-style decoder of examples/train_gpt.py, with the attention as an
argument of `forward`, so one initialisation serves every attention method.

Pre-norm blocks (LayerNorm, attention with rotary position embeddings,
LayerNorm, 4x GELU MLP), a tied embedding / output matrix, GPT-2's
initialisation. The attention callable takes q [B, Hq, N, D],
k and v [B, Hkv, N, D] (scaled_dot_product_attention's layout) and returns
[B, Hq, N, D]; it is called with tensors of the model's compute dtype
(bf16 under autocast), never promoted to f32 by the rotary embedding.
"""

import math
from dataclasses import dataclass
from typing import Callable, Dict, Tuple

import torch
import torch.nn.functional as F
from torch import nn

Attention = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class GPTConfig:
    vocab: int = 512
    layers: int = 8
    heads: int = 16
    kv_heads: int = 16
    dim: int = 1024
    mlp_ratio: int = 4
    rope_base: float = 10000.0

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    def check(self):
        if self.dim % self.heads:
            raise ValueError(f"--dim {self.dim} is not a multiple of "
                             f"--heads {self.heads}")
        if self.heads % self.kv_heads:
            raise ValueError(f"--heads {self.heads} is not a multiple of "
                             f"--kv-heads {self.kv_heads}")
        if self.head_dim % 2:
            raise ValueError(f"head dim {self.head_dim} must be even (rotary "
                             "embedding)")


def config_from_args(args, sizes: Dict[str, int]) -> GPTConfig:
    """The GPTConfig of a training script's options (`args.vocab`,
    `layers`, `heads`, `kv_heads`, `dim`), after checking `sizes` (name ->
    value, each at least 1) and the step counts; SystemExit naming the
    option otherwise."""
    small = [f"--{k.replace('_', '-')} {v}" for k, v in sizes.items()
             if v < 1]
    if small:
        raise SystemExit(f"sizes must be at least 1: {small}")
    if args.steps < 2 or not 0 < args.warmup < args.steps:
        raise SystemExit("need --steps >= 2 and 0 < --warmup < --steps")
    config = GPTConfig(vocab=args.vocab, layers=args.layers, heads=args.heads,
                       kv_heads=args.kv_heads, dim=args.dim)
    try:
        config.check()
    except ValueError as e:
        raise SystemExit(str(e))
    return config


class Rotary:
    """cos/sin tables per (length, device), float32."""

    def __init__(self, head_dim: int, base: float):
        self.inv_freq = 1.0 / base ** (
            torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        self.tables: Dict[Tuple[int, str], Tuple[torch.Tensor, ...]] = {}

    def __call__(self, n: int, device) -> Tuple[torch.Tensor, torch.Tensor]:
        key = (n, str(device))
        if key not in self.tables:
            angles = torch.outer(torch.arange(n, dtype=torch.float64),
                                 self.inv_freq)
            self.tables[key] = tuple(
                t.float().to(device)[None, :, None, :]
                for t in (angles.cos(), angles.sin()))
        return self.tables[key]


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
    """Rotary embedding of x [B, N, H, D] in float32, back in x's dtype
    (the attention kernels see one dtype)."""
    a, b = x.float().chunk(2, dim=-1)
    out = torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)
    return out.to(x.dtype)


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        # Heads this module computes: the model's, unless head-parallel
        # training gave it a shard (examples/gpt_parallel.py).
        self.heads, self.kv_heads = cfg.heads, cfg.kv_heads
        d, hd = cfg.dim, cfg.head_dim
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, (cfg.heads + 2 * cfg.kv_heads) * hd,
                             bias=False)
        self.proj = nn.Linear(cfg.heads * hd, d, bias=False)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, cfg.mlp_ratio * d, bias=False)
        self.out = nn.Linear(cfg.mlp_ratio * d, d, bias=False)

    def forward(self, x, attention: Attention, rope):
        b, n, _ = x.shape
        hd, heads, kv_heads = self.cfg.head_dim, self.heads, self.kv_heads
        qkv = self.qkv(self.ln1(x))
        q, k, v = qkv.split([heads * hd, kv_heads * hd, kv_heads * hd],
                            dim=-1)
        cos, sin = rope
        q = rotate(q.view(b, n, heads, hd), cos, sin)
        k = rotate(k.view(b, n, kv_heads, hd), cos, sin)
        v = v.view(b, n, kv_heads, hd)
        y = attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        x = x + self.proj(y.transpose(1, 2).reshape(b, n, heads * hd))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        cfg.check()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab, cfg.dim)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(cfg.dim)
        self.rotary = Rotary(cfg.head_dim, cfg.rope_base)
        self._init()

    def _init(self):
        # GPT-2: N(0, 0.02), residual projections scaled by 1/sqrt(2 L).
        for name, p in self.named_parameters():
            if p.dim() < 2:
                continue
            std = 0.02
            if name.endswith(("proj.weight", "out.weight")):
                std /= math.sqrt(2 * self.cfg.layers)
            nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, tokens: torch.Tensor, attention: Attention):
        """Logits [B, N, vocab] of tokens [B, N]."""
        x = self.embed(tokens)
        rope = self.rotary(tokens.shape[1], tokens.device)
        for block in self.blocks:
            x = block(x, attention, rope)
        return F.linear(self.ln_f(x), self.embed.weight)  # tied

    def loss(self, tokens, targets, attention: Attention):
        logits = self.forward(tokens, attention)
        return F.cross_entropy(logits.float().flatten(0, 1),
                               targets.flatten())
