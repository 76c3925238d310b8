"""Tests of the `spa` Python package (native extension from the build tree).

Numeric checks compare with spa_reference (NumPy float64, written from
SPEC.md) on fresh random inputs; tolerance max |out - ref| / (1 + |ref|):
f32 1e-5, f16 1e-2, bf16 5e-2 (inputs are rounded to the dtype first, the
reference sees the rounded values).
"""
import os
import re
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

import spa
import spa_reference as ref

TOL = {"f32": 1e-5, "f16": 1e-2, "bf16": 5e-2}
NP = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16}


def rel_err(out, want):
    out = np.asarray(out, dtype=np.float64)
    return float(np.max(np.abs(out - want) / (1.0 + np.abs(want)))) \
        if want.size else 0.0


# --- planning ---------------------------------------------------------------

def test_plan_matches_spec_example():
    plan = spa.bands.plan("exclusive_equal", seq_len=1024, heads=8)
    assert plan.heads[0] == [(0, 128)] and plan.heads[7] == [(896, 1024)]
    pairs = [h["pairs"] for h in plan.report["heads"]]
    assert pairs[0] == 122_944 and pairs[7] == 8_256
    assert plan.report["total_pairs"] == 1024 * 1025 // 2
    assert plan.to_attr().startswith("#spa.bands<causal, [0:128], [128:256]")


@pytest.mark.parametrize("policy", spa.bands.POLICIES)
def test_plan_every_policy_agrees_with_reference_formulas(policy):
    for n, h in [(1, 1), (7, 3), (100, 8), (257, 16)]:
        plan = spa.bands.plan(policy, seq_len=n, heads=h)
        assert plan.num_heads == h
        if policy in ref.CLOSED_FORM_POLICIES:
            assert plan.heads == ref.band_table(policy, n, h), (n, h)
        else:  # balanced policies: exclusive, complete cover of [0, n)
            covered = sorted(d for head in plan.heads for lo, hi in head
                             for d in range(lo, hi))
            assert covered == list(range(n))


def test_policy_names_match_the_planner():
    # spa.bands.POLICIES is the Python list of the policies; the planner's
    # PolicyKind (C++) is the one they must name, in the same order.
    from spa import _spa_native
    assert list(spa.bands.POLICIES) == _spa_native.policy_names()


def test_plan_errors():
    with pytest.raises(ValueError, match="unknown band policy"):
        spa.bands.plan("striped", 10, 2)
    with pytest.raises(ValueError):
        spa.bands.plan("exclusive_equal", 0, 2)
    with pytest.raises(ValueError):
        spa.bands.plan("sliding_window", 10, 2, window=-5)


# --- IR -----------------------------------------------------------------------

def test_parse_print_round_trip():
    layer = spa.LayerSpec(heads=2, seq_len=16, head_dim=8,
                          bands=[[(0, 4)], [(4, 16)]])
    module = spa.ir.parse(layer.to_mlir())
    text = str(module)
    assert "#spa.bands<causal, [0:4], [4:16]>" in text
    assert str(spa.ir.parse(text)) == text


def test_bad_ir_raises_with_location():
    bad = ("func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x8x16xf32>) {\n"
           "  %0 = spa.attention bands(#spa.bands<causal, [0:4]>)\n"
           "      ins(%q, %k, %k : tensor<1x1x8x16xf32>, tensor<1x8x16xf32>,"
           " tensor<1x8x16xf32>)\n"
           "      outs(%q : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>\n"
           "  return\n}\n")
    with pytest.raises(spa.MLIRError) as info:
        spa.ir.parse(bad, "bad.mlir")
    assert "key: expected rank 4" in str(info.value)
    assert info.value.locations == ['loc("bad.mlir":2:8)']
    with pytest.raises(spa.MLIRError, match="expected ':'"):
        spa.ir.parse("#x = #spa.bands<causal, [0, 4]>\n")


def test_run_pipeline_by_name():
    layer = spa.LayerSpec(heads=3, seq_len=10, head_dim=8,
                          policy="exclusive_equal")
    module = spa.ir.parse(layer.to_mlir()).run_pipeline("spa-balance-bands")
    assert "#spa.bands<causal, [0:4], [4:7], [7:10]>" in str(module)
    # Fewer distances than heads: the last heads get empty bands (SPEC 1).
    short = spa.ir.parse(spa.LayerSpec(heads=5, seq_len=3, head_dim=8,
                                       policy="exclusive_equal").to_mlir()
                         ).run_pipeline("spa-balance-bands")
    assert "#spa.bands<causal, [0:1], [1:2], [2:3], [], []>" in str(short)
    with pytest.raises(ValueError, match="invalid pass pipeline"):
        spa.ir.parse(layer.to_mlir()).run_pipeline("no-such-pass")


# --- CPU execution -------------------------------------------------------------

