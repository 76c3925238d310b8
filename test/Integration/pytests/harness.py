"""Helpers of the CPU test matrix: write an spa.attention module for a case,
compile and run it with spa-run on inputs made here, and compare the results
with the NumPy reference (test/lib/spa_reference)."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from typing import List, Optional, Sequence, Tuple, Union

import ml_dtypes
import numpy as np

import spa_reference as ref
from spa.layer import layer_mlir

NP_DTYPES = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16}

# Tolerances on max |x - ref| / (1 + |ref|) (reference.max_rel_error).
#
# The reference sees exactly the rounded inputs the kernel sees (checked bit
# for bit in run_spa), so two errors are left:
#  - rounding the output to its element type: half an ulp, i.e. below
#    |x| * 2^-11 (f16) or |x| * 2^-8 (bf16), hence below 2^-11 or 2^-8 in this
#    metric whatever |x| is. Observed worst cases: f16 3.2e-4 (bound 4.9e-4),
#    bf16 2.6e-3 (bound 3.9e-3; an output just above 2 gives 2^-7 / 3).
#  - f32 arithmetic (scores, online softmax, accumulation): observed <= 1.3e-6
#    at the default scale 1/sqrt(D) (logits of standard deviation ~1 for our
#    unit-normal inputs), 8.5e-6 with scale 1.0 at D = 64 (logit standard
#    deviation 8), 1.6e-5 with q, k ~ 4 N(0, 1) at D = 128 (deviation 16).
#    It grows with the logits' magnitude, so the f32 term is 1e-5 times the
#    logit standard deviation scale * sqrt(D) * amplitude^2 (at least 1).
# We allow the rounding bound twice over (f16 1e-3, bf16 8e-3): an f16/bf16
# accumulation or a lost key would exceed that by orders of magnitude (an
# off-by-one band gives ~0.1..1, see the self-checks in cpu_matrix_test.py).
# These are far tighter than spa-run --check's defaults (1e-4, 1e-2, 5e-2).
ROUNDING_TOL = {"f32": 0.0, "f16": 1e-3, "bf16": 8e-3}
F32_TOL = 1e-5
# The log-sum-exp is f32 whatever the input type and computed from the same
# rounded inputs: observed <= 4.1e-7, 2.1e-6 at logit deviation 16; scaled
# like the f32 term.
LSE_TOL = 1e-5


def logit_scale(case: "Case") -> float:
    scale = case.scale if case.scale is not None else case.head_dim ** -0.5
    return max(1.0, abs(scale) * case.head_dim ** 0.5 * case.amplitude ** 2)


def out_tolerance(case: "Case") -> float:
    return ROUNDING_TOL[case.dtype] + F32_TOL * logit_scale(case)


def lse_tolerance(case: "Case") -> float:
    return LSE_TOL * logit_scale(case)


BandsSpec = Union[str, List[List[Tuple[int, int]]]]


@dataclasses.dataclass
class Case:
    """One spa.attention layer and the lengths to run it at.

    `bands` is a policy kind (str) or an explicit table (list of interval
    lists). `runs` lists (nq, nk) pairs; several only with `dynamic`, where
    the module has `?` for Nq and Nk and one compiled module serves them all.
    """
    name: str
    bands: BandsSpec
    dtype: str = "f32"
    mode: str = "causal"
    heads: int = 8
    kv_heads: Optional[int] = None
    head_dim: int = 64
    v_dim: Optional[int] = None
    runs: Sequence[Tuple[int, int]] = ((64, 64),)
    batch: int = 1
    dynamic: bool = False
    dynamic_batch: bool = False
    lse: bool = True
    tile: Optional[Tuple[int, int]] = None
    window: Optional[int] = None
    policy_tile: Optional[Tuple[int, int]] = None   # tile_balanced's tile = AxB
    scale: Optional[float] = None
    amplitude: float = 1.0    # q and k are amplitude * N(0, 1): large logits
    seed: int = 0
    # The CPU form (spa-run --vector-lanes / --num-threads); None: the
    # pipeline's defaults (the vector form at the host's width, threads).
    vector_lanes: Optional[int] = None
    threads: Optional[int] = None

    @property
    def hkv(self) -> int:
        return self.kv_heads or self.heads

    @property
    def dv(self) -> int:
        return self.v_dim or self.head_dim

    @property
    def is_policy(self) -> bool:
        return isinstance(self.bands, str)

    def __str__(self) -> str:
        return self.name


def module_text(case: Case, nq: int, nk: int) -> str:
    """The MLIR module: func @layer(q, k, v) -> (out[, lse])."""
    return layer_mlir(
        batch=None if case.dynamic_batch else case.batch, heads=case.heads,
        kv_heads=case.hkv, query_len=None if case.dynamic else nq,
        key_len=None if case.dynamic else nk, head_dim=case.head_dim,
        value_dim=case.dv, dtype=case.dtype, mode=case.mode, bands=case.bands,
        window=case.window, tile=case.policy_tile, scale=case.scale,
        with_lse=case.lse)


def make_inputs(case: Case, nq: int, nk: int, seed: int):
    """Random normal q, k, v, rounded to the element type (kept as float32)."""
    rng = np.random.default_rng(seed)
    dt = NP_DTYPES[case.dtype]
    shapes = [(case.batch, case.heads, nq, case.head_dim),
              (case.batch, case.hkv, nk, case.head_dim),
              (case.batch, case.hkv, nk, case.dv)]
    amp = [case.amplitude, case.amplitude, 1.0]
    return [(a * rng.standard_normal(s, dtype=np.float32)).astype(dt).astype(np.float32)
            for a, s in zip(amp, shapes)]


def run_tool(args: List[str], timeout: int = 600) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed with exit code {proc.returncode}:\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def compiler_tables(tools: str, path: str,
                    tile: Optional[Tuple[int, int]] = None) -> List[Tuple[str, list]]:
    """The #spa.bands tables that -spa-balance-bands writes for a module,
    planned for the lowering's tile shape (`tile`, else spa-run's default
    32x64) as spa-to-llvm-cpu plans them (tile_balanced depends on it)."""
    tile_q, tile_k = tile or (32, 64)
    text = run_tool([os.path.join(tools, "spa-opt"), path,
                     f"-spa-balance-bands=tile-q={tile_q} tile-k={tile_k}"])
    return ref.find_bands(text)


@dataclasses.dataclass
class Outcome:
    out_err: float
    lse_err: Optional[float]
    out: np.ndarray
    lse: Optional[np.ndarray]
    inputs: list
    table: list
    ms: float


def run_spa(tools: str, case: Case, workdir: str, nq: int, nk: int, seed: int,
            module_path: Optional[str] = None) -> Tuple[list, np.ndarray, Optional[np.ndarray], float]:
    """Runs @layer of the case's module on fresh inputs; returns (inputs,
    out, lse, run ms) as float32 arrays read back from spa-run."""
    os.makedirs(workdir, exist_ok=True)
    if module_path is None:
        module_path = os.path.join(workdir, "layer.mlir")
        with open(module_path, "w") as f:
            f.write(module_text(case, nq, nk))
    inputs = make_inputs(case, nq, nk, seed)
    args = [os.path.join(tools, "spa-run"), module_path, "--entry=layer",
            f"--seed={seed}", f"--output-dir={workdir}"]
    for i, x in enumerate(inputs):
        p = os.path.join(workdir, f"in{i}.npy")
        np.save(p, x)
        args.append(f"--input={p}")
    if case.tile is not None:
        args += [f"--tile-q={case.tile[0]}", f"--tile-k={case.tile[1]}"]
    if case.vector_lanes is not None:
        args.append(f"--vector-lanes={case.vector_lanes}")
    if case.threads is not None:
        args.append(f"--num-threads={case.threads}")
    stdout = run_tool(args)
    m = re.search(r"ran in ([0-9.]+) ms", stdout)
    assert m, f"unexpected spa-run output: {stdout!r}"
    # spa-run writes back the arguments it actually used (rounded to the
    # element type): they must be bit-identical to ours.
    for i, x in enumerate(inputs):
        back = np.load(os.path.join(workdir, f"arg{i}.npy"))
        assert back.shape == x.shape and np.array_equal(back, x), \
            f"spa-run changed input {i} (rounding or I/O mismatch)"
    out = np.load(os.path.join(workdir, "result0.npy"))
    lse = np.load(os.path.join(workdir, "result1.npy")) if case.lse else None
    return inputs, out, lse, float(m.group(1))


def check_case(tools: str, case: Case, workdir: str) -> List[Outcome]:
    """Compiles and runs every (nq, nk) of the case and compares with the
    reference; returns the outcomes (asserting on the tolerances is left to
    the caller so that the negative tests can reuse this)."""
    outcomes = []
    module_path = None
    if case.dynamic:
        os.makedirs(workdir, exist_ok=True)
        module_path = os.path.join(workdir, "layer.mlir")
        with open(module_path, "w") as f:
            f.write(module_text(case, 0, 0))
    for r, (nq, nk) in enumerate(case.runs):
        sub = os.path.join(workdir, f"run{r}")
        if case.dynamic:
            path = module_path
        else:
            os.makedirs(sub, exist_ok=True)
            path = os.path.join(sub, "layer.mlir")
            with open(path, "w") as f:
                f.write(module_text(case, nq, nk))
        table = reference_table(tools, case, path, nq, nk)
        seed = case.seed * 1000 + r
        inputs, out, lse, ms = run_spa(tools, case, sub, nq, nk, seed, path)
        want_out, want_lse = ref.attention(*inputs, table, case.mode, case.scale)
        assert out.shape == want_out.shape, (out.shape, want_out.shape)
        out_err = ref.max_rel_error(out, want_out)
        lse_err = None
        if case.lse:
            assert lse.shape == want_lse.shape, (lse.shape, want_lse.shape)
            lse_err = ref.max_rel_error(lse, want_lse)
        outcomes.append(Outcome(out_err, lse_err, out, lse, inputs, table, ms))
    return outcomes


def reference_table(tools: str, case: Case, path: str, nq: int, nk: int):
    """The band table the reference uses for one run of the case.

    Closed-form policies: SPEC's formulas (band_table); for static modules
    the compiler's resolved table must equal it. pair_balanced and
    tile_balanced: the compiler's choice (read with -spa-balance-bands),
    checked to be an exclusive partition of [0, N). Explicit: the table.
    """
    if not case.is_policy:
        return case.bands
    kind = case.bands
    if kind in ref.CLOSED_FORM_POLICIES:
        mine = ref.band_table(kind, nk, case.heads, case.mode, case.window)
        if not case.dynamic:
            (mode, theirs), = compiler_tables(tools, path, case.tile)
            assert mode == case.mode
            assert [ref.normalize(h) for h in theirs] == mine, (
                f"-spa-balance-bands table differs from SPEC's {kind}:\n"
                f"  compiler: {theirs}\n  SPEC:     {mine}")
        return mine
    assert not case.dynamic, "balanced policies need a static N"
    (mode, theirs), = compiler_tables(tools, path, case.tile)
    assert mode == case.mode and len(theirs) == case.heads
    check_partition(theirs, nk)
    return theirs


def check_partition(table, n: int) -> None:
    """Exclusive bands: one interval per head, in order, covering [0, n)."""
    edge = 0
    for h, ivs in enumerate(table):
        assert len(ivs) == 1, f"head {h}: {ivs} is not a single band"
        lo, hi = ivs[0]
        assert lo == edge and hi > lo, f"head {h}: {ivs} does not continue at {edge}"
        edge = hi
    assert edge == n, f"bands end at {edge}, not at N = {n}"
