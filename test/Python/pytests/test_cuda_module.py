"""spa.compile(module, target="cuda:sm_90a", entry="main") on a model
imported through torch-mlir (issue #15): one CudaArtifact per attention op
(ptxas makes the cubins here), the host code JIT-compiled for the CPU with
its attention calls routed to a runner.

Without a GPU the host part runs with the CPU stand-in runner (the outlined
functions compiled for the CPU) and must match eager PyTorch to 1e-4 in f32
and a float64 NumPy computation of the model. The runner's inputs are
checked against torch's own q/k/v (the descriptor marshalling), runner
errors and bad answers against their messages, the default GPU runner
against its located error, and a saved module (host as a shared library)
against the same numbers after loading it without MLIR.
"""

import importlib.util
import zlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if importlib.util.find_spec("torch_mlir") is None:
    pytest.skip("torch-mlir is not installed", allow_module_level=True)

import spa  # noqa: E402
import spa.torch  # noqa: E402
import spa.torch_mlir  # noqa: E402
import spa_reference  # noqa: E402
from cuda_grad_support import needs_ptxas  # noqa: E402
from spa.runtime.cuda import op_launches  # noqa: E402
from spa.runtime.cuda_module import LocatedError, load_module  # noqa: E402
from torch_block import Block, TwoAttentions  # noqa: E402

pytestmark = needs_ptxas
TOL = 1e-4
TARGET = "cuda:sm_90a"


def rel(got, ref) -> float:
    return spa_reference.max_rel_error(np.asarray(got, np.float64), ref)


