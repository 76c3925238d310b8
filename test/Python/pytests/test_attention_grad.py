"""spa.attention_grad on the CPU against float64 gradients.

Each case compiles a LayerSpec with backward=True through `spa.compile`
(forward and gradient in one module, one JIT), runs the forward, feeds its
out and lse to the gradient with a random dout, and compares dq, dk and dv
with `spa_reference.attention_grad_reference` (float64, from the
definition) on the same rounded inputs. The reference itself is checked
against central finite differences of the forward reference.

The cases cover every policy, both modes, GQA (Hq = 4 over Hkv = 2 and 1),
Nq != Nk both ways (Nq > Nk gives rows without keys), empty heads, N = 1,
odd N (37, 70 with the default 32x64 tiles), Dv != D, f32/f16/bf16, dynamic
lengths (one compiled function, several N) and NaN propagation. Compiling
dominates the time: one module per case, reused for all its lengths.
"""

import dataclasses
from typing import List, Optional, Sequence, Tuple, Union

import ml_dtypes
import numpy as np
import pytest

import spa
import spa_reference as ref
from spa.compiler import pipeline_defaults
from spa.layer import layer_grad_mlir, layer_mlir

NP_DTYPES = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16}

# Tolerances on max |x - ref| / max(1, max |ref|) per gradient tensor.
# The reference sees the rounded inputs the kernels see (q, k, v, dout) but
# computes P, O and Delta in float64, while the gradient reads the
# forward's out rounded to the element type: Delta = rowsum(dout * out)
# carries that rounding (2^-11 for f16, 2^-8 for bf16 relative) into every
# dS as an absolute error on the scale of the gradient's largest entries
# (hence the per-tensor scale), and dq, dk, dv are rounded once more.
# Observed worst cases over three seeds of every case: f32 7.1e-7, f16
# 5.4e-4, bf16 4.9e-3; allowed about three times that. A lost or doubled
# key, a wrong scale or a missed GQA head gives errors of order 0.1..1.
TOLERANCE = {"f32": 1e-5, "f16": 2e-3, "bf16": 1.5e-2}

Bands = Union[str, List[List[Tuple[int, int]]]]


@dataclasses.dataclass
class Case:
    name: str
    bands: Bands
    dtype: str = "f32"
    mode: str = "causal"
    heads: int = 4
    kv_heads: int = 4
    head_dim: int = 16
    value_dim: int = 16
    batch: int = 1
    runs: Sequence[Tuple[int, int]] = ((37, 37),)   # (Nq, Nk)
    dynamic: bool = False
    window: Optional[int] = None
    tile: Optional[Tuple[int, int]] = None           # tile-q, tile-k
    seed: int = 0

    def __str__(self):
        return self.name


# Explicit table: a gap, an empty head, two intervals, one past N.
EXPLICIT = [[(0, 4)], [(4, 10)], [], [(1, 3), (6, 1000)]]

CASES = [
    Case("ee-f32-gqa4x2-n70", "exclusive_equal", heads=4, kv_heads=2,
         runs=[(70, 70)], seed=1),
    Case("lpb-f32-bidir-gqa4x1-dv8-n37", "local_plus_band", mode="bidirectional",
         kv_heads=1, value_dim=8, runs=[(37, 37)], seed=2),
    Case("gh-f16-h8-n12-empty-heads", "gapped_half", dtype="f16", heads=8,
         kv_heads=8, runs=[(12, 12)], seed=3),
    Case("sw5-bf16-nq70-nk37-rows-without-keys", "sliding_window",
         dtype="bf16", window=5, runs=[(70, 37)], seed=4),
    Case("dc-f32-bidir-gqa2x1-nq37-nk70", "dense_causal", mode="bidirectional",
         heads=2, kv_heads=1, head_dim=8, value_dim=24, runs=[(37, 70)],
         seed=5),
    Case("pb-bf16-gqa4x2-b2-n70", "pair_balanced", dtype="bf16", kv_heads=2,
         batch=2, runs=[(70, 70)], seed=6),
    Case("tb-f16-bidir-n37-tile5x3", "tile_balanced", dtype="f16",
         mode="bidirectional", runs=[(37, 37)], tile=(5, 3), seed=7),
    Case("explicit-f32-gqa4x2-nq64-nk7", EXPLICIT, kv_heads=2, value_dim=8,
         runs=[(64, 7)], seed=8),
    Case("explicit-bf16-bidir-n70", EXPLICIT, dtype="bf16",
         mode="bidirectional", kv_heads=1, runs=[(70, 70)], seed=9),
    Case("dyn-ee-f32-gqa4x2", "exclusive_equal", kv_heads=2, dynamic=True,
         runs=[(1, 1), (37, 37), (70, 70), (20, 70), (0, 5)], seed=10),
    Case("dyn-lpb-f16-bidir-dv8", "local_plus_band", dtype="f16",
         mode="bidirectional", value_dim=8, dynamic=True,
         runs=[(37, 37), (5, 64)], tile=(16, 16), seed=11),
    # Bidirectional with Nq > Nk: the first rows sit at negative positions
    # and reach keys on the anti side only.
    Case("sw3-f32-bidir-gqa4x2-nq50-nk20", "sliding_window",
         mode="bidirectional", window=3, kv_heads=2, runs=[(50, 20)],
         seed=12),
]


