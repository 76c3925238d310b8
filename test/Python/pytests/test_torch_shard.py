"""spa.torch.shard_heads / shard_bands: head sharding of a band table for
head-parallel attention.

- The shards of all ranks, in rank order, are the table (empty heads
  kept); each rank's query heads read only its own k/v heads (GQA groups
  whole on one rank).
- A shard is a table the op takes: attention on each rank's heads with its
  shard, concatenated over ranks, equals attention on all heads with the
  whole table, against a float64 NumPy reference (odd length, GQA, an empty
  head, Dv != D).
- Uneven splits, bad ranks and bad tables are clear errors.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import spa.torch as st  # noqa: E402

TABLE = [[(0, 3)], [(3, 7), (20, 25)], [], [(7, 20)],
         [(0, 1), (25, 40)], [(1, 2)], [(2, 3), (40, 99)], []]


@pytest.mark.parametrize("heads,kv_heads,world", [
    (8, 8, 1), (8, 8, 2), (8, 8, 4), (8, 8, 8), (8, 4, 2), (8, 4, 4),
    (8, 2, 2), (8, 1, 1), (6, 3, 3), (12, 4, 2)])
def test_shards_partition_heads_and_keep_groups(heads, kv_heads, world):
    table = [TABLE[h % len(TABLE)] for h in range(heads)]
    group = heads // kv_heads
    joined = []
    for rank in range(world):
        s = st.shard_heads(heads, rank, world, kv_heads=kv_heads)
        assert s.heads == heads // world and s.kv_heads == kv_heads // world
        for h in range(s.q_start, s.q_stop):  # its groups are its own
            assert s.kv_start <= h // group < s.kv_stop
            assert h // group - s.kv_start == (h - s.q_start) // group
        part = st.shard_bands(table, rank, world, kv_heads=kv_heads)
        assert part == [list(head) for head in table[s.q_start:s.q_stop]]
        joined += part
    assert joined == table


@pytest.mark.parametrize("heads,kv_heads,world,match", [
    (6, 6, 4, "6 heads do not split evenly over 4 ranks"),
    (8, 2, 4, "2 GQA groups do not split evenly over 4 ranks"),
    (8, 1, 2, "kv_heads .1. to be a multiple of the world size .2."),
    (6, 3, 2, "3 GQA groups do not split evenly over 2 ranks"),
    (6, 4, 2, "heads=6 is not a multiple of kv_heads=4"),
])
def test_uneven_splits_are_value_errors(heads, kv_heads, world, match):
    with pytest.raises(ValueError, match=match):
        st.shard_heads(heads, 0, world, kv_heads=kv_heads)
    with pytest.raises(ValueError, match=match):
        st.shard_bands([[]] * heads, 0, world, kv_heads=kv_heads)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"rank 2 is not in \[0, world=2\)"):
        st.shard_bands(TABLE, 2, 2)
    with pytest.raises(ValueError, match=r"rank -1 is not in"):
        st.shard_heads(8, -1, 2)
    with pytest.raises(ValueError, match="world must be at least 1"):
        st.shard_heads(8, 0, 0)
    with pytest.raises(TypeError, match="rank must be an int, got True"):
        st.shard_heads(8, True, 2)
    with pytest.raises(TypeError, match="world must be an int, got 2.0"):
        st.shard_bands(TABLE, 0, 2.0)
    with pytest.raises(TypeError, match="bands must be a list"):
        st.shard_bands("0-3", 0, 1)
    with pytest.raises(ValueError, match=r"bands\[1\]: intervals \(3, 7\) "
                                         "and \\(5, 9\\) overlap"):
        st.shard_bands([[(0, 3)], [(3, 7), (5, 9)]], 0, 2)
    with pytest.raises(ValueError, match="need at least one head"):
        st.shard_bands([], 0, 1)


def reference(q, k, v, table, scale):
    """float64 banded causal attention (rows without keys: 0)."""
    q, k, v = (t.double().numpy() for t in (q, k, v))
    b, hq, nq, _ = q.shape
    hk, nk = k.shape[1], k.shape[2]
    out = np.zeros((b, hq, nq, v.shape[3]))
    dist = (np.arange(nq)[:, None] + (nk - nq)) - np.arange(nk)[None, :]
    for h in range(hq):
        mask = np.zeros((nq, nk), dtype=bool)
        for lo, hi in table[h]:
            mask |= (dist >= lo) & (dist < hi)
        kh = h // (hq // hk)
        s = np.einsum("bqd,bkd->bqk", q[:, h], k[:, kh]) * scale
        s = np.where(mask, s, -np.inf)
        m = s.max(-1, keepdims=True)
        p = np.where(mask, np.exp(s - np.where(np.isfinite(m), m, 0)), 0)
        den = p.sum(-1, keepdims=True)
        out[:, h] = np.einsum("bqk,bkd->bqd", p, v[:, kh]) / np.where(
            den > 0, den, 1)
    return out


@pytest.mark.parametrize("world", [2, 4])
def test_sharded_attention_equals_whole(world):
    """Each rank's shard through the op, joined, equals all heads through
    the op and the float64 reference; gradients likewise."""
    gen = torch.Generator().manual_seed(world)
    b, hq, hk, n, d, dv = 2, 8, 4, 37, 16, 8

    def rand(*shape):
        return torch.randn(*shape, generator=gen).requires_grad_()
    q, k, v = rand(b, hq, n, d), rand(b, hk, n, d), rand(b, hk, n, dv)
    whole = st.attention(q, k, v, bands=TABLE)
    parts = []
    for rank in range(world):
        s = st.shard_heads(hq, rank, world, kv_heads=hk)
        parts.append(st.attention(
            q[:, s.q_start:s.q_stop], k[:, s.kv_start:s.kv_stop],
            v[:, s.kv_start:s.kv_stop],
            bands=st.shard_bands(TABLE, rank, world, kv_heads=hk)))
    joined = torch.cat(parts, dim=1)
    ref = reference(q.detach(), k.detach(), v.detach(), TABLE, d ** -0.5)
    np.testing.assert_allclose(joined.detach().double().numpy(), ref,
                               rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(joined, whole, rtol=1e-6, atol=1e-6)
    dout = torch.randn(joined.shape, generator=gen)
    g_joined = torch.autograd.grad(joined, (q, k, v), dout)
    g_whole = torch.autograd.grad(whole, (q, k, v), dout)
    for a, b_ in zip(g_joined, g_whole):
        torch.testing.assert_close(a, b_, rtol=1e-5, atol=1e-6)
