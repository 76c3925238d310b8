"""convert-spa-to-linalg's static-tile form (the one spa.iree gives IREE)
run on spa's own CPU JIT (`spa.compile(..., static_tiles=True)`), against
the independent float64 reference, on the odd cases the padding and the
end-of-range masking must get right: N = 1, N not a multiple of either
tile, Nq < Nk and Nq > Nk (rows without keys), GQA, empty heads, Dv != D,
bidirectional, dynamic lengths, f32/f16/bf16, tiles larger than the
sequence; NaN propagates exactly as in the default form.
"""

import zlib

import ml_dtypes
import numpy as np
import pytest

import spa
import spa_reference

NP = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16}
TOL = {"f32": 2e-5, "f16": 5e-3, "bf16": 3e-2}

CASES = [
    # id, dtype, B, Hq, Hkv, Nq, Nk, D, Dv, mode, policy, bands, tiles
    ("n1", "f32", 1, 2, 2, 1, 1, 8, 8, "causal", None, [[(0, 1)], []],
     (16, 16)),
    ("gqa_empty_head_dv", "f32", 2, 4, 2, 37, 37, 16, 8, "causal", None,
     [[(0, 5)], [], [(3, 9), (20, 40)], [(0, 1), (2, 3)]], (8, 16)),
    ("rows_without_keys", "f32", 1, 2, 1, 30, 12, 8, 16, "causal",
     "exclusive_equal", None, (16, 8)),
    ("nq_lt_nk_bidir", "f32", 1, 2, 2, 20, 45, 8, 8, "bidirectional", None,
     [[(0, 4)], [(4, 30)]], (8, 8)),
    ("tiles_past_sequence", "f32", 1, 4, 4, 13, 13, 8, 8, "causal",
     "local_plus_band", None, (32, 64)),
    ("f16_lpb_odd", "f16", 1, 4, 1, 70, 70, 32, 32, "causal",
     "local_plus_band", None, (16, 16)),
    ("bf16_gapped", "bf16", 2, 8, 8, 33, 33, 8, 8, "causal", "gapped_half",
     None, (8, 8)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_static_tiles_match_float64(case):
    (name, dtype, b, hq, hk, nq, nk, d, dv, mode, policy, bands,
     (tq, tk)) = case
    spec = spa.LayerSpec(heads=hq, kv_heads=hk, seq_len=nk, query_len=nq,
                         head_dim=d, value_dim=dv, batch=b, dtype=dtype,
                         mode=mode, policy=policy or "local_plus_band",
                         bands=bands)
    fn = spa.compile(spec, target="cpu", tile_q=tq, tile_k=tk,
                     static_tiles=True)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    q = rng.standard_normal((b, hq, nq, d)).astype(NP[dtype])
    k = rng.standard_normal((b, hk, nk, d)).astype(NP[dtype])
    v = rng.standard_normal((b, hk, nk, dv)).astype(NP[dtype])
    table = bands or spa_reference.band_table(policy, nk, hq, mode)
    ref_out, ref_lse = spa_reference.attention(q, k, v, table, mode)
    out, lse = fn(q, k, v)
    assert spa_reference.max_rel_error(out, ref_out) < TOL[dtype]
    assert spa_reference.max_rel_error(lse, ref_lse) < 1e-5


def test_static_tiles_dynamic_length():
    spec = spa.LayerSpec(heads=4, seq_len=None, head_dim=16,
                         policy="exclusive_equal")
    fn = spa.compile(spec, target="cpu", tile_q=16, tile_k=16,
                     static_tiles=True)
    rng = np.random.default_rng(3)
    for n in (1, 15, 16, 17, 50):
        x = rng.standard_normal((1, 4, n, 16), dtype=np.float32)
        table = spa_reference.band_table("exclusive_equal", n, 4)
        ref_out, _ = spa_reference.attention(x, x, x, table)
        out, _ = fn(x, x, x)
        assert spa_reference.max_rel_error(out, ref_out) < 2e-5, n


def test_static_tiles_nan_like_default_form():
    spec = spa.LayerSpec(heads=2, seq_len=40, head_dim=8,
                         bands=[[(0, 5)], [(5, 40)]])
    q = np.random.default_rng(4).standard_normal((1, 2, 40, 8),
                                                 dtype=np.float32)
    k = q.copy()
    k[0, 0, 21, 3] = np.nan
    default = spa.compile(spec, tile_q=8, tile_k=8)(q, k, q)
    static = spa.compile(spec, tile_q=8, tile_k=8, static_tiles=True)(q, k, q)
    for a, b in zip(default, static):
        assert np.array_equal(np.isnan(a), np.isnan(b))
        assert np.isnan(a).any()
        finite = ~np.isnan(a)
        assert np.allclose(a[finite], b[finite], atol=1e-6, rtol=0)
