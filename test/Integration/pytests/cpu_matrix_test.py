"""The CPU test matrix: real compiled code (spa-run: spa -> linalg -> LLVM,
ExecutionEngine) against the independent NumPy float64 reference.

The default matrix is a covering set, not a cross product: every value of
every axis appears at least once, and the cases are chosen around the edges
(N = 1, N not a multiple of 32 or 64, Nq > Nk so rows without keys, N < H for
the policies that allow it, empty heads, one-distance bands, tiles of 1x1 and
odd sizes, decode Nq = 1, grouped-query heads, Dv != D, dynamic N with two
or three lengths through one module, Nq = 0 and Nk = 0, large logits).
It runs in about 45 s on two cores. SPA_EXHAUSTIVE=1 (run pytest directly:
lit does not pass the variable through) adds ~670 generated cases covering
policy x dtype x mode x N x Nq in full (slow: tens of minutes).

Axes: policy (7 kinds + explicit tables) x dtype {f32, f16, bf16} x
D {16, 64, 80, 128} x N {1, 7, 64, 257, 1000, 4096} x H {1, 3, 8, 16} x
GQA (16 query heads over 4 kv heads) x Nq {1, N/2, N} x mode {causal,
bidirectional} x LSE result {yes, no} x static/dynamic N x tile.
"""

import dataclasses
import itertools
import os
import random

import numpy as np
import pytest

import spa_reference as ref
from harness import (Case, check_case, check_partition, compiler_tables,
                     lse_tolerance, module_text, out_tolerance, run_spa)
from spa.bands import POLICIES
from spa.layer import layer_mlir

C, B = "causal", "bidirectional"

# Explicit tables: gaps, an empty head, a band past N (clipped), one-distance
# bands, several intervals per head.
GAPPED_4 = [[(0, 4)], [(4, 10)], [], [(1, 3), (6, 12)]]
NARROW_8 = [[(0, 1)], [(1, 2)], [(63, 64)], [(5, 6), (100, 101)], [],
            [(0, 1), (2, 3), (4, 5)], [(200, 100000)], [(31, 33), (64, 65)]]
NQ_GT_NK = [[(0, 3)], [(2, 5)], [], [(0, 100)]]

