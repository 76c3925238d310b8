"""Unit tests of the NumPy reference (test/lib/spa_reference) against
brute-force loops written straight from SPEC.md section 1, and SPEC's own
numbers. No compiler involved."""

import math

import numpy as np
import pytest

import spa_reference as ref
from spa.layer import bands_attr


# ---------------------------------------------------------------------------
# Brute force: one (b, h, i) at a time, every key tested, plain Python.
# ---------------------------------------------------------------------------

def brute_attention(q, k, v, bands, mode, scale=None):
    bsz, hq, nq, d = q.shape
    _, hkv, nk, _ = k.shape
    dv = v.shape[3]
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    out = np.zeros((bsz, hq, nq, dv))
    lse = np.full((bsz, hq, nq), -math.inf)
    for b in range(bsz):
        for h in range(hq):
            g = h // (hq // hkv)
            for i in range(nq):
                p = i + nk - nq
                scores, keys = [], []
                for j in range(nk):
                    dist = p - j
                    if mode == "bidirectional":
                        dist = abs(dist)
                    elif dist < 0:
                        continue
                    if any(lo <= dist < hi for lo, hi in bands[h]):
                        s = sum(float(q[b, h, i, x]) * float(k[b, g, j, x]) for x in range(d))
                        scores.append(scale * s)
                        keys.append(j)
                if not keys:
                    continue
                m = max(scores)
                w = [math.exp(s - m) for s in scores]
                total = sum(w)
                for wt, j in zip(w, keys):
                    out[b, h, i] += wt / total * v[b, g, j].astype(np.float64)
                lse[b, h, i] = m + math.log(total)
    return out, lse


