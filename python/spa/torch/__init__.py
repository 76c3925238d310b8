"""spa for PyTorch: banded attention as a custom op with autograd.

    import spa.torch
    out = spa.torch.attention(q, k, v, policy="local_plus_band")
    bands = spa.torch.bands_from_mask_mod(mask_mod, heads=16, seq_len=4096)
    layer = spa.torch.BandedAttention(bands=bands)
    mine = spa.torch.shard_bands(bands, rank, world)  # head-parallel

CPU tensors run spa's CPU JIT, CUDA tensors its GPU kernels (from the
kernel cache, see docs/torch.md). Importing this registers the ops
`torch.ops.spa.attention` and `torch.ops.spa.attention_backward`.
"""

from .api import attention, launch_path
from .cache import MissingKernelError, cache_dir
from .masks import bands_from_mask_mod
from .module import BandedAttention
from .shard import HeadShard, shard_bands, shard_heads

__all__ = ["attention", "bands_from_mask_mod", "BandedAttention",
           "MissingKernelError", "cache_dir", "launch_path", "shard_bands",
           "shard_heads", "HeadShard"]