CASES = [
    # --- exclusive_equal -------------------------------------------------
    Case("ee-f32-h8-n257", "exclusive_equal", "f32", C, 8, head_dim=64, runs=[(257, 257)], seed=1),
    Case("ee-bf16-gqa16x4-n1000-half-dv64", "exclusive_equal", "bf16", C, 16, kv_heads=4,
         head_dim=128, v_dim=64, runs=[(500, 1000)], seed=2),
    Case("ee-f16-bidir-h3-n64-tile5x3", "exclusive_equal", "f16", B, 3, head_dim=80,
         runs=[(64, 64)], tile=(5, 3), seed=3),
    Case("ee-f32-h16-n4096-decode", "exclusive_equal", "f32", C, 16, head_dim=128,
         runs=[(1, 4096)], seed=4),
    Case("ee-f16-h16-n4096-full-d16", "exclusive_equal", "f16", C, 16, head_dim=16,
         runs=[(4096, 4096)], lse=False, seed=5),
    Case("ee-f32-b2-h3-n7", "exclusive_equal", "f32", C, 3, head_dim=16, runs=[(7, 7)],
         batch=2, tile=(1, 1), seed=6),
    # A wide head whose width no vector width divides (the vector form's
    # per-item transposes run in gcd(D, L)-column chunks).
    Case("ee-f32-h2-n100-d200-dv72", "exclusive_equal", "f32", C, 2, head_dim=200,
         v_dim=72, runs=[(100, 100)], seed=61),
    # --- local_plus_band -------------------------------------------------
    Case("lpb-f16-h8-n1000", "local_plus_band", "f16", C, 8, head_dim=64,
         runs=[(1000, 1000)], lse=False, seed=11),
    Case("lpb-bf16-bidir-h3-n257-half-tile5x3", "local_plus_band", "bf16", B, 3,
         head_dim=16, runs=[(128, 257)], tile=(5, 3), seed=12),
    Case("lpb-f32-gqa16x4-n64-tile1x1", "local_plus_band", "f32", C, 16, kv_heads=4,
         head_dim=80, runs=[(64, 64)], tile=(1, 1), seed=13),
    # --- gapped_half -----------------------------------------------------
    Case("gh-f32-h8-n257", "gapped_half", "f32", C, 8, head_dim=16, runs=[(257, 257)],
         tile=(7, 13), seed=21),
    Case("gh-f16-h8-n12-empty-heads", "gapped_half", "f16", C, 8, head_dim=64,
         runs=[(12, 12)], seed=22),
    Case("gh-bf16-bidir-h16-n1000-half", "gapped_half", "bf16", B, 16, head_dim=64,
         runs=[(500, 1000)], seed=23),
    # --- sliding_window --------------------------------------------------
    Case("sw-f32-h3-n1000", "sliding_window", "f32", C, 3, head_dim=128,
         runs=[(1000, 1000)], seed=31),
    Case("sw16-bf16-h8-n4096", "sliding_window", "bf16", C, 8, head_dim=64, window=16,
         runs=[(4096, 4096)], seed=32),
    Case("sw0-f16-h1-n257-tile5x3", "sliding_window", "f16", C, 1, head_dim=64, window=0,
         runs=[(257, 257)], tile=(5, 3), seed=33),
    Case("sw-f32-h16-n7-n-lt-h", "sliding_window", "f32", C, 16, head_dim=16,
         runs=[(7, 7)], seed=34),
    Case("sw5-f16-bidir-h8-n64-half", "sliding_window", "f16", B, 8, head_dim=80, window=5,
         runs=[(32, 64)], seed=35),
    # --- dense_causal ----------------------------------------------------
    Case("dc-f32-h1-n1", "dense_causal", "f32", C, 1, head_dim=16, runs=[(1, 1)], seed=41),
    Case("dc-f16-h8-n7-n-lt-h-tile1x1", "dense_causal", "f16", C, 8, head_dim=64,
         runs=[(7, 7)], tile=(1, 1), seed=42),
    Case("dc-f32-bidir-h3-n257-dv16", "dense_causal", "f32", B, 3, head_dim=80, v_dim=16,
         runs=[(257, 257)], seed=43),
    Case("dc-bf16-gqa16x4-n1000-decode", "dense_causal", "bf16", C, 16, kv_heads=4,
         head_dim=128, runs=[(1, 1000)], lse=False, seed=44),
    Case("dc-f32-h8-n64-scale1-tile128", "dense_causal", "f32", C, 8, head_dim=64,
         runs=[(64, 64)], scale=1.0, tile=(128, 128), seed=45),
    # large logits: q, k ~ 30 N(0, 1) in f16 (scores ~ 1e4 before scaling:
    # must not overflow or lose the softmax), 4 N(0, 1) in f32
    Case("lpb-f16-h2-n200-amp30", "local_plus_band", "f16", C, 2, head_dim=64,
         runs=[(200, 200)], amplitude=30.0, seed=46),
    Case("ee-f32-bidir-h2-n200-amp4", "exclusive_equal", "f32", B, 2, head_dim=128,
         runs=[(100, 200)], amplitude=4.0, seed=47),
    # --- pair_balanced / tile_balanced (tables read from -spa-balance-bands)
    Case("pb-f32-h8-n1000", "pair_balanced", "f32", C, 8, head_dim=64,
         runs=[(1000, 1000)], seed=51),
    Case("pb-bf16-gqa16x4-n4096-half", "pair_balanced", "bf16", C, 16, kv_heads=4,
         head_dim=16, runs=[(2048, 4096)], seed=52),
    Case("pb-f16-bidir-h3-n257-half-tile5x3", "pair_balanced", "f16", B, 3, head_dim=80,
         runs=[(128, 257)], tile=(5, 3), seed=53),
    Case("tb-f32-h8-n1000", "tile_balanced", "f32", C, 8, head_dim=128,
         runs=[(1000, 1000)], seed=61),
    Case("tb16x32-f16-h16-n257", "tile_balanced", "f16", C, 16, head_dim=64,
         policy_tile=(16, 32), tile=(16, 32), runs=[(257, 257)], seed=62),
    Case("tb-bf16-bidir-h3-n64-tile1x1", "tile_balanced", "bf16", B, 3, head_dim=16,
         runs=[(64, 64)], tile=(1, 1), lse=False, seed=63),
    # --- explicit tables -------------------------------------------------
    Case("explicit-gaps-empty-gqa4x2-f32", GAPPED_4, "f32", C, 4, kv_heads=2, head_dim=16,
         v_dim=8, runs=[(10, 12)], scale=0.25, seed=71),
    Case("explicit-narrow-bf16-h8-n257-tile5x3", NARROW_8, "bf16", C, 8, head_dim=64,
         runs=[(257, 257)], tile=(5, 3), seed=72),
    Case("explicit-narrow-f16-bidir-h8-n257-half", NARROW_8, "f16", B, 8, head_dim=16,
         runs=[(128, 257)], seed=73),
    Case("explicit-nq-gt-nk-f32", NQ_GT_NK, "f32", C, 4, head_dim=16, runs=[(64, 7)],
         tile=(5, 3), seed=74),
    Case("explicit-nq-gt-nk-f16-bidir", NQ_GT_NK, "f16", B, 4, kv_heads=1, head_dim=64,
         runs=[(64, 7)], seed=75),
    # --- dynamic N: one module, two lengths --------------------------------
    Case("dyn-ee-f32-h8", "exclusive_equal", "f32", C, 8, head_dim=16, dynamic=True,
         runs=[(64, 64), (500, 1000), (0, 5)], seed=81),
    Case("dyn-lpb-bf16-h3", "local_plus_band", "bf16", C, 3, head_dim=80, dynamic=True,
         runs=[(7, 7), (1, 257)], tile=(5, 3), seed=82),
    Case("dyn-gh-f16-gqa16x4", "gapped_half", "f16", C, 16, kv_heads=4, head_dim=64,
         dynamic=True, runs=[(257, 257), (1, 4096)], seed=83),
    Case("dyn-sw3-f32-bidir-h1", "sliding_window", "f32", B, 1, head_dim=128, window=3,
         dynamic=True, runs=[(1, 1), (1000, 1000)], seed=84),
    Case("dyn-sw-f16-h8-n-lt-h", "sliding_window", "f16", C, 8, head_dim=64,
         dynamic=True, runs=[(7, 7), (128, 257)], lse=False, seed=85),
    Case("dyn-dc-f16-h3-dv32-dynbatch", "dense_causal", "f16", C, 3, head_dim=16, v_dim=32,
         dynamic=True, dynamic_batch=True, batch=2, runs=[(7, 7), (32, 64), (3, 0)], seed=86),
]


