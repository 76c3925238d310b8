"""Synthetic training data for examples/train_gpt.py: generated from a seed,
no download, the same on every machine (a CPU torch.Generator).

Each sequence is one of two kinds, half and half, so that the loss falls
only as far as the model learns to look back:
- periodic copy: a Zipf-distributed random block of length `period`
  (log-uniform in [2, N/2]) repeated over the sequence, 10% of the
  positions replaced by fresh noise tokens (predictable by attending
  `period` or a multiple of it back);
- induction: Zipf background noise with segments of 8..64 tokens copied
  from earlier positions at random distances (after a segment's first
  token, the rest follows from attending to the source).
Both need attention across many distances, short and long, which the
local-plus-band heads cover between them.
"""

import math
from typing import Tuple

import torch

NOISE = 0.1


def _zipf(gen: torch.Generator, vocab: int, shape) -> torch.Tensor:
    weights = 1.0 / torch.arange(1, vocab + 1, dtype=torch.float64)
    flat = torch.multinomial(weights, math.prod(shape), replacement=True,
                             generator=gen)
    return flat.view(shape)


def _periodic(gen, vocab: int, n: int) -> torch.Tensor:
    top = max(2, n // 2)
    period = int(math.exp(torch.empty(()).uniform_(
        math.log(2), math.log(top + 1), generator=gen).item()))
    period = min(max(period, 2), top)
    block = _zipf(gen, vocab, (period,))
    seq = block[torch.arange(n) % period]
    noise = torch.rand(n, generator=gen) < NOISE
    return torch.where(noise, _zipf(gen, vocab, (n,)), seq)


def _induction(gen, vocab: int, n: int) -> torch.Tensor:
    seq = _zipf(gen, vocab, (n,))
    for _ in range(max(1, n // 96)):
        length = int(torch.randint(8, 65, (), generator=gen))
        if 2 * length >= n:
            break
        src = int(torch.randint(0, n - 2 * length, (), generator=gen))
        dst = int(torch.randint(src + length, n - length + 1, (),
                                generator=gen))
        seq[dst:dst + length] = seq[src:src + length]
    return seq


def batches(seed: int, steps: int, batch: int, n: int,
            vocab: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets), each int64 [steps, batch, n]: targets are the
    inputs shifted by one token."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + n)
    seqs = torch.empty(steps, batch, n + 1, dtype=torch.int64)
    for s in range(steps):
        for b in range(batch):
            make = _periodic if (s * batch + b) % 2 == 0 else _induction
            seqs[s, b] = make(gen, vocab, n + 1)
    return seqs[..., :-1].contiguous(), seqs[..., 1:].contiguous()