def spec_of(case: Case) -> spa.LayerSpec:
    bands = {"policy": case.bands} if isinstance(case.bands, str) \
        else {"bands": case.bands}
    return spa.LayerSpec(
        heads=case.heads, kv_heads=case.kv_heads,
        seq_len=None if case.dynamic else case.runs[0][1],
        query_len=None if case.dynamic else case.runs[0][0],
        head_dim=case.head_dim, value_dim=case.value_dim, batch=case.batch,
        dtype=case.dtype, mode=case.mode, window=case.window, **bands)


def compile_case(case: Case, **extra):
    options = dict(extra)
    if case.tile:
        options.update(tile_q=case.tile[0], tile_k=case.tile[1])
    return spa.compile(spec_of(case), target="cpu", backward=True, **options)


def table_for(case: Case, nq: int, nk: int):
    """The band table the compiler used: policies are read back from
    -spa-balance-bands on the forward at these lengths and with the
    lowering's tile shape, as spa-to-llvm-cpu plans (pair/tile_balanced
    have no closed form here); explicit tables as given."""
    if not isinstance(case.bands, str):
        return case.bands
    if case.bands in ref.CLOSED_FORM_POLICIES:
        return ref.band_table(case.bands, nk, case.heads, case.mode,
                              window=case.window)
    text = layer_mlir(batch=1, heads=case.heads, kv_heads=case.kv_heads,
                      query_len=nq, key_len=nk, head_dim=case.head_dim,
                      value_dim=case.value_dim, dtype="f32", mode=case.mode,
                      bands=case.bands, window=case.window)
    module = spa.ir.parse(text)
    defaults = pipeline_defaults("cpu")
    tile_q, tile_k = case.tile or (defaults["tile_q"], defaults["tile_k"])
    module.run_pipeline(f"spa-balance-bands{{tile-q={tile_q} tile-k={tile_k}}}")
    return ref.parse_bands(str(module))[1]


def random_inputs(case: Case, nq: int, nk: int, seed: int):
    rng = np.random.default_rng(seed)
    dt = NP_DTYPES[case.dtype]
    b, h, hkv = case.batch, case.heads, case.kv_heads
    q = rng.standard_normal((b, h, nq, case.head_dim)).astype(dt)
    k = rng.standard_normal((b, hkv, nk, case.head_dim)).astype(dt)
    v = rng.standard_normal((b, hkv, nk, case.value_dim)).astype(dt)
    dout = rng.standard_normal((b, h, nq, case.value_dim)).astype(dt)
    return q, k, v, dout


def rel_error(got, want) -> float:
    """max |got - want| / max(1, max |want|); NaN in got fails."""
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == want.shape
    assert not np.isnan(got).any(), "NaN in a gradient of finite inputs"
    if got.size == 0:
        return 0.0
    return float(np.abs(got - want).max() / max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_gradients_match_float64(case):
    check_case(case)


# The gradient's CPU forms beyond the host's default vector width: the
# reference linalg form (vector_lanes=0), narrow and wide vector blocks
# (4, 32 lanes: blocks past short ranges, more lanes than rows or keys) and
# the vector form on one thread.
FORMS = [("linalg", dict(vector_lanes=0)), ("v4", dict(vector_lanes=4)),
         ("v32", dict(vector_lanes=32)),
         ("v8-1thread", dict(vector_lanes=8, threads=1))]
FORM_CASES = ["ee-f32-gqa4x2-n70", "lpb-f32-bidir-gqa4x1-dv8-n37",
              "sw5-bf16-nq70-nk37-rows-without-keys",
              "explicit-f32-gqa4x2-nq64-nk7", "dyn-lpb-f16-bidir-dv8",
              "sw3-f32-bidir-gqa4x2-nq50-nk20"]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f[0])
@pytest.mark.parametrize("name", FORM_CASES)
def test_gradient_forms(name, form):
    check_case(next(c for c in CASES if c.name == name), **form[1])