CASES = [
    # heads, kv, seq_len, query_len, head_dim, dtype, policy, mode
    (4, 2, 300, 300, 32, "f32", "local_plus_band", "causal"),
    (3, 3, 7, 7, 16, "f16", "exclusive_equal", "causal"),
    (8, 2, 65, 17, 80, "bf16", "pair_balanced", "causal"),
    (2, 1, 33, 40, 16, "f32", "gapped_half", "causal"),  # Nq > Nk: empty rows
    (4, 4, 50, 50, 16, "f32", "sliding_window", "bidirectional"),
    (1, 1, 1, 1, 16, "f32", "dense_causal", "causal"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[6]}-{c[5]}-N{c[2]}")
def test_cpu_execution_matches_reference(case):
    heads, kv, n, nq, d, dtype, policy, mode = case
    layer = spa.LayerSpec(heads=heads, kv_heads=kv, seq_len=n, query_len=nq,
                          head_dim=d, dtype=dtype, policy=policy, mode=mode)
    fn = spa.compile(layer, target="cpu", tile_q=8, tile_k=16)
    rng = np.random.default_rng()
    q = rng.standard_normal((1, heads, nq, d)).astype(NP[dtype])
    k = rng.standard_normal((1, kv, n, d)).astype(NP[dtype])
    v = rng.standard_normal((1, kv, n, d)).astype(NP[dtype])
    out, lse = fn(q, k, v)
    assert out.dtype == NP[dtype] and lse.dtype == np.float32
    table = spa.bands.plan(policy, seq_len=n, heads=heads, mode=mode,
                           query_len=nq).heads
    want_out, want_lse = ref.attention(q.astype(np.float64),
                                       k.astype(np.float64),
                                       v.astype(np.float64), table, mode)
    assert rel_err(out, want_out) <= TOL[dtype]
    finite = np.isfinite(want_lse)
    assert np.array_equal(np.isfinite(lse), finite)
    assert rel_err(lse[finite], want_lse[finite]) <= 1e-4


def test_dynamic_length_one_function_many_lengths():
    layer = spa.LayerSpec(heads=4, seq_len=None, head_dim=16,
                          policy="local_plus_band")
    fn = spa.compile(layer, target="cpu", tile_q=8, tile_k=8)
    rng = np.random.default_rng()
    for n in (1, 19, 64):
        q, k, v = (rng.standard_normal((1, 4, n, 16)).astype(np.float32)
                   for _ in range(3))
        out, _ = fn(q, k, v)
        want, _ = ref.attention(q.astype(np.float64), k.astype(np.float64),
                                v.astype(np.float64),
                                ref.band_table("local_plus_band", n, 4),
                                "causal")
        assert rel_err(out, want) <= TOL["f32"], n


def test_cpu_call_errors():
    fn = spa.compile(spa.LayerSpec(heads=1, seq_len=8, head_dim=4,
                                   policy="dense_causal"))
    with pytest.raises(TypeError):
        fn(np.zeros((1, 1, 8, 4)))
    with pytest.raises(ValueError, match="expected shape"):
        fn(*(np.zeros((1, 1, 9, 4)),) * 3)
    with pytest.raises(ValueError, match="unknown target"):
        spa.compile(spa.LayerSpec(heads=1, seq_len=8, head_dim=4),
                    target="tpu")


# --- CUDA artifacts (compiled here; launching needs a GPU: bench/gpu_device.py)

def _have_ptxas():
    import shutil
    return bool(shutil.which("ptxas")) or os.path.exists(
        "/usr/local/cuda/bin/ptxas")


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
@pytest.mark.parametrize("mma,stages,instruction,dynamic_shared", [
    # Q, K, V tiles (and the ring's), then 8-byte TMA barriers: Q's and one
    # K and one V per buffer.
    ("auto", 1, "wgmma.mma_async.sync.aligned.m64n64k16",
     3 * 64 * 64 * 2 + 8 * 3),
    ("auto", 0, "wgmma.mma_async.sync.aligned.m64n64k16",
     5 * 64 * 64 * 2 + 8 * 5),
    ("wgmma", 2, "wgmma.mma_async.sync.aligned.m64n64k16",
     5 * 64 * 64 * 2 + 8 * 5),
    ("mma.sync", 1, "mma.sync.aligned.m16n8k16", 0),
])
def test_cuda_artifact_compile_save_load_round_trip(tmp_path, mma, stages,
                                                    instruction,
                                                    dynamic_shared):
    from spa.runtime.cuda import CudaArtifact
    layer = spa.LayerSpec(heads=4, kv_heads=2, seq_len=300, query_len=200,
                          head_dim=64, dtype="bf16", policy="local_plus_band")
    artifact = spa.compile(layer, target="cuda:sm_90a", mma=mma,
                           stages=stages)
    assert artifact.cubin[:4] == b"\x7fELF"
    assert instruction in artifact.ptx
    assert ".target sm_90a" in artifact.ptx
    kernel = artifact.kernel
    assert kernel["mma"] == ("wgmma" if mma == "auto" else mma)
    # Launch-time dynamic shared memory (the mma.sync tiles are static).
    assert kernel["shared_bytes"] == dynamic_shared
    assert kernel["block"] == [128, 1, 1]
    # One block per (batch, head, 64-row query tile), all present once.
    work = next(a for a in kernel["args"] if a["name"] == "work")["values"]
    items = sorted(zip(work[0::3], work[1::3], work[2::3]))
    assert items == [(0, h, t) for h in range(4) for t in range(4)]
    assert kernel["grid"] == [16, 1, 1]
    names = [a["name"] for a in kernel["args"]]
    # wgmma: the TMA maps of q, k and v follow (64-row boxes), then the
    # map of O's staged rows (tma_stores by default: 16-row boxes).
    maps = ["query_map", "key_map", "value_map", "output_map"] \
        if mma != "mma.sync" else []
    assert names == ["query", "key", "value", "output", "log_sum_exp",
                     "bounds", "work"] + maps
    for a in kernel["args"][7:]:
        assert (a["kind"], a["box"], a["swizzle_bytes"]) == (
            "tensor_map", [64, 16 if a["name"] == "output_map" else 64, 1, 1],
            128)
    plan = spa.bands.plan("local_plus_band", 300, 4, query_len=200)
    assert kernel["bands"] == plan.to_attr()
    loaded = CudaArtifact.load(artifact.save(str(tmp_path / "layer")))
    assert loaded == artifact


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
@pytest.mark.parametrize("head_dim,dtype,options,message", [
    (64, "f32", dict(mma="wgmma"), "f32 inputs take the tf32"),
    (40, "bf16", {}, "multiples of 16"),
    (64, "bf16", dict(target="cuda:sm_80", mma="wgmma"),
     "mma = wgmma needs chip = sm_90a"),
    (32, "bf16", dict(stages=2), "stages = 2 needs the wgmma"),
])
def test_cuda_compile_rejects_what_the_kernel_cannot_do(head_dim, dtype,
                                                        options, message):
    options = dict(options)
    target = options.pop("target", "cuda:sm_90a")
    with pytest.raises(spa.MLIRError, match=message):
        spa.compile(spa.LayerSpec(heads=2, seq_len=64, head_dim=head_dim,
                                  dtype=dtype), target=target, **options)


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_f32_takes_the_tf32_kernel():
    artifact = spa.compile(spa.LayerSpec(heads=2, seq_len=100, head_dim=128,
                                         dtype="f32"), target="cuda:sm_90a")
    assert artifact.kernel["mma"] == "mma.sync"
    assert "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32" in artifact.ptx
    assert artifact.kernel["shared_bytes"] == 0  # static tiles
    out = next(a for a in artifact.kernel["args"] if a["name"] == "output")
    assert out["dtype"] == "f32"


@pytest.mark.parametrize("statement", [
    "from spa.runtime.cuda import CudaArtifact, CudaLayer",
    "import spa",
    "from spa.bands import POLICIES",
    "from spa.layer import LayerSpec, layer_mlir",
])
def test_imports_without_native_module(statement):
    # The runtime half of the package (the GPU machine has no MLIR), the
    # policy names and the IR text writer (the plot tool and the CPU test
    # harness) must import without _spa_native.
    code = ("import sys; sys.modules['spa._spa_native'] = None; "
            f"{statement}; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, env=dict(os.environ))
    assert out.stdout.strip() == "ok", out.stderr


# --- compile options: one typed declaration per pipeline (C++), used here

def test_pipeline_defaults_come_from_the_typed_options():
    gpu = spa.compiler.pipeline_defaults("cuda:sm_90a")
    assert {"chip", "warps", "tile_k", "mma", "stages", "policy"} <= set(gpu)
    assert gpu["mma"] == "auto" and gpu["warps"] == "4"
    cpu = spa.compiler.pipeline_defaults("cpu")
    assert {"tile_q", "tile_k", "policy"} <= set(cpu)


def test_compile_option_errors_name_the_option():
    layer = spa.LayerSpec(heads=1, seq_len=8, head_dim=4)
    with pytest.raises(TypeError, match="unknown option 'gpu_tile_k'.*tile_k"):
        spa.compile(layer, target="cpu", gpu_tile_k=64)
    with pytest.raises(TypeError, match="unknown option 'warps'"):
        spa.compile(layer, target="cpu", warps=8)
    with pytest.raises(ValueError, match="bad value .many. for option .tile-q."):
        spa.compile(layer, target="cpu", tile_q="many")
    with pytest.raises(ValueError, match="spaces, braces"):
        spa.compile(layer, target="cpu", policy="a b")


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_option_values_are_checked():
    layer = spa.LayerSpec(heads=2, seq_len=64, head_dim=64, dtype="bf16")
    with pytest.raises(ValueError, match="bad value .wmma. for option .mma."):
        spa.compile(layer, target="cuda:sm_90a", mma="wmma")
    with pytest.raises(spa.MLIRError, match="warps must be 1, 2, 4, 8 or 12"):
        spa.compile(layer, target="cuda:sm_90a", warps=3)


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_tma_option():
    # tma (default true): the wgmma kernels take TMA tensor maps of their
    # inputs and load tiles with cp.async.bulk.tensor; tma=False keeps
    # every thread's cp.async and no load maps, for forward and gradient
    # kernels alike. tma_stores (default true, independent of tma): the
    # staged epilogues (the forward's O, the dK/dV kernel's dK and dV) leave
    # by cp.async.bulk.tensor stores through maps of those outputs;
    # tma_stores=False keeps the threads' 16-byte stores.
    layer = spa.LayerSpec(heads=4, kv_heads=2, seq_len=300, query_len=200,
                          head_dim=64, dtype="bf16", policy="local_plus_band")
    text = layer.to_mlir(backward=True)
    loads = {"forward": ["query", "key", "value"],
             "dkdv": ["key", "value", "query", "output_grad"],
             "dq": ["query", "output_grad", "key", "value"]}
    stores = {"forward": ["output"], "dkdv": ["key_grad", "value_grad"],
              "dq": []}
    for tma in (True, False):
        for tma_stores in (True, False):
            artifact = spa.compile(text, target="cuda:sm_90a", tma=tma,
                                   tma_stores=tma_stores)
            roles = {}
            for kernel in artifact.metadata["kernels"]:
                maps = [a["of"] for a in kernel["args"]
                        if a["kind"] == "tensor_map"]
                roles[kernel["role"]] = maps
            assert roles == {r: (loads[r] if tma else []) +
                             (stores[r] if tma_stores else [])
                             for r in loads}
            ptx = artifact.ptx
            assert ("cp.async.bulk.tensor.4d.shared::cluster.global"
                    in ptx) == tma
            assert ("cp.async.bulk.tensor.4d.global.shared::cta" in ptx) \
                == tma_stores
            assert ("cp.async.cg.shared.global" in ptx) == (not tma)
    with pytest.raises(ValueError, match="tma"):
        spa.compile(text, target="cuda:sm_90a", tma="sometimes")
    with pytest.raises(ValueError, match="tma-stores"):
        spa.compile(text, target="cuda:sm_90a", tma_stores="sometimes")


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_staging_store_options():
    # stmatrix_staging (default false): the staged rows (the forward's O,
    # the dK/dV kernel's dK, dV and dS) are written by stmatrix instead of
    # 4-byte shared stores. score_grad_warp_stores (default false, stored
    # dS only): each warp bulk-copies its 2048 bytes of the dS tile, thread
    # 0 no longer the 8192-byte tile.
    layer = spa.LayerSpec(heads=2, seq_len=200, head_dim=128, dtype="bf16",
                          policy="exclusive_equal")
    text = layer.to_mlir(backward=True)
    for stmatrix in (True, False):
        for warp_stores in (True, False):
            artifact = spa.compile(text, target="cuda:sm_90a",
                                   score_grads="store",
                                   stmatrix_staging=stmatrix,
                                   score_grad_warp_stores=warp_stores)
            ptx = artifact.ptx
            assert ("stmatrix.sync.aligned" in ptx) == stmatrix
            # The dK/dV kernel's one bulk store: its size operand, an
            # immediate or a register set by one mov.
            dkdv = next(entry for entry in ptx.split(".entry")[1:]
                        if entry.split("(", 1)[0].strip().endswith("_dkdv"))
            sizes = re.findall(
                r"cp\.async\.bulk\.global\.shared::cta\.bulk_group "
                r"\[[^]]*\], \[[^]]*\], (%?\w+);", dkdv)
            assert len(sizes) == 1
            size = sizes[0]
            if size.startswith("%"):
                size = re.findall(r"mov\.b32\s+" + re.escape(size) +
                                  r", (\d+);", dkdv)[0]
            assert size == ("2048" if warp_stores else "8192")
    with pytest.raises(ValueError, match="stmatrix-staging"):
        spa.compile(text, target="cuda:sm_90a", stmatrix_staging="often")
    with pytest.raises(spa.MLIRError,
                       match="score-grad-warp-stores applies to the stored "
                       "dS"):
        spa.compile(text, target="cuda:sm_90a", score_grads="recompute",
                    score_grad_warp_stores=True)


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_interleaved_dq_option():
    # interleaved_dq (default false, stored dS only): the dK/dV and
    # dq_stored blocks in one launch; the preprocess zeroes the i32
    # grad_sync scratch (claim counter, one flag a dK/dV item), which both
    # kernels name; the work table holds both lists and one entry a block.
    layer = spa.LayerSpec(heads=4, kv_heads=2, seq_len=300, query_len=200,
                          head_dim=128, dtype="bf16", policy="local_plus_band")
    text = layer.to_mlir(backward=True)
    plain = spa.compile(text, target="cuda:sm_90a", score_grads="store")
    assert [k["role"] for k in plain.metadata["kernels"]] == [
        "forward", "preprocess", "dkdv", "dq_stored"]
    grids = {k["role"]: k["grid"][0] for k in plain.metadata["kernels"]}
    for lag in (0, 256):
        artifact = spa.compile(text, target="cuda:sm_90a", score_grads="store",
                               interleaved_dq=True, interleaved_dq_lag=lag)
        kernels = artifact.metadata["kernels"]
        assert [k["role"] for k in kernels] == [
            "forward", "preprocess", "dkdv_dq_stored"]
        fused = kernels[2]
        assert fused["grid"][0] == grids["dkdv"] + grids["dq_stored"]
        args = {a["name"]: a for a in fused["args"]}
        assert args["grad_sync"]["kind"] == "scratch"
        assert args["grad_sync"]["dtype"] == "i32"
        # 1 + B x Hkv x key tiles of 64 (Nk = 300: 5).
        assert args["grad_sync"]["shape"] == [1 + 1 * 2 * 5]
        assert "grad_sync" in [a["name"] for a in kernels[1]["args"]]
        work = args["work"]["values"]
        # The dK/dV items, the dQ items (one a block here), the order.
        assert len(work) == 3 * 2 * fused["grid"][0]
        order = work[3 * fused["grid"][0]::3]
        assert sorted(order) == list(range(fused["grid"][0]))
        assert "nanosleep" in artifact.ptx and "atom" in artifact.ptx
    with pytest.raises(spa.MLIRError,
                       match="interleaved-dq needs the stored dS"):
        spa.compile(text, target="cuda:sm_90a", score_grads="recompute",
                    interleaved_dq=True)
    with pytest.raises(spa.MLIRError,
                       match="interleaved-dq-lag must be 0 or more"):
        spa.compile(text, target="cuda:sm_90a", interleaved_dq_lag=-1)
    with pytest.raises(spa.MLIRError,
                       match="interleaved-dq-stages must be 2, 3 or 4"):
        spa.compile(text, target="cuda:sm_90a", interleaved_dq_stages=5)


def _gradient_artifact(head_dim, **options):
    """A small GQA layer with its gradient (Nq 200 != Nk 300,
    local_plus_band) compiled for sm_90a with `options`."""
    layer = spa.LayerSpec(heads=4, kv_heads=2, seq_len=300, query_len=200,
                          head_dim=head_dim, dtype="bf16",
                          policy="local_plus_band")
    return spa.compile(layer.to_mlir(backward=True), target="cuda:sm_90a",
                       **options)


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_backward_schedule_option():
    # backward_schedule="ws": the dK/dV kernel is the warp-specialised one
    # (384 threads: two consumer warpgroups of 64 keys and a producer,
    # key tiles of 128, setmaxnreg); the dQ kernel keeps the options'
    # warps. "auto" takes it at D = Dv = 64 only (where it measured
    # faster), "classic" never; a shape ws does not take is a located
    # MLIRError, a bad value a ValueError.
    def dkdv_blocks(head_dim, **options):
        # score_grads="recompute": at D = 128 auto would store dS (its own
        # dQ kernel, test_cuda_grad.py's test_stored_score_grads).
        artifact = _gradient_artifact(head_dim, score_grads="recompute",
                                      **options)
        kernels = {k["role"]: k for k in artifact.metadata["kernels"]}
        return ({role: (k["block"][0], k["tile"])
                 for role, k in kernels.items()},
                "setmaxnreg" in artifact.ptx)

    ws = (384, [64, 128])
    classic = (128, [64, 64])
    for head_dim, auto in ((64, ws), (128, classic)):
        blocks = {s: dkdv_blocks(head_dim, backward_schedule=s)
                  for s in ("ws", "auto", "classic")}
        assert blocks["ws"][0]["dkdv"] == ws and blocks["ws"][1]
        assert blocks["classic"][0]["dkdv"] == classic
        assert not blocks["classic"][1]
        assert blocks["auto"][0]["dkdv"] == auto
        for role in ("forward", "dq"):
            assert blocks["ws"][0][role] == blocks["classic"][0][role]
    text = spa.LayerSpec(heads=4, kv_heads=2, seq_len=300, query_len=200,
                         head_dim=64, dtype="bf16").to_mlir(backward=True)
    with pytest.raises(spa.MLIRError, match="backward-schedule = ws .* needs "
                       "TMA loads"):
        spa.compile(text, target="cuda:sm_90a", backward_schedule="ws",
                    tma=False)
    # auto falls back to the classic kernel where ws does not apply.
    spa.compile(text, target="cuda:sm_90a", tma=False)
    with pytest.raises(ValueError, match="backward-schedule"):
        spa.compile(text, target="cuda:sm_90a", backward_schedule="fast")


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_backward_ws_fused_query_gradient():
    # backward_schedule="ws" with deterministic=False: dQ is formed in the
    # warp-specialised dK/dV kernel (roles preprocess, dkdv_dq, dq_convert;
    # 384 threads, no dq kernel); the two consumer warpgroups exchange dS^T
    # on named barrier 1 at D = 128 only; a dQ writer warp issues the bulk
    # reductions. dq_accum is the same f32 scratch the classic atomic kernel
    # uses, with 64-column pieces.
    def kernels(head_dim, **options):
        artifact = _gradient_artifact(head_dim, deterministic=False, **options)
        return ({k["role"]: k["block"][0]
                 for k in artifact.metadata["kernels"]},
                "barrier.sync 1, 256;" in artifact.ptx,
                "cp.reduce.async.bulk.global.shared::cta" in artifact.ptx)

    for head_dim, exchange in ((64, False), (128, True)):
        roles, exchanged, reduced = kernels(head_dim, backward_schedule="ws")
        assert roles == {"forward": 128, "preprocess": 128, "dkdv_dq": 384,
                         "dq_convert": 128}
        assert exchanged == exchange and reduced
        # auto takes it too (faster than the classic atomic kernel at both
        # widths); classic keeps the one-warpgroup dkdv_dq kernel.
        assert kernels(head_dim)[0] == roles
        roles, exchanged, reduced = kernels(head_dim,
                                            backward_schedule="classic")
        assert roles["dkdv_dq"] == 128 and not exchanged and reduced


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_forward_schedule_option():
    # forward_schedule="overlap": the forward keeps a second wgmma group in
    # flight (wait_group 1) and a ring of three K/V stages (more shared
    # memory than the serial chained kernel); "auto" and "serial" never do.
    # Where it does not apply: a located MLIRError; a bad value: ValueError.
    layer = spa.LayerSpec(heads=4, kv_heads=2, seq_len=300, query_len=200,
                          head_dim=128, dtype="bf16", policy="local_plus_band")
    text = layer.to_mlir()

    def forward(**options):
        artifact = spa.compile(text, target="cuda:sm_90a", **options)
        (kernel,) = artifact.metadata["kernels"]
        return kernel["shared_bytes"], "wgmma.wait_group.sync.aligned 1" in \
            artifact.ptx

    overlap, serial, auto = (forward(forward_schedule=s)
                             for s in ("overlap", "serial", "auto"))
    assert overlap[1] and not serial[1] and not auto[1]
    assert auto == serial
    assert overlap[0] > serial[0]
    with pytest.raises(spa.MLIRError, match="forward-schedule = overlap needs "
                       "stages >= 2"):
        spa.compile(text, target="cuda:sm_90a", forward_schedule="overlap",
                    stages=1)
    f32 = spa.LayerSpec(heads=2, seq_len=100, head_dim=64).to_mlir()
    with pytest.raises(spa.MLIRError, match="needs the wgmma kernel"):
        spa.compile(f32, target="cuda:sm_90a", forward_schedule="overlap")
    with pytest.raises(ValueError, match="forward-schedule"):
        spa.compile(text, target="cuda:sm_90a", forward_schedule="pingpong")


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_forward_warp_specialized_option():
    # forward_schedule="ws": a producer warpgroup beside the consumers (512
    # threads with three consumer warpgroups, 384 with two, 256 with one),
    # registers moved by setmaxnreg, no block barrier in the key loop; the
    # contract's block is what the launcher launches.
    layer = spa.LayerSpec(heads=4, kv_heads=2, seq_len=300, query_len=200,
                          head_dim=128, dtype="bf16", policy="local_plus_band")
    text = layer.to_mlir()
    for warps, threads, registers in ((12, 512, 160), (8, 384, 240),
                                      (4, 256, 232)):
        artifact = spa.compile(text, target="cuda:sm_90a", warps=warps,
                               forward_schedule="ws")
        (kernel,) = artifact.metadata["kernels"]
        assert kernel["block"] == [threads, 1, 1]
        assert kernel["tile"] == [16 * warps, 64]
        assert f"setmaxnreg.inc.sync.aligned.u32 \t{registers};" in \
            artifact.ptx
        assert "setmaxnreg.dec.sync.aligned.u32 \t24;" in artifact.ptx
    with pytest.raises(spa.MLIRError, match="forward-schedule = ws needs TMA"):
        spa.compile(text, target="cuda:sm_90a", forward_schedule="ws",
                    tma=False)
    with pytest.raises(spa.MLIRError, match="forward-schedule = ws with 4 K/V "
                       "stages needs"):
        spa.compile(text, target="cuda:sm_90a", forward_schedule="ws",
                    stages=4)
    # Three consumer warpgroups are the plain ws forward's only: a located
    # error with another schedule, and in a module holding the gradient
    # (warps applies to every op).
    with pytest.raises(spa.MLIRError, match="warps = 12 .* needs "
                       "forward-schedule = ws; got forward-schedule = auto"):
        spa.compile(text, target="cuda:sm_90a", warps=12)
    with pytest.raises(spa.MLIRError, match="warps = 12 .* compile the "
                       "forward alone"):
        spa.compile(layer.to_mlir(backward=True), target="cuda:sm_90a",
                    warps=12, forward_schedule="ws")


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_split_keys_option():
    # split_keys=S: the forward's blocks split each item's keys over grid y
    # and write partials to scratch; a "combine" kernel writes the outputs.
    # The runtime allocates the scratch (f32, [S, B, Hq, Nq, Dv] and
    # [S, B, Hq, Nq, 2]) per call. Out of range: a located MLIRError.
    layer = spa.LayerSpec(batch=2, heads=8, kv_heads=2, seq_len=4096,
                          query_len=1, head_dim=128, dtype="bf16",
                          policy="exclusive_equal")
    artifact = spa.compile(layer.to_mlir(), target="cuda:sm_90a",
                           split_keys=4)
    forward, combine = artifact.metadata["kernels"]
    assert (forward["role"], combine["role"]) == ("forward", "combine")
    assert forward["grid"][1] == 4
    args = {a["name"]: a for a in forward["args"]}
    assert args["partial_out"]["kind"] == "scratch"
    assert args["partial_out"]["shape"] == [4, 2, 8, 1, 128]
    assert args["partial_stats"]["shape"] == [4, 2, 8, 1, 2]
    outputs = [a["name"] for a in combine["args"] if a["kind"] == "output"]
    assert outputs == ["output", "log_sum_exp"]
    from spa.runtime.cuda import op_launches
    launches = op_launches(artifact.metadata)
    assert [s["name"] for s in launches.scratch] == ["partial_out",
                                                     "partial_stats"]
    assert [o["name"] for o in launches.outputs] == ["output",
                                                     "log_sum_exp"]
    for bad in (0, 65):
        with pytest.raises(spa.MLIRError, match="split-keys must be 1 to 64"):
            spa.compile(layer.to_mlir(), target="cuda:sm_90a",
                        split_keys=bad)


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_l2_prefetch_options():
    # successor_prefetch=N (forward and backward kernels) and
    # score_grad_prefetch=N (the stored dS's dQ kernel) reach the kernels
    # from Python: L2 prefetches in the PTX, none by default; out-of-range
    # values are located MLIRErrors.
    layer = spa.LayerSpec(batch=1, heads=4, kv_heads=2, seq_len=300,
                          head_dim=128, dtype="bf16",
                          policy="exclusive_equal")
    text = layer.to_mlir(backward=True)  # forward and gradient ops
    default = spa.compile(text, target="cuda:sm_90a")
    assert "prefetch.tensor.4d.L2" not in default.ptx
    assert "cp.async.bulk.prefetch.L2" not in default.ptx
    ahead = spa.compile(text, target="cuda:sm_90a",
                        successor_prefetch=2, score_grads="store",
                        score_grad_prefetch=4)
    assert ahead.ptx.count("cp.async.bulk.prefetch.tensor.4d.L2") >= 5
    assert "cp.async.bulk.prefetch.L2.global" in ahead.ptx
    with pytest.raises(spa.MLIRError, match="successor-prefetch must be 0"):
        spa.compile(layer, target="cuda:sm_90a", successor_prefetch=-2)
    with pytest.raises(spa.MLIRError, match="score-grad-prefetch must be 0"):
        spa.compile(layer, target="cuda:sm_90a", score_grad_prefetch=17)


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_programmatic_launch_option():
    # programmatic_launch reaches every kernel from Python: each begins
    # with griddepcontrol.wait then launch_dependents (in the PTX) and its
    # launch.json entry says programmatic_launch, which the launcher's
    # KernelLaunch reads. "auto" (the default) is on for sm_90a and off
    # below; False turns it off; True below sm_90 is a located MLIRError.
    from spa.runtime import launcher as L
    layer = spa.LayerSpec(batch=1, heads=4, kv_heads=2, seq_len=300,
                          head_dim=128, dtype="bf16",
                          policy="exclusive_equal").to_mlir(backward=True)
    default = spa.compile(layer, target="cuda:sm_90a")
    plain = spa.compile(layer, target="cuda:sm_90a",
                        programmatic_launch=False)
    for flagged in (default,
                    spa.compile(layer, target="cuda:sm_90a",
                                programmatic_launch=True),
                    spa.compile(layer, target="cuda:sm_90a",
                                programmatic_launch="auto")):
        kernels = flagged.metadata["kernels"]
        assert [k["role"] for k in kernels] == \
            [k["role"] for k in plain.metadata["kernels"]]
        assert all(k.get("programmatic_launch") is True for k in kernels)
        assert flagged.ptx.count("griddepcontrol.wait") == len(kernels)
        assert flagged.ptx.count("griddepcontrol.launch_dependents") == \
            len(kernels)
    assert not any("programmatic_launch" in k
                   for k in plain.metadata["kernels"])
    assert "griddepcontrol" not in plain.ptx
    kernels = default.metadata["kernels"]
    slot_of = {a["name"]: i for i, a in enumerate(
        a for k in kernels for a in k["args"])}
    launch = L.kernel_launch(kernels[0], 1, slot_of, {"bounds": 0, "work": 0})
    assert launch.programmatic
    old = spa.compile(layer, target="cuda:sm_80")
    assert "griddepcontrol" not in old.ptx
    assert not any("programmatic_launch" in k
                   for k in old.metadata["kernels"])
    with pytest.raises(spa.MLIRError, match="programmatic-launch needs chip "
                       "sm_90 or sm_90a"):
        spa.compile(layer, target="cuda:sm_80", programmatic_launch=True)
    with pytest.raises(ValueError, match="programmatic-launch"):
        spa.compile(layer, target="cuda:sm_90a",
                    programmatic_launch="sometimes")


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_shared_stream_lse_option():
    # shared_stream_lse reaches the dK/dV kernel from Python: True (and
    # "auto", the default, for this stored-dS kernel) brings its lse by
    # 4-byte cp.async into 512 more bytes of shared memory, False does not,
    # and the launch contract carries the size; True asked of the
    # warp-specialised kernel is a located MLIRError.
    layer = spa.LayerSpec(batch=1, heads=4, kv_heads=2, seq_len=300,
                          head_dim=128, dtype="bf16",
                          policy="exclusive_equal")
    text = layer.to_mlir(backward=True)

    def dkdv(artifact):
        return next(k for k in artifact.metadata["kernels"]
                    if k["role"] == "dkdv")

    plain = spa.compile(text, target="cuda:sm_90a", score_grads="store",
                        shared_stream_lse=False, shared_stream_delta=False)
    staged = spa.compile(text, target="cuda:sm_90a", score_grads="store",
                         shared_stream_lse=True, shared_stream_delta=False)
    default = spa.compile(text, target="cuda:sm_90a", score_grads="store")
    assert "cp.async.ca.shared.global" not in plain.ptx
    assert "cp.async.ca.shared.global" in staged.ptx
    assert (dkdv(staged)["shared_bytes"]
            == dkdv(plain)["shared_bytes"] + 512)
    # Auto stages Delta too (shared_stream_delta's test).
    assert default.ptx == spa.compile(text, target="cuda:sm_90a",
                                      score_grads="store",
                                      shared_stream_lse=True,
                                      shared_stream_delta=True).ptx
    # The recomputing kernel stages both under auto at D = Dv = 128, warps
    # 4, tile-k 64 (measured faster) and keeps the global loads elsewhere.
    recompute = spa.compile(text, target="cuda:sm_90a",
                            score_grads="recompute")
    assert recompute.ptx == spa.compile(text, target="cuda:sm_90a",
                                        score_grads="recompute",
                                        shared_stream_lse=True,
                                        shared_stream_delta=True).ptx
    other = spa.compile(text, target="cuda:sm_90a", score_grads="recompute",
                        warps=8)
    assert "cp.async.ca.shared.global" not in other.ptx
    with pytest.raises(spa.MLIRError, match="shared-stream-lse applies to"):
        spa.compile(text, target="cuda:sm_90a", backward_schedule="ws",
                    shared_stream_lse=True)
    with pytest.raises(ValueError, match="shared-stream-lse"):
        spa.compile(text, target="cuda:sm_90a", shared_stream_lse="maybe")


def _zero_tail_layer_text():
    """exclusive_equal at N = 1024, H = 4, 64-row tiles, with its gradient:
    head h's first 4h query tiles reach no key (24 of 64 items a batch),
    and as many key tiles no query."""
    layer = spa.LayerSpec(batch=2, heads=4, kv_heads=4, seq_len=1024,
                          head_dim=128, dtype="bf16",
                          policy="exclusive_equal")
    return layer.to_mlir(backward=True)


def _grids_by_role(artifact):
    return {k["role"]: k["grid"][0] for k in artifact.metadata["kernels"]}


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_zero_tail_items_option():
    # zero_tail_items groups each kernel's zero tail: exclusive_equal at
    # N = 1024, H = 4, 64-row tiles: head h's first 4h query tiles reach no
    # key (24 of 64 items a batch), and as many key tiles no query; with 8
    # a block, the forward, dK/dV and dq_stored grids shrink by 24 - 3 a
    # batch. Auto keeps one a block. zero_tail_with_items=True has the blocks
    # of the 40 items with keys a batch write the tail instead (forward,
    # dK/dV and dq_stored). 65 is a located error, and so is asking for both
    # forms.
    text = _zero_tail_layer_text()
    grids = _grids_by_role
    one = grids(spa.compile(text, target="cuda:sm_90a", zero_tail_items=1,
                            zero_tail_with_items=False))
    auto = grids(spa.compile(text, target="cuda:sm_90a"))
    with_items = grids(spa.compile(text, target="cuda:sm_90a",
                                   zero_tail_with_items=True))
    grouped = grids(spa.compile(text, target="cuda:sm_90a",
                                zero_tail_items=8))
    assert one["forward"] == one["dkdv"] == one["dq_stored"] == 2 * 4 * 16
    assert auto == one
    for role in ("forward", "dkdv", "dq_stored"):
        assert with_items[role] == one[role] - 2 * 24, role
    for role in ("forward", "dkdv", "dq_stored"):
        assert grouped[role] == one[role] - 2 * 24 + 6, role
    assert grouped["preprocess"] == one["preprocess"] == with_items["preprocess"]
    with pytest.raises(spa.MLIRError, match="zero-tail-items must be 0"):
        spa.compile(text, target="cuda:sm_90a", zero_tail_items=65)
    with pytest.raises(spa.MLIRError, match="zero-tail-with-items = true"):
        spa.compile(text, target="cuda:sm_90a", zero_tail_items=8,
                    zero_tail_with_items=True)
    with pytest.raises(ValueError, match="zero-tail-with-items"):
        spa.compile(text, target="cuda:sm_90a", zero_tail_with_items="maybe")

@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_zero_tail_spread_option():
    # zero_tail_spread=True reorders the launch only (the tail's own blocks
    # spread among the items' blocks, spa/Planning/TailSpread.h): the same
    # grids as the default, other kernels (the block's list index is
    # computed), the default's kernels under False; with
    # zero_tail_with_items=True (no tail blocks to spread) a located error.
    text = _zero_tail_layer_text()
    grids = _grids_by_role
    auto = spa.compile(text, target="cuda:sm_90a")
    off = spa.compile(text, target="cuda:sm_90a", zero_tail_spread=False)
    spread = spa.compile(text, target="cuda:sm_90a", zero_tail_spread=True)
    assert grids(spread) == grids(auto) == grids(off)
    assert auto.ptx == off.ptx
    assert spread.ptx != auto.ptx
    with pytest.raises(spa.MLIRError, match="zero-tail-spread = true"):
        spa.compile(text, target="cuda:sm_90a", zero_tail_spread=True,
                    zero_tail_with_items=True)
    with pytest.raises(ValueError, match="zero-tail-spread"):
        spa.compile(text, target="cuda:sm_90a", zero_tail_spread="maybe")


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_shared_stream_delta_option():
    # shared_stream_delta reaches the dK/dV kernel from Python: True brings
    # its Delta by 4-byte cp.async into 256 more bytes of shared memory
    # (one buffer), beside the staged lse where that is on; "auto", the
    # default, takes both for this stored-dS kernel; True asked of mma.sync
    # is a located MLIRError.
    layer = spa.LayerSpec(batch=1, heads=4, kv_heads=2, seq_len=300,
                          head_dim=128, dtype="bf16",
                          policy="exclusive_equal")
    text = layer.to_mlir(backward=True)

    def dkdv(artifact):
        return next(k for k in artifact.metadata["kernels"]
                    if k["role"] == "dkdv")

    plain = spa.compile(text, target="cuda:sm_90a", score_grads="store",
                        shared_stream_lse=False, shared_stream_delta=False)
    delta = spa.compile(text, target="cuda:sm_90a", score_grads="store",
                        shared_stream_lse=False, shared_stream_delta=True)
    both = spa.compile(text, target="cuda:sm_90a", score_grads="store",
                       shared_stream_lse=True, shared_stream_delta=True)
    default = spa.compile(text, target="cuda:sm_90a", score_grads="store")
    assert "cp.async.ca.shared.global" not in plain.ptx
    assert "cp.async.ca.shared.global" in delta.ptx
    assert dkdv(delta)["shared_bytes"] == dkdv(plain)["shared_bytes"] + 256
    assert dkdv(both)["shared_bytes"] == dkdv(plain)["shared_bytes"] + 768
    assert default.ptx == both.ptx
    # The recomputing kernel stages both under auto at D = Dv = 128, warps
    # 4, tile-k 64, and keeps the global loads at tile-k 32.
    recompute = spa.compile(text, target="cuda:sm_90a",
                            score_grads="recompute")
    assert "cp.async.ca.shared.global" in recompute.ptx
    other = spa.compile(text, target="cuda:sm_90a", score_grads="recompute",
                        tile_k=32)
    assert "cp.async.ca.shared.global" not in other.ptx
    with pytest.raises(spa.MLIRError, match="shared-stream-delta applies to"):
        spa.compile(text, target="cuda:sm_80", shared_stream_delta=True)
    with pytest.raises(ValueError, match="shared-stream-delta"):
        spa.compile(text, target="cuda:sm_90a", shared_stream_delta="maybe")


@pytest.mark.skipif(not _have_ptxas(), reason="needs the CUDA toolkit's ptxas")
def test_cuda_blocks_per_sm_option():
    # blocks_per_sm=n: the forward kernel's PTX asks ptxas for n blocks an
    # SM (.minnctapersm), so its registers fit 65536 / (n x 128); the cubin
    # says so. Values the SM cannot hold: a located MLIRError.
    layer = spa.LayerSpec(batch=1, heads=4, kv_heads=2, seq_len=300,
                          head_dim=128, dtype="bf16",
                          policy="exclusive_equal")
    default = spa.compile(layer, target="cuda:sm_90a")
    assert ".minnctapersm" not in default.ptx
    assert "min_blocks_per_sm" not in default.kernel
    artifact = spa.compile(layer, target="cuda:sm_90a", blocks_per_sm=4)
    assert ".minnctapersm 4" in artifact.ptx
    # The launch contract records it (what benchmarks report beside times).
    assert artifact.kernel["min_blocks_per_sm"] == 4
    assert artifact.cubin[:4] == b"\x7fELF"
    with pytest.raises(spa.MLIRError, match="blocks-per-sm must be 0"):
        spa.compile(layer, target="cuda:sm_90a", blocks_per_sm=17)
    with pytest.raises(spa.MLIRError, match="blocks-per-sm = 5 needs"):
        spa.compile(layer, target="cuda:sm_90a", blocks_per_sm=5)
