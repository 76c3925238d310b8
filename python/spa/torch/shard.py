"""Head sharding of a band table for head-parallel (tensor-parallel)
attention: rank r of `world` runs spa.torch.attention on a contiguous slice
of the query heads, with the matching slice of the k/v heads, and the slice
of the band table is just another explicit table (the op takes any).

    heads = spa.torch.shard_heads(16, rank, world, kv_heads=4)
    table = spa.torch.shard_bands(bands, rank, world, kv_heads=4)

Grouped-query attention: query head h reads k/v head h // (Hq / Hkv), so a
rank's query heads must come with exactly its k/v heads. Splitting Hq and
Hkv into `world` equal contiguous blocks keeps every group on one rank;
anything else (a group cut in two, fewer k/v heads than ranks) would need
k/v heads replicated across ranks, which this does not do: it is a
ValueError.
"""

import numbers
from typing import List, NamedTuple, Optional, Tuple

from .arguments import check_bands


class HeadShard(NamedTuple):
    """One rank's heads: query heads [q_start, q_stop), k/v heads
    [kv_start, kv_stop)."""
    q_start: int
    q_stop: int
    kv_start: int
    kv_stop: int

    @property
    def heads(self) -> int:
        return self.q_stop - self.q_start

    @property
    def kv_heads(self) -> int:
        return self.kv_stop - self.kv_start


def _int(name: str, value) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return int(value)


def shard_heads(heads: int, rank: int, world: int, *,
                kv_heads: Optional[int] = None) -> HeadShard:
    """The heads rank `rank` of `world` holds: equal contiguous blocks of
    the query heads and of the k/v heads (default kv_heads = heads)."""
    heads, rank, world = (_int("heads", heads), _int("rank", rank),
                          _int("world", world))
    kv_heads = heads if kv_heads is None else _int("kv_heads", kv_heads)
    if world < 1:
        raise ValueError(f"world must be at least 1, got {world}")
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} is not in [0, world={world})")
    if heads < 1 or kv_heads < 1:
        raise ValueError(f"need at least one head, got heads={heads}, "
                         f"kv_heads={kv_heads}")
    if heads % kv_heads:
        raise ValueError(f"heads={heads} is not a multiple of kv_heads="
                         f"{kv_heads}")
    if kv_heads % world:
        what = ("GQA groups" if kv_heads != heads else "heads")
        raise ValueError(
            f"{kv_heads} {what} do not split evenly over {world} ranks: "
            f"head-parallel attention needs kv_heads ({kv_heads}) to be a "
            f"multiple of the world size ({world}), so that each rank holds "
            "whole groups of query heads with their k/v head")
    hq, hkv = heads // world, kv_heads // world
    return HeadShard(rank * hq, (rank + 1) * hq, rank * hkv, (rank + 1) * hkv)


def shard_bands(bands, rank: int, world: int, *,
                kv_heads: Optional[int] = None) -> List[List[Tuple[int, int]]]:
    """Rank `rank`'s slice of the band table `bands` (one list of (lo, hi)
    per query head): the rows of its query heads (shard_heads), checked like
    spa.torch.attention's bands=."""
    if isinstance(bands, (str, bytes)) or not hasattr(bands, "__len__"):
        raise TypeError("bands must be a list with one list of (lo, hi) "
                        f"pairs per query head, got {type(bands).__name__}")
    table = check_bands(bands, len(bands))
    shard = shard_heads(len(table), rank, world, kv_heads=kv_heads)
    return table[shard.q_start:shard.q_stop]