def check_case(case: Case, **options):
    forward, backward = compile_case(case, **options)
    for run, (nq, nk) in enumerate(case.runs):
        q, k, v, dout = random_inputs(case, nq, nk, case.seed * 100 + run)
        out, lse = forward(q, k, v)
        dq, dk, dv = backward(q, k, v, out, lse, dout)
        assert dq.dtype == q.dtype and dk.dtype == k.dtype
        assert (dq.shape, dk.shape, dv.shape) == (q.shape, k.shape, v.shape)
        bands = table_for(case, nq, nk)
        want = ref.attention_grad_reference(q, k, v, dout, bands, case.mode)
        where = f"{case.name} (Nq={nq}, Nk={nk})"
        for label, got, expected in zip(("dq", "dk", "dv"), (dq, dk, dv),
                                        want):
            err = rel_error(got, expected)
            assert err <= TOLERANCE[case.dtype], \
                f"{where}: {label} error {err:.3g} > {TOLERANCE[case.dtype]}"
        # Rows without keys get dq = 0 exactly; keys no row reaches get
        # dk = dv = 0 exactly.
        masks = [ref.pair_mask(bands[h], nq, nk, case.mode)
                 for h in range(case.heads)]
        group = case.heads // case.kv_heads
        for h, mask in enumerate(masks):
            assert np.all(dq[:, h][:, ~mask.any(axis=1)] == 0), where
        for g in range(case.kv_heads):
            reached = np.zeros(nk, bool)
            for h in range(g * group, (g + 1) * group):
                reached |= masks[h].any(axis=0)
            assert np.all(dk[:, g][:, ~reached] == 0), where
            assert np.all(dv[:, g][:, ~reached] == 0), where


def test_case_matrix_covers_the_axes():
    seen_policies = {c.bands for c in CASES if isinstance(c.bands, str)}
    assert seen_policies == set(spa.bands.POLICIES) - {"explicit"}
    assert {c.mode for c in CASES} == {"causal", "bidirectional"}
    assert {c.dtype for c in CASES} == {"f32", "f16", "bf16"}
    assert {c.kv_heads for c in CASES if c.heads == 4} >= {1, 2, 4}
    runs = [r for c in CASES for r in c.runs]
    assert any(nq > nk for nq, nk in runs) and any(nq < nk for nq, nk in runs)
    assert (1, 1) in runs and (37, 37) in runs and (70, 70) in runs
    assert any(c.value_dim != c.head_dim for c in CASES)
    assert any(c.dynamic and len(c.runs) > 2 for c in CASES)


@pytest.mark.parametrize("mode,nq,nk", [("causal", 5, 5), ("causal", 7, 4),
                                        ("bidirectional", 3, 8)])
def test_reference_matches_finite_differences(mode, nq, nk):
    # The float64 reference against central differences of the forward
    # reference: d/dx sum(out * dout), on tiny shapes with GQA, an empty
    # head, two intervals and (Nq > Nk) rows without keys.
    rng = np.random.default_rng()
    q = rng.standard_normal((2, 4, nq, 3))
    k = rng.standard_normal((2, 2, nk, 3))
    v = rng.standard_normal((2, 2, nk, 2))
    dout = rng.standard_normal((2, 4, nq, 2))
    bands = [[(0, 2)], [(1, 3), (4, 6)], [], [(2, 100)]]
    scale = 0.7

    def loss():
        return float((ref.attention(q, k, v, bands, mode, scale)[0]
                      * dout).sum())

    grads = ref.attention_grad_reference(q, k, v, dout, bands, mode, scale)
    eps = 1e-6
    for x, grad in zip((q, k, v), grads):
        numeric = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            old = x[index]
            x[index] = old + eps
            up = loss()
            x[index] = old - eps
            down = loss()
            x[index] = old
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


def test_nan_propagates_to_the_gradients_it_touches():
    # One NaN in q, one in dout, one in v (different heads/rows). Every
    # gradient entry the float64 reference makes NaN is NaN; everything
    # else is either NaN from sharing a tile with one (0 * NaN in the tile
    # products, as in the forward) or matches the reference.
    bands = [[(0, 5), (20, 30)], [(5, 20)]]
    nq = nk = 37
    spec = spa.LayerSpec(heads=2, kv_heads=1, seq_len=nk, head_dim=16,
                         bands=bands, scale=0.25)
    forward, backward = spa.compile(spec, backward=True, tile_q=8, tile_k=8)
    rng = np.random.default_rng()
    q, k, v, dout = (rng.standard_normal(s).astype(np.float32) for s in (
        (1, 2, nq, 16), (1, 1, nk, 16), (1, 1, nk, 16), (1, 2, nq, 16)))
    q[0, 0, 11, 3] = np.nan
    v[0, 0, 30, 1] = np.nan
    dout[0, 1, 30, 0] = np.nan
    out, lse = forward(q, k, v)
    got = backward(q, k, v, out, lse, dout)
    want = ref.attention_grad_reference(q, k, v, dout, bands, "causal", 0.25)
    for label, g, w in zip(("dq", "dk", "dv"), got, want):
        must = np.isnan(w)
        assert must.any(), label
        assert np.isnan(g[must]).all(), f"{label}: a NaN was lost"
        fine = ~np.isnan(g)
        np.testing.assert_allclose(g[fine], w[fine], rtol=1e-4, atol=1e-5,
                                   err_msg=label)
    # The NaN query row of head 0 has a NaN dq row.
    assert np.isnan(got[0][0, 0, 11]).all()


