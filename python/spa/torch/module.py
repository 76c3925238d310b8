"""`spa.torch.BandedAttention`: the op as an nn.Module, a drop-in where a
model calls FlexAttention or scaled_dot_product_attention on
[B, H, N, D] tensors."""

from typing import Callable, Optional

import torch

from .api import attention
from .arguments import check_choice, check_scale
from .masks import bands_from_mask_mod


class BandedAttention(torch.nn.Module):
    """`forward(q, k, v)` -> out: spa.torch.attention with the band choice
    fixed at construction (`policy`+`window` or an explicit `bands` table,
    `mode`, `scale`; see spa.torch.attention). No parameters.

    `BandedAttention.from_mask_mod(mask_mod, heads, seq_len)` converts a
    FlexAttention mask_mod once (bands_from_mask_mod).
    """

    def __init__(self, *, policy: Optional[str] = None, bands=None,
                 mode: str = "causal", window: Optional[int] = None,
                 scale: Optional[float] = None):
        super().__init__()
        heads = len(bands) if bands is not None and hasattr(
            bands, "__len__") else 1
        check_choice(policy, bands, mode, window, heads)  # fail early
        if scale is not None:
            check_scale(scale, 1)
        self.policy, self.mode, self.window, self.scale = (
            policy, mode, window, scale)
        self.bands = ([list(map(tuple, head)) for head in bands]
                      if bands is not None else None)

    @classmethod
    def from_mask_mod(cls, mask_mod: Callable, heads: int, seq_len: int,
                      query_len: Optional[int] = None, mode: str = "causal",
                      scale: Optional[float] = None,
                      device=None) -> "BandedAttention":
        """The bands `bands_from_mask_mod` proves (evaluated on `device`)."""
        return cls(bands=bands_from_mask_mod(mask_mod, heads, seq_len,
                                             query_len, mode, device=device),
                   mode=mode, scale=scale)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                scale: Optional[float] = None) -> torch.Tensor:
        return attention(q, k, v, policy=self.policy, bands=self.bands,
                         mode=self.mode, window=self.window,
                         scale=self.scale if scale is None else scale)

    def extra_repr(self) -> str:
        choice = (f"bands={len(self.bands)} heads" if self.bands is not None
                  else f"policy={self.policy or 'local_plus_band'}")
        return f"{choice}, mode={self.mode}"
