"""No silent wrong answers on the CPU path (issue #13).

- NaN and Inf in q, k or v propagate as in PyTorch's attention: exactly the
  rows whose admissible keys they touch become non-finite; a row whose
  scores are all -inf still has keys (0 / 0 = NaN); rows the bands give no
  key stay 0 with log-sum-exp -inf.
- Interval bounds near INT64_MAX are clamped to the distances that exist
  before any arithmetic: the answer equals that of the clamped table
  (causal with Nq > Nk, bidirectional far side).

The float64 reference here is written independently of the compiler.
"""
import numpy as np
import pytest

import spa
from spa.layer import layer_mlir

INT64_MAX = 2**63 - 1


def reference(q, k, v, bands, mode, scale):
    """float64 attention with PyTorch's non-finite semantics."""
    B, H, nq, _ = q.shape
    nk = k.shape[2]
    group = H // k.shape[1]
    out = np.zeros((B, H, nq, v.shape[3]))
    lse = np.full((B, H, nq), -np.inf)
    pos = np.arange(nq)[:, None] + (nk - nq)
    dist = pos - np.arange(nk)[None, :]
    if mode == "bidirectional":
        dist = np.abs(dist)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for h in range(H):
            mask = np.zeros((nq, nk), bool)
            for lo, hi in bands[h]:
                mask |= (dist >= lo) & (dist < hi)
            has = mask.any(1)
            for b in range(B):
                s = (q[b, h].astype(np.float64) @
                     k[b, h // group].astype(np.float64).T) * scale
                s = np.where(mask, s, -np.inf)
                m = np.where(has, s.max(1), 0.0)
                p = np.exp(s - m[:, None])
                p = np.where(mask, p, 0.0)  # masked keys, NaN or not, are 0
                total = p.sum(1)
                # Only admissible keys contribute (no 0 * NaN from others).
                pv = np.where(mask[:, :, None],
                              p[:, :, None] * v[b, h // group][None], 0.0)
                o = pv.sum(1) / total[:, None]
                out[b, h] = np.where(has[:, None], o, 0.0)
                lse[b, h] = np.where(has, m + np.log(total), -np.inf)
    return out, lse


def compile_layer(bands, mode, nq, nk, heads=2, kv_heads=1, d=16, scale=0.25):
    text = layer_mlir(batch=1, heads=heads, kv_heads=kv_heads, query_len=nq,
                      key_len=nk, head_dim=d, value_dim=d, dtype="f32",
                      mode=mode, bands=bands, scale=scale)
    return spa.compile(text, "cpu", tile_q=8, tile_k=8)


def inputs(rng, nq, nk, heads=2, kv_heads=1, d=16):
    return (rng.standard_normal((1, heads, nq, d)).astype(np.float32),
            rng.standard_normal((1, kv_heads, nk, d)).astype(np.float32),
            rng.standard_normal((1, kv_heads, nk, d)).astype(np.float32))


def assert_matches(out, lse, want_out, want_lse):
    bad_want = ~np.isfinite(want_out).all(-1)
    bad_got = ~np.isfinite(out).all(-1)
    np.testing.assert_array_equal(bad_got, bad_want)
    fine = ~bad_want
    np.testing.assert_allclose(out[fine], want_out[fine], rtol=1e-4,
                               atol=1e-5)
    no_keys = np.isneginf(want_lse) & fine
    assert np.all(out[no_keys] == 0)
    assert np.all(np.isneginf(lse[no_keys]))


@pytest.mark.parametrize("mode", ["causal", "bidirectional"])
def test_nan_and_inf_propagate_to_the_rows_they_touch(mode):
    rng = np.random.default_rng()
    nq = nk = 37
    bands = [[(0, 5), (20, 30)], [(5, 20)]]
    fn = compile_layer(bands, mode, nq, nk)
    q, k, v = inputs(rng, nq, nk)
    q[0, 0, 11] = np.nan               # one query row of head 0
    k[0, 0, 25, 0] = np.inf            # one key: +-inf scores
    out, lse = fn(q, k, v)
    want_out, want_lse = reference(q, k, v, bands, mode, 0.25)
    assert np.isnan(out[0, 0, 11]).all()
    assert_matches(out, lse, want_out, want_lse)


def test_nan_in_v_reaches_every_row_that_admits_its_key():
    # A NaN value row reaches the rows whose admissible keys include it; it
    # may also reach rows sharing its key tile (0 * NaN in P V, as in dense
    # implementations), never turning a row finite-but-wrong.
    rng = np.random.default_rng()
    nq = nk = 37
    bands = [[(0, 5), (20, 30)], [(5, 20)]]
    fn = compile_layer(bands, "causal", nq, nk)
    q, k, v = inputs(rng, nq, nk)
    v[0, 0, 3, 1] = np.nan
    out, lse = fn(q, k, v)
    want_out, _ = reference(q, k, v, bands, "causal", 0.25)
    must_be_nan = ~np.isfinite(want_out).all(-1)
    assert must_be_nan.any()
    got_nan = ~np.isfinite(out).all(-1)
    assert np.all(got_nan[must_be_nan])
    fine = ~got_nan
    np.testing.assert_allclose(out[fine], want_out[fine], rtol=1e-4,
                               atol=1e-5)


def test_a_row_of_minus_inf_scores_is_nan_not_a_row_without_keys():
    # q row 9 = -inf * 1 on every key (k > 0): every admissible score is
    # -inf. PyTorch's softmax gives NaN; a no-key row would give 0.
    nq = nk = 24
    bands = [[(0, 24)], [(0, 3)]]
    fn = compile_layer(bands, "causal", nq, nk)
    rng = np.random.default_rng()
    q, k, v = inputs(rng, nq, nk)
    k[:] = np.abs(k) + 0.5
    q[0, :, 9] = -np.inf
    out, lse = fn(q, k, v)
    assert np.isnan(out[0, 0, 9]).all() and np.isnan(out[0, 1, 9]).all()
    want_out, want_lse = reference(q, k, v, bands, "causal", 0.25)
    assert_matches(out, lse, want_out, want_lse)


@pytest.mark.parametrize("mode,nq,nk", [("causal", 30, 12),
                                        ("causal", 12, 30),
                                        ("bidirectional", 30, 12),
                                        ("bidirectional", 17, 17)])
def test_bounds_near_int64_max_are_clamped(mode, nq, nk):
    huge = [[(0, INT64_MAX)], [(3, INT64_MAX - 1)]]
    clamped = [[(0, max(nq, nk))], [(3, max(nq, nk))]]
    rng = np.random.default_rng()
    q, k, v = inputs(rng, nq, nk)
    out, lse = compile_layer(huge, mode, nq, nk)(q, k, v)
    want_out, want_lse = reference(q, k, v, clamped, mode, 0.25)
    assert_matches(out, lse, want_out, want_lse)
    np.testing.assert_allclose(out, want_out, rtol=1e-4, atol=1e-5)


def test_dynamic_dimensions_are_checked_on_every_call():
    # k and v of different lengths used to run and read past the end of v.
    text = layer_mlir(batch=None, heads=2, kv_heads=1, query_len=None,
                      key_len=None, head_dim=8, value_dim=8, dtype="f32",
                      mode="causal", bands=[[(0, 4)], [(4, 100)]])
    fn = spa.compile(text, "cpu")
    rng = np.random.default_rng()
    q = rng.standard_normal((1, 2, 10, 8)).astype(np.float32)
    k = rng.standard_normal((1, 1, 12, 8)).astype(np.float32)
    with pytest.raises(ValueError, match=r"arguments #1 and #2 disagree on "
                       r"the key length \(dimension 2\): 12 vs 11"):
        fn(q, k, rng.standard_normal((1, 1, 11, 8)).astype(np.float32))
    with pytest.raises(ValueError, match="disagree on the batch"):
        fn(q, k, rng.standard_normal((2, 1, 12, 8)).astype(np.float32))
    out, lse = fn(q, k, rng.standard_normal((1, 1, 12, 8)).astype(np.float32))
    assert out.shape == (1, 2, 10, 8) and np.isfinite(out).all()


def test_reports_beyond_the_planning_limits_raise():
    # analyzeBandTable refuses what it cannot list (2^22 work items) with an
    # error instead of an empty report.
    with pytest.raises(ValueError, match=r"at most 2147483648 \(2\^31\)"):
        spa.bands.analyze("causal", [[(0, 10**12)]], 10**12, 10**12)
    with pytest.raises(ValueError, match=r"at most 4194304 \(2\^22\)"):
        spa.bands.analyze("causal", [[(0, 10**9)]] * 8, 10**9, 10**9)