def test_all_minus_inf_scores_give_nan_not_zero():
    # q row 9 is -inf * 1 on every key (k > 0): the forward's out is NaN and
    # its lse -inf. The row has keys, so its gradient is NaN like
    # PyTorch's, never the 0 of a row without keys.
    bands = [[(0, 24)], [(0, 3)]]
    spec = spa.LayerSpec(heads=2, kv_heads=1, seq_len=24, head_dim=16,
                         bands=bands, scale=0.25)
    forward, backward = spa.compile(spec, backward=True, tile_q=8, tile_k=8)
    rng = np.random.default_rng()
    q = rng.standard_normal((1, 2, 24, 16)).astype(np.float32)
    k = (np.abs(rng.standard_normal((1, 1, 24, 16))) + 0.5).astype(np.float32)
    v = rng.standard_normal((1, 1, 24, 16)).astype(np.float32)
    dout = rng.standard_normal((1, 2, 24, 16)).astype(np.float32)
    q[0, :, 9] = -np.inf
    out, lse = forward(q, k, v)
    assert np.isneginf(lse[0, :, 9]).all()
    dq, dk, dv = backward(q, k, v, out, lse, dout)
    assert np.isnan(dq[0, 0, 9]).all() and np.isnan(dq[0, 1, 9]).all()
    assert np.isnan(dv[0, 0, :10]).any()


def test_layer_grad_mlir_and_entries():
    # The gradient function's text, names and argument roles.
    text = layer_grad_mlir(batch=None, heads=2, kv_heads=1, query_len=None,
                           key_len=None, head_dim=8, value_dim=4, dtype="bf16",
                           mode="causal", bands="exclusive_equal",
                           name="attn")
    assert "func.func @attn_grad(%q: tensor<?x2x?x8xbf16>" in text
    assert "spa.attention_grad bands(#spa.band_policy<causal, " \
        "exclusive_equal>)" in text
    with pytest.raises(ValueError, match="needs the forward's log-sum-exp"):
        layer_grad_mlir(batch=1, heads=2, kv_heads=1, query_len=4,
                        key_len=4, head_dim=8, value_dim=4, dtype="f32",
                        mode="causal", bands="exclusive_equal",
                        with_lse=False)
    spec = spa.LayerSpec(heads=2, kv_heads=1, seq_len=None, head_dim=8,
                         policy="exclusive_equal", name="attn")
    both = spec.to_mlir(backward=True)
    assert both.count("func.func @attn(") == 1
    assert both.count("func.func @attn_grad(") == 1
    # One function by name from the two-function module; a list of names
    # gives a tuple from one JIT.
    grad = spa.compile(spec, entry="attn_grad", backward=True)
    assert grad.entry == "attn_grad"
    forward, grad2 = spa.compile(both, entry=["attn", "attn_grad"])
    assert (forward.entry, grad2.entry) == ("attn", "attn_grad")
    assert forward.names == ["query", "key", "value"]
    assert grad.names == ["query", "key", "value", "output", "log_sum_exp",
                          "output_grad"]
    assert [r[0] for r in grad.results] == ["f32"] * 3
    # Dynamic lengths are checked across all six arguments.
    q = np.zeros((1, 2, 5, 8), np.float32)
    k = np.zeros((1, 1, 6, 8), np.float32)
    o = np.zeros((1, 2, 5, 8), np.float32)
    lse = np.zeros((1, 2, 5), np.float32)
    with pytest.raises(ValueError, match=r"disagree on the query length"):
        grad(q, k, k, o, lse, np.zeros((1, 2, 4, 8), np.float32))
    with pytest.raises(TypeError, match=r"argument #5 \(output_grad\)"):
        grad(q, k, k, o, lse, np.zeros((1, 2, 5, 8), np.float64))
    with pytest.raises(TypeError, match="backward=True applies to a "
                       "LayerSpec"):
        spa.compile(both, backward=True)
    with pytest.raises(ValueError, match="'cpu' only"):
        spa.compile(spec, target="cuda:sm_90a", backward=True)
    with pytest.raises(ValueError, match="backward=True needs with_lse"):
        dataclasses.replace(spec, with_lse=False).to_mlir(backward=True)