def fresh(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def block():
    """The issue's block: odd N (37), GQA 4:2, D 16, f32."""
    torch.manual_seed(zlib.crc32(b"cuda-module-block"))
    model = Block(32, 4, 2, 16, 16, policy="local_plus_band").eval()
    x = torch.randn(1, 37, 32)
    module = spa.torch_mlir.import_module(model, x)
    return model, x, module, spa.compile(module, target=TARGET, entry="main")


@pytest.fixture(scope="module")
def two():
    torch.manual_seed(zlib.crc32(b"cuda-module-two"))
    model = TwoAttentions(32, 37).eval()
    x = torch.randn(2, 37, 32)
    module = spa.torch_mlir.import_module(model, x)
    return model, x, module, spa.compile(module, target=TARGET, entry="main")


def contract(artifact):
    """(inputs, outputs) of the artifact's one op as (dtype, shape) rows."""
    launches = op_launches(artifact.metadata)
    return ([(a["dtype"], tuple(a["shape"])) for a in launches.inputs],
            [(a["dtype"], tuple(a["shape"])) for a in launches.outputs])


def test_block_has_one_artifact_with_the_ops_contract(block):
    _, _, _, cm = block
    assert isinstance(cm, spa.CudaModule)
    assert list(cm.artifacts) == ["main_attention_0"]
    call = cm.calls["main_attention_0"]
    # q [1, 4, 37, 16], k and v [1, 2, 37, 16] in; out and lse out.
    assert call.arguments == [("f32", (1, 4, 37, 16)),
                              ("f32", (1, 2, 37, 16)),
                              ("f32", (1, 2, 37, 16))]
    assert call.results[0] == ("f32", (1, 4, 37, 16))
    inputs, outputs = contract(cm.artifacts["main_attention_0"])
    assert inputs == call.arguments
    assert outputs == list(call.results)
    meta = cm.artifacts["main_attention_0"].metadata
    assert meta["chip"] == "sm_90a"
    assert cm.artifacts["main_attention_0"].cubin[:4] == b"\x7fELF"
    # The op's location is the model's attention call.
    assert "torch_block.py" in call.location


def test_block_matches_eager_with_the_cpu_stand_in(block):
    model, x, _, cm = block
    runner = cm.cpu_runner()
    with torch.no_grad():
        assert rel(cm(x.numpy(), runner=runner), model(x).numpy()) < TOL
        y = fresh(x.shape, 1)
        got = cm(y.numpy(), runner=runner)
        assert rel(got, model(y).numpy()) < TOL
    assert rel(got, model.reference(y)) < TOL


def test_nan_in_the_input_propagates_as_in_eager(block):
    """A NaN token reaches the outputs eager PyTorch says it reaches (its
    own row, the rows attending to it and, through 0 x NaN in tile products,
    possibly others of its tiles: docs/design.md), through the host code
    and the runner's copies; never dropped."""
    model, x, _, cm = block
    y = fresh(x.shape, 4)
    y[0, 5, 3] = float("nan")
    got = cm(y.numpy(), runner=cm.cpu_runner())
    with torch.no_grad():
        eager = model(y).numpy()
    assert np.isnan(got[0, 5]).all()
    assert np.array_equal(np.isnan(got), np.isnan(eager))


def test_runner_sees_torchs_q_k_v(block):
    """The arrays handed to the runner are the projections torch computes
    (independent of the descriptor reading they go through)."""
    model, x, _, cm = block
    stand_in, seen = cm.cpu_runner(), []

    def runner(name, arrays):
        seen.append((name, arrays))
        return stand_in(name, arrays)

    cm(x.numpy(), runner=runner)
    assert [name for name, _ in seen] == ["main_attention_0"]
    q, k, v = seen[0][1]
    with torch.no_grad():
        hq, hk, d, dv = model.shape
        expect = (model.split(model.q(x), hq, d), model.split(model.k(x), hk, d),
                  model.split(model.v(x), hk, dv))
    for got, ref in zip((q, k, v), expect):
        assert got.dtype == np.float32 and got.flags.c_contiguous
        assert rel(got, ref.double().numpy()) < 1e-5


def test_two_attentions_two_artifacts_with_their_bands(two):
    model, x, _, cm = two
    assert list(cm.artifacts) == ["main_attention_0", "main_attention_1"]
    bands = [a.metadata["kernels"][0]["bands"] for a in cm.artifacts.values()]
    assert bands[0] != bands[1]
    assert bands[1] == "#spa.bands<causal, [0:5], [5:37]>"
    first, second = (cm.calls[n] for n in cm.artifacts)
    assert first.arguments[0] == ("f32", (2, 4, 37, 16))
    assert second.arguments == [("f32", (2, 2, 37, 16)),
                                ("f32", (2, 1, 37, 16)),
                                ("f32", (2, 1, 37, 32))]
    for name, call in cm.calls.items():
        inputs, outputs = contract(cm.artifacts[name])
        assert inputs == call.arguments and outputs == list(call.results)
    runner = cm.cpu_runner()
    y = fresh(x.shape, 2)
    got = cm(y.numpy(), runner=runner)
    with torch.no_grad():
        assert rel(got, model(y).numpy()) < TOL
    assert rel(got, model.reference(y)) < TOL


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_without_gpu_the_default_runner_is_a_located_error(block):
    _, x, _, cm = block
    with pytest.raises(LocatedError) as info:
        cm(x.numpy())
    message = str(info.value)
    assert "torch_block.py" in info.value.locations[0]
    assert "@main_attention_0 is compiled for the GPU" in message
    assert "runner=module.cpu_runner()" in message


def test_runner_errors_are_raised_not_crashes(block):
    _, x, _, cm = block

    def failing(name, arrays):
        raise KeyError(f"no kernel for {name}")

    with pytest.raises(KeyError, match="no kernel for main_attention_0"):
        cm(x.numpy(), runner=failing)

    def wrong_shape(name, arrays):
        q = arrays[0]
        return (np.zeros(q.shape[:-1] + (3,), np.float32),
                np.zeros(q.shape[:-1], np.float32))

    with pytest.raises(ValueError, match=r"@main_attention_0 result #0: "
                       r"expected shape \(1, 4, 37, 16\)"):
        cm(x.numpy(), runner=wrong_shape)

    def wrong_dtype(name, arrays):
        return tuple(np.zeros(s, np.float64) for _, s in
                     cm.calls[name].results)

    with pytest.raises(TypeError, match="expected dtype float32"):
        cm(x.numpy(), runner=wrong_dtype)
    # Still usable afterwards.
    cm(x.numpy(), runner=cm.cpu_runner())


def test_saved_module_runs_without_the_jit(block, tmp_path):
    """save() links the host as a shared library; load_module runs it
    through ctypes (no MLIR), here with the compiled module's stand-in."""
    model, x, _, cm = block
    path = cm.save(str(tmp_path / "block"))
    loaded = load_module(path)
    assert list(loaded.artifacts) == ["main_attention_0"]
    assert (loaded.artifacts["main_attention_0"].cubin
            == cm.artifacts["main_attention_0"].cubin)
    y = fresh(x.shape, 3)
    got = loaded(y.numpy(), runner=cm.cpu_runner())
    with torch.no_grad():
        assert rel(got, model(y).numpy()) < TOL
    with pytest.raises(RuntimeError, match="needs spa's compiler"):
        loaded.cpu_runner()


def test_module_without_attention_is_a_located_error():
    text = """func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
      %y = arith.addf %x, %x : tensor<4xf32>
      return %y : tensor<4xf32>
    }"""
    with pytest.raises(spa.MLIRError, match="no spa.attention"):
        spa.compile(text, target=TARGET, entry="main")
    with pytest.raises(spa.MLIRError, match="no public function @forward"):
        spa.compile(text, target=TARGET, entry="forward")


# Hand-written modules: host code (arith around the op) in each dtype and
# odd geometries, checked against float64 NumPy. The CPU stand-in computes
# the attention; what is under test is the split, the artifacts' contracts
# and the marshalling of each element type.
TEXT_CASES = [
    # id, dtype, B, Hq, Hkv, Nq, Nk, D, Dv, mode, bands, tolerance
    ("f32_n1", "f32", 1, 2, 2, 1, 1, 16, 16, "causal", [[(0, 1)], []], 1e-5),
    ("f16_gqa_empty_head_dv", "f16", 2, 4, 2, 37, 37, 16, 32, "causal",
     [[(0, 5)], [], [(3, 9), (20, 40)], [(0, 1), (2, 3)]], 5e-3),
    ("bf16_rows_without_keys_nq_lt_nk", "bf16", 1, 2, 1, 30, 45, 32, 16,
     "causal", [[(40, 45)], [(0, 3)]], 3e-2),
    ("f32_bidirectional", "f32", 1, 2, 2, 20, 45, 16, 16, "bidirectional",
     [[(0, 4)], [(4, 30)]], 1e-5),
]


def attention_text(case):
    """@main(q, k, v) -> (out * out, lse) of attention(2q, k, v)."""
    _, t, b, hq, hk, nq, nk, d, dv, mode, bands, _ = case
    from spa.layer import bands_attr
    q_t, k_t = f"tensor<{b}x{hq}x{nq}x{d}x{t}>", f"tensor<{b}x{hk}x{nk}x{d}x{t}>"
    v_t, o_t = f"tensor<{b}x{hk}x{nk}x{dv}x{t}>", f"tensor<{b}x{hq}x{nq}x{dv}x{t}>"
    l_t = f"tensor<{b}x{hq}x{nq}xf32>"
    return f"""
func.func @main(%q: {q_t}, %k: {k_t}, %v: {v_t}) -> ({o_t}, {l_t}) {{
  %q2 = arith.addf %q, %q : {q_t}
  %e = tensor.empty() : {o_t}
  %l = tensor.empty() : {l_t}
  %o:2 = spa.attention bands({bands_attr(mode, bands)})
      ins(%q2, %k, %v : {q_t}, {k_t}, {v_t}) outs(%e, %l : {o_t}, {l_t})
      -> {o_t}, {l_t}
  %r = arith.mulf %o#0, %o#0 : {o_t}
  return %r, %o#1 : {o_t}, {l_t}
}}"""


def numpy_dtype(t):
    import ml_dtypes
    return {"f32": np.float32, "f16": np.float16,
            "bf16": ml_dtypes.bfloat16}[t]


@pytest.mark.parametrize("case", TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_text_module_dtypes_and_geometries(case):
    name, t, b, hq, hk, nq, nk, d, dv, mode, bands, tol = case
    cm = spa.compile(attention_text(case), target=TARGET, entry="main")
    (fn, artifact), = cm.artifacts.items()
    inputs, outputs = contract(artifact)
    assert inputs == [(t, (b, hq, nq, d)), (t, (b, hk, nk, d)),
                      (t, (b, hk, nk, dv))]
    assert outputs == [(t, (b, hq, nq, dv)), ("f32", (b, hq, nq))]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    npdt = numpy_dtype(t)
    q, k, v = (rng.standard_normal(s).astype(npdt) for s in
               ((b, hq, nq, d), (b, hk, nk, d), (b, hk, nk, dv)))
    out, lse = cm(q, k, v, runner=cm.cpu_runner())
    assert out.dtype == npdt and lse.dtype == np.float32
    ref_out, ref_lse = spa_reference.attention(
        2 * q.astype(np.float64), k, v, bands, mode)
    assert rel(out, ref_out * ref_out) < tol
    assert rel(lse, ref_lse) < max(tol, 1e-5)
    # Rows without keys: out 0, lse -inf, as the op defines.
    empty = np.isneginf(ref_lse)
    assert np.array_equal(np.isneginf(lse), empty)
    assert not np.asarray(out, np.float64)[empty].any()


def test_forward_and_gradient_ops_outline_to_two_artifacts():
    """spa.attention then spa.attention_grad (bf16, D = Dv = 64, GQA,
    Nq != Nk) in one function: two artifacts, the gradient's with its
    two kernels, and the gradients of the float64 definition."""
    import ml_dtypes
    from spa.layer import bands_attr
    b, hq, hk, nq, nk, d = 1, 4, 2, 40, 70, 64
    bands = [[(0, 10)], [(10, 30)], [(30, 70)], [(0, 3), (5, 8)]]
    attr = bands_attr("causal", bands)
    t = "bf16"
    q_t, k_t = f"tensor<{b}x{hq}x{nq}x{d}x{t}>", f"tensor<{b}x{hk}x{nk}x{d}x{t}>"
    l_t = f"tensor<{b}x{hq}x{nq}xf32>"
    text = f"""
func.func @main(%q: {q_t}, %k: {k_t}, %v: {k_t}, %do: {q_t})
    -> ({q_t}, {k_t}, {k_t}) {{
  %l = tensor.empty() : {l_t}
  %o:2 = spa.attention bands({attr}) ins(%q, %k, %v : {q_t}, {k_t}, {k_t})
      outs(%q, %l : {q_t}, {l_t}) -> {q_t}, {l_t}
  %g:3 = spa.attention_grad bands({attr})
      ins(%q, %k, %v, %o#0, %o#1, %do : {q_t}, {k_t}, {k_t}, {q_t}, {l_t}, {q_t})
      outs(%q, %k, %v : {q_t}, {k_t}, {k_t}) -> {q_t}, {k_t}, {k_t}
  return %g#0, %g#1, %g#2 : {q_t}, {k_t}, {k_t}
}}"""
    cm = spa.compile(text, target=TARGET, entry="main")
    assert list(cm.artifacts) == ["main_attention_0", "main_attention_1"]
    roles = [k["role"] for k in
             cm.artifacts["main_attention_1"].metadata["kernels"]]
    assert roles == ["dq", "dkdv"]
    inputs, outputs = contract(cm.artifacts["main_attention_1"])
    assert [s for _, s in inputs] == [(b, hq, nq, d), (b, hk, nk, d),
                                      (b, hk, nk, d), (b, hq, nq, d),
                                      (b, hq, nq), (b, hq, nq, d)]
    assert [s for _, s in outputs] == [(b, hq, nq, d), (b, hk, nk, d),
                                       (b, hk, nk, d)]
    rng = np.random.default_rng(7)
    q, k, v, do = (rng.standard_normal(s).astype(ml_dtypes.bfloat16) for s in
                   ((b, hq, nq, d), (b, hk, nk, d), (b, hk, nk, d),
                    (b, hq, nq, d)))
    dq, dk, dv = cm(q, k, v, do, runner=cm.cpu_runner())
    # The gradient op reads the bf16-rounded forward output: bf16's
    # tolerance of test_attention_grad.py against the float64 gradients.
    ref = spa_reference.attention_grad_reference(q, k, v, do, bands)
    for got, want in zip((dq, dk, dv), ref):
        assert got.dtype == ml_dtypes.bfloat16
        assert rel(got, want) < 1.5e-2