def brute_table(policy, n, heads, window=None):
    """SPEC's formulas as sets of distances, then back to intervals."""
    wb, r = n // heads, n % heads
    table = []
    for h in range(heads):
        w = wb + (1 if h < r else 0)
        s = h * wb + min(h, r)
        if policy == "exclusive_equal":
            ds = set(range(s, s + w))
        elif policy == "local_plus_band":
            ds = set(range(0, w + 1)) | set(range(s, s + w))
        elif policy == "gapped_half":
            ds = set(range(s, s + w // 2))
        elif policy == "sliding_window":
            ds = set(range(0, (w if window is None else window) + 1))
        elif policy == "dense_causal":
            ds = set(range(n))
        ds = sorted(x for x in ds if 0 <= x < n)
        ivs = []
        for x in ds:
            if ivs and ivs[-1][1] == x:
                ivs[-1] = (ivs[-1][0], x + 1)
            else:
                ivs.append((x, x + 1))
        table.append(ivs)
    return table


def brute_pairs(table, nq, nk, mode):
    counts = []
    for ivs in table:
        c = 0
        for i in range(nq):
            p = i + nk - nq
            for j in range(nk):
                dist = abs(p - j) if mode == "bidirectional" else p - j
                if dist >= 0 and any(lo <= dist < hi for lo, hi in ivs):
                    c += 1
        counts.append(c)
    return counts


# ---------------------------------------------------------------------------

def test_spec_pair_counts():
    """SPEC: N = 1024, H = 8, exclusive_equal: head 0 holds 122,944 pairs, the
    last 8,256 (15x)."""
    table = ref.band_table("exclusive_equal", 1024, 8)
    pairs = ref.pair_counts(table, 1024, 1024)
    assert pairs[0] == 122_944
    assert pairs[7] == 8_256
    assert sum(pairs) == 1024 * 1025 // 2
    assert table[0] == [(0, 128)] and table[7] == [(896, 1024)]


def test_spec_worked_example_tables():
    """N = 10, H = 3: Wb = 3, R = 1, W = [4, 3, 3], S = [0, 4, 7]."""
    assert ref.band_table("exclusive_equal", 10, 3) == [[(0, 4)], [(4, 7)], [(7, 10)]]
    assert ref.band_table("local_plus_band", 10, 3) == [[(0, 5)], [(0, 7)], [(0, 4), (7, 10)]]
    assert ref.band_table("gapped_half", 10, 3) == [[(0, 2)], [(4, 5)], [(7, 8)]]
    assert ref.band_table("sliding_window", 10, 3) == [[(0, 5)], [(0, 4)], [(0, 4)]]
    assert ref.band_table("sliding_window", 10, 3, window=2) == [[(0, 3)]] * 3
    assert ref.band_table("sliding_window", 10, 3, window=50) == [[(0, 10)]] * 3
    assert ref.band_table("dense_causal", 10, 3) == [[(0, 10)]] * 3
    # gapped_half with W_h = 1 leaves the head empty
    assert ref.band_table("gapped_half", 12, 8)[4:] == [[]] * 4


@pytest.mark.parametrize("policy", ref.CLOSED_FORM_POLICIES)
def test_band_table_brute(policy):
    for n in list(range(0, 40)) + [64, 100, 257]:
        for h in (1, 2, 3, 5, 8, 16):
            windows = [None, 0, 3, 100] if policy == "sliding_window" else [None]
            for w in windows:
                assert ref.band_table(policy, n, h, window=w) == brute_table(policy, n, h, w), \
                    (policy, n, h, w)


def test_pair_counts_brute():
    rng = np.random.default_rng(0)
    for trial in range(40):
        nk = int(rng.integers(1, 20))
        nq = int(rng.integers(1, 25))
        table = random_table(rng, 3, 25)
        for mode in ref.MODES:
            assert ref.pair_counts(table, nq, nk, mode) == brute_pairs(table, nq, nk, mode), \
                (table, nq, nk, mode)


def random_table(rng, heads, max_d):
    table = []
    for _ in range(heads):
        ivs = []
        for _ in range(int(rng.integers(0, 3))):
            lo = int(rng.integers(0, max_d))
            ivs.append((lo, lo + int(rng.integers(1, 6))))
        table.append(ref.normalize(ivs))
    return table


@pytest.mark.parametrize("mode", ref.MODES)
@pytest.mark.parametrize("seed", range(6))
def test_attention_brute(mode, seed):
    rng = np.random.default_rng(seed)
    bsz = int(rng.integers(1, 3))
    hkv = int(rng.integers(1, 3))
    hq = hkv * int(rng.integers(1, 3))
    nk = int(rng.integers(1, 14))
    nq = int(rng.integers(1, 16))       # may exceed nk: rows without keys
    d, dv = int(rng.integers(1, 6)), int(rng.integers(1, 5))
    q = rng.standard_normal((bsz, hq, nq, d))
    k = rng.standard_normal((bsz, hkv, nk, d))
    v = rng.standard_normal((bsz, hkv, nk, dv))
    table = random_table(rng, hq, nk + 3)
    table[0] = []  # always one empty head
    scale = None if seed % 2 else 0.7
    out, lse = ref.attention(q, k, v, table, mode, scale)
    want_out, want_lse = brute_attention(q, k, v, table, mode, scale)
    np.testing.assert_allclose(out, want_out, rtol=1e-12, atol=1e-12)
    assert np.array_equal(np.isinf(lse), np.isinf(want_lse))
    np.testing.assert_allclose(lse[np.isfinite(lse)], want_lse[np.isfinite(want_lse)],
                               rtol=1e-12, atol=1e-12)
    assert (out[:, 0] == 0).all() and (lse[:, 0] == -math.inf).all()
    assert not np.isnan(out).any() and not np.isnan(lse).any()


def test_attention_chunking_matches_unchunked(monkeypatch):
    """Row chunks and the column windows per chunk change nothing."""
    rng = np.random.default_rng(7)
    q = rng.standard_normal((1, 3, 150, 8))
    k = rng.standard_normal((1, 3, 200, 8))
    v = rng.standard_normal((1, 3, 200, 5))
    table = [[(0, 3), (40, 45)], [(100, 300)], [(7, 8)]]
    for mode in ref.MODES:
        whole = ref.attention(q, k, v, table, mode)
        monkeypatch.setattr(ref.reference, "_chunk_rows", lambda nk, span, budget=0: 7)
        chunked = ref.attention(q, k, v, table, mode)
        monkeypatch.undo()
        want = brute_attention(q, k, v, table, mode)
        for a, b, c in zip(whole, chunked, want):
            np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(b, c, rtol=1e-12, atol=1e-12)


def test_attention_dense_matches_softmax():
    """dense_causal bidirectional = plain softmax attention."""
    rng = np.random.default_rng(3)
    q = rng.standard_normal((2, 4, 9, 6))
    k = rng.standard_normal((2, 2, 9, 6))
    v = rng.standard_normal((2, 2, 9, 3))
    out, lse = ref.attention(q, k, v, ref.band_table("dense_causal", 9, 4), "bidirectional")
    kk, vv = np.repeat(k, 2, axis=1), np.repeat(v, 2, axis=1)
    s = q @ kk.transpose(0, 1, 3, 2) / math.sqrt(6)
    want_lse = np.log(np.exp(s).sum(-1))
    want = (np.exp(s - want_lse[..., None])) @ vv
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lse, want_lse, rtol=1e-12, atol=1e-12)


def test_attention_large_n_is_bounded():
    """N = 4096 with a narrow band runs quickly and within memory."""
    rng = np.random.default_rng(1)
    q = rng.standard_normal((1, 2, 4096, 16)).astype(np.float32)
    v = rng.standard_normal((1, 2, 4096, 8)).astype(np.float32)
    out, lse = ref.attention(q, q, v, [[(0, 1)], [(4095, 4096)]], "causal")
    np.testing.assert_allclose(out[0, 0], v[0, 0], rtol=1e-6, atol=1e-6)  # only itself
    assert np.isinf(lse[0, 1, :-1]).all() and np.isfinite(lse[0, 1, -1])


def test_parse_bands():
    text = ("%0 = spa.attention bands(#spa.bands<causal, [0:4], [4:10], [], "
            "[1:3, 6:12]>) scale(2.5e-01) ins(...)\n"
            "spa.attention bands(#spa.bands<bidirectional, [0:1]>) ins")
    assert ref.parse_bands(text) == ("causal", [[(0, 4)], [(4, 10)], [], [(1, 3), (6, 12)]])
    assert ref.find_bands(text)[1] == ("bidirectional", [[(0, 1)]])
    table = [[(0, 4)], [], [(1, 3), (6, 12)]]
    # What the spa package writes, the reference reads back.
    assert ref.parse_bands(bands_attr("bidirectional", table)) == ("bidirectional", table)
    with pytest.raises(ValueError):
        ref.parse_bands("#spa.band_policy<causal, exclusive_equal>")


def test_max_rel_error():
    inf = math.inf
    assert ref.max_rel_error([1.0, -inf], [1.0, -inf]) == 0.0
    assert ref.max_rel_error([1.5], [1.0]) == pytest.approx(0.25)
    assert ref.max_rel_error([0.0, 1.0], [-inf, 1.0]) == inf     # -inf expected
    assert ref.max_rel_error([-inf], [0.0]) == inf
    assert ref.max_rel_error([inf], [-inf]) == inf
    assert ref.max_rel_error([math.nan], [1.0]) == inf
    assert ref.max_rel_error(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