def exhaustive_cases():
    """SPA_EXHAUSTIVE=1: policy x dtype x mode x N x Nq in full (about 670
    cases), with H, D, GQA, Dv, LSE, static/dynamic and tiles drawn by a
    seeded generator per case, so that they meet every policy."""
    cases = []
    for i, (policy, dtype, mode, n) in enumerate(itertools.product(
            POLICIES, ("f32", "f16", "bf16"), (C, B), (1, 7, 64, 257, 1000, 4096))):
        for nq in sorted({1, n // 2 or 1, n}):
            seed = 1000 + 4 * i + (nq > 1) + (nq == n)
            rnd = random.Random(seed)
            h = rnd.choice([1, 3, 8, 16])
            d = rnd.choice([16, 64, 80, 128])
            tile = rnd.choice([None, (5, 3), (1, 1), (16, 32), (7, 13), (64, 128)])
            if policy not in ("sliding_window", "dense_causal") and n < h:
                h = 1  # the others diagnose heads without keys
            if n == 4096 and nq > 1:
                # full-length N = 4096: bound the time (dense-like policies
                # cost a dense head per query head: ~1 min at H = 16)
                d = min(d, 64)
                if policy in ("dense_causal", "local_plus_band", "sliding_window"):
                    h = min(h, 3)
                if tile in ((1, 1), (5, 3), (7, 13)):
                    tile = None  # tiny tiles at N = 4096 only cost time
            hkv = 4 if h == 16 and rnd.random() < 0.5 else h
            dynamic = policy in ref.CLOSED_FORM_POLICIES and rnd.random() < 0.3
            cases.append(Case(
                f"x-{policy}-{dtype}-{mode[0]}-h{h}x{hkv}-n{n}-q{nq}-d{d}", policy, dtype, mode,
                h, kv_heads=hkv, head_dim=d, v_dim=(d // 2 if rnd.random() < 0.2 else None),
                runs=[(nq, n)], lse=rnd.random() < 0.8, tile=tile, seed=seed,
                dynamic=dynamic))
    return cases


EXHAUSTIVE = os.environ.get("SPA_EXHAUSTIVE", "") not in ("", "0")
ALL_CASES = CASES + (exhaustive_cases() if EXHAUSTIVE else [])


def assert_close(case, outcomes):
    for (nq, nk), o in zip(case.runs, outcomes):
        where = f"{case.name} (Nq={nq}, Nk={nk})"
        assert not np.isnan(o.out).any(), f"{where}: NaN in the output"
        tol = out_tolerance(case)
        assert o.out_err <= tol, f"{where}: output error {o.out_err:.3g} > {tol:.3g}"
        if case.lse:
            assert not np.isnan(o.lse).any(), f"{where}: NaN in the log-sum-exp"
            tol = lse_tolerance(case)
            assert o.lse_err <= tol, f"{where}: log-sum-exp error {o.lse_err:.3g} > {tol:.3g}"


@pytest.mark.parametrize("case", ALL_CASES, ids=str)
def test_matrix(case, spa_tools, tmp_path, record_property):
    outcomes = check_case(spa_tools, case, str(tmp_path))
    for r, o in enumerate(outcomes):
        record_property(f"run{r}", {"out_err": o.out_err, "lse_err": o.lse_err, "ms": o.ms})
        print(f"{case.name} run{r} {case.dtype}: out_err={o.out_err:.3g} "
              f"lse_err={o.lse_err if o.lse_err is None else format(o.lse_err, '.3g')} "
              f"ran {o.ms:.1f} ms")
    assert_close(case, outcomes)


# The CPU forms against the same float64 reference: the scalar linalg form
# (the oracle), the vector form at widths other than the host's, and one
# thread. Edge cases only: odd N against the block size, GQA, bidirectional
# anti sides, rows without keys (Nq > Nk), empty heads, dynamic N with
# Nq = 0, Dv != D, D and Dv that no vector width divides, every dtype.
FORM_CASES = [name for name in (
    "explicit-gaps-empty-gqa4x2-f32", "explicit-nq-gt-nk-f16-bidir",
    "pb-f16-bidir-h3-n257-half-tile5x3", "dyn-ee-f32-h8",
    "dyn-dc-f16-h3-dv32-dynbatch", "tb-bf16-bidir-h3-n64-tile1x1",
    "ee-f32-h2-n100-d200-dv72", "ee-f16-bidir-h3-n64-tile5x3")]
FORMS = [("scalar", 0, None), ("lanes4", 4, None), ("lanes8-1thread", 8, 1),
         ("lanes32", 32, None)]


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f[0])
@pytest.mark.parametrize("name", FORM_CASES)
def test_cpu_forms(name, form, spa_tools, tmp_path):
    case = next(c for c in CASES if c.name == name)
    _, lanes, threads = form
    case = dataclasses.replace(case, vector_lanes=lanes, threads=threads)
    assert_close(case, check_case(spa_tools, case, str(tmp_path)))


def test_coverage():
    """The default matrix covers every value of every axis."""
    seen = {k: set() for k in ("policy", "dtype", "D", "N", "H", "Nq", "mode",
                               "gqa", "dv", "dynamic", "lse", "tile", "explicit")}
    for c in CASES:
        seen["policy"].add(c.bands if c.is_policy else "explicit")
        seen["dtype"].add(c.dtype)
        seen["D"].add(c.head_dim)
        seen["H"].add(c.heads)
        seen["mode"].add(c.mode)
        seen["gqa"].add((c.heads, c.hkv))
        seen["dv"].add(c.dv != c.head_dim)
        seen["dynamic"].add(c.bands if c.dynamic else None)
        seen["lse"].add(c.lse)
        seen["tile"].add(c.tile)
        for nq, nk in c.runs:
            seen["N"].add(nk)
            seen["Nq"].add("1" if nq == 1 else "N" if nq == nk else
                           "N/2" if nq == nk // 2 else "Nq>Nk" if nq > nk else "other")
    assert set(POLICIES) | {"explicit"} <= seen["policy"]
    assert {"f32", "f16", "bf16"} <= seen["dtype"]
    assert {16, 64, 80, 128} <= seen["D"]
    assert {1, 7, 64, 257, 1000, 4096} <= seen["N"]
    assert {1, 3, 8, 16} <= seen["H"]
    assert {"1", "N/2", "N", "Nq>Nk"} <= seen["Nq"]
    assert {C, B} <= seen["mode"]
    assert (16, 4) in seen["gqa"]
    assert True in seen["dv"]
    assert set(ref.CLOSED_FORM_POLICIES) <= seen["dynamic"]
    assert {True, False} <= seen["lse"]
    assert {(1, 1), (5, 3)} <= seen["tile"]


# ---------------------------------------------------------------------------
# The harness must be able to fail.
# ---------------------------------------------------------------------------

WRONG_TABLES = {
    # head 1's band [4, 10) moved by one distance at either end
    "hi+1": [[(0, 4)], [(4, 11)], [], [(1, 3), (6, 12)]],
    "lo+1": [[(0, 4)], [(5, 10)], [], [(1, 3), (6, 12)]],
    # the empty head given one key: its -inf log-sum-exp rows must mismatch
    "empty-head": [[(0, 4)], [(4, 10)], [(0, 1)], [(1, 3), (6, 12)]],
}


@pytest.mark.parametrize("wrong", sorted(WRONG_TABLES))
def test_detects_wrong_table(wrong, spa_tools, tmp_path):
    """Compiled with the right table, compared with a reference computed with
    a table off by one: the comparison must report a mismatch."""
    case = Case("self-check", GAPPED_4, "f32", C, 4, kv_heads=2, head_dim=16, v_dim=8,
                runs=[(10, 12)], scale=0.25, seed=99)
    inputs, out, lse, _ = run_spa(spa_tools, case, str(tmp_path), 10, 12, seed=99)
    good_out, good_lse = ref.attention(*inputs, GAPPED_4, C, 0.25)
    assert ref.max_rel_error(out, good_out) <= out_tolerance(case)
    assert ref.max_rel_error(lse, good_lse) <= lse_tolerance(case)
    bad_out, bad_lse = ref.attention(*inputs, WRONG_TABLES[wrong], C, 0.25)
    err = max(ref.max_rel_error(out, bad_out), ref.max_rel_error(lse, bad_lse))
    # far beyond even the loosest tolerance (bf16)
    assert err > 10 * out_tolerance(dataclasses.replace(case, dtype="bf16")), \
        f"off-by-one table not detected (error {err:.3g})"


def test_detects_wrong_alignment_and_grouping(spa_tools, tmp_path):
    """Top-left instead of bottom-right aligned queries, or kv head h % Hkv
    instead of h // (Hq / Hkv), must also be caught."""
    case = Case("self-check-2", "exclusive_equal", "f32", C, 4, kv_heads=2, head_dim=16,
                runs=[(8, 12)], seed=98)
    path = tmp_path / "layer.mlir"
    path.write_text(module_text(case, 8, 12))
    inputs, out, lse, _ = run_spa(spa_tools, case, str(tmp_path), 8, 12, 98, str(path))
    table = ref.band_table("exclusive_equal", 12, 4)
    q, k, v = inputs
    good, _ = ref.attention(q, k, v, table, C)
    assert ref.max_rel_error(out, good) <= out_tolerance(case)
    # top-left aligned queries (p_i = i): the same as keeping only keys
    # 0..Nq-1 under bottom-right alignment
    top_left, _ = ref.attention(q, k[:, :, :8], v[:, :, :8], table, C)
    assert ref.max_rel_error(out, top_left) > 0.1
    # wrong grouping: head h reads kv head h % 2
    k_wrong = k[:, [0, 1, 0, 1]]
    v_wrong = v[:, [0, 1, 0, 1]]
    wrong, _ = ref.attention(q, k_wrong, v_wrong, table, C)
    assert ref.max_rel_error(out, wrong) > 0.1


# ---------------------------------------------------------------------------
# Tables: the compiler's -spa-balance-bands against SPEC's formulas, many (N, H)
# ---------------------------------------------------------------------------

def _policy_module(cases):
    """One function @f<i> per (policy, window, mode, N, H), H heads of D = 4."""
    return "".join(
        layer_mlir(batch=1, heads=h, kv_heads=h, query_len=n, key_len=n,
                   head_dim=4, value_dim=4, dtype="f32", mode=mode,
                   bands=policy, window=window, with_lse=False, name=f"f{i}")
        for i, (policy, window, mode, n, h) in enumerate(cases))


def test_closed_form_tables_match_spec(spa_tools, tmp_path):
    cases = []
    for n in list(range(1, 34)) + [63, 64, 65, 257, 1000, 1024, 4096, 4099]:
        for h in (1, 2, 3, 5, 8, 16):
            for mode in (C, B):
                for policy, window in (("exclusive_equal", None), ("local_plus_band", None),
                                       ("gapped_half", None), ("sliding_window", None),
                                       ("sliding_window", 0), ("sliding_window", 5),
                                       ("sliding_window", 5000), ("dense_causal", None)):
                    if policy in ("exclusive_equal", "local_plus_band", "gapped_half") and n < h:
                        continue
                    if mode == B and n % 7:
                        continue  # bidirectional: a sample suffices
                    cases.append((policy, window, mode, n, h))
    path = tmp_path / "policies.mlir"
    path.write_text(_policy_module(cases))
    tables = compiler_tables(spa_tools, str(path))
    assert len(tables) == len(cases)
    bad = []
    for (policy, window, mode, n, h), (got_mode, got) in zip(cases, tables):
        want = ref.band_table(policy, n, h, mode, window)
        if got_mode != mode or [ref.normalize(x) for x in got] != want:
            bad.append(f"{policy} window={window} {mode} N={n} H={h}: compiler {got}, SPEC {want}")
    assert not bad, f"{len(bad)} tables differ, e.g.\n" + "\n".join(bad[:10])


@pytest.mark.parametrize("policy", ["pair_balanced", "tile_balanced"])
def test_balanced_tables_are_partitions(policy, spa_tools, tmp_path):
    """The balanced policies must give exclusive bands covering [0, N); and
    pair_balanced must actually balance causal pairs: no head more than one
    distance column (N pairs) above the ideal N(N+1)/(2H)."""
    cases = [(policy, None, C, n, h) for n in (16, 17, 64, 257, 1000, 1024, 4096)
             for h in (1, 2, 3, 8, 16)]
    cases += [(policy, None, B, n, h) for n in (64, 1000) for h in (3, 8)]
    path = tmp_path / "balanced.mlir"
    path.write_text(_policy_module(cases))
    tables = compiler_tables(spa_tools, str(path))
    assert len(tables) == len(cases)
    for (_, _, mode, n, h), (got_mode, got) in zip(cases, tables):
        assert got_mode == mode and len(got) == h
        check_partition(got, n)
        if policy == "pair_balanced" and mode == C:
            pairs = ref.pair_counts(got, n, n, C)
            assert sum(pairs) == n * (n + 1) // 2
            assert max(pairs) <= n * (n + 1) / (2 * h) + n, (n, h, got, pairs)
