"""Strided q, k, v on the GPU path, without a GPU (issues #11/#12).

- spa.torch.layouts: which views the kernels read in place (token-major,
  slices of a fused qkv projection, padded rows), which fall back to a
  contiguous copy (non-unit innermost stride, misaligned rows, overlapping
  or negative strides), size-1 dimensions normalised, outputs in their
  inputs' dimension order;
- the kernel configuration (the cache key) carries the strides, the fake
  kernels return the real kernels' layouts (torch.compile), and the CUDA
  path hands the kernels the caller's views without copies (the fallback
  with one);
- the runtime's per-call check: strides from launch.json, a wrong stride
  is a located error (misaligned pointers: test_torch_launch.py), outputs
  get the contract's layout;
- LayerSpec.layouts writes the memref-level layer; with the compiler, its
  CUDA artifact's launch.json lists the strides the configuration asked
  for, and its argument check accepts exactly those views.
"""

import json
import shutil

import pytest

torch = pytest.importorskip("torch")

import spa.torch.cuda as spa_cuda  # noqa: E402
from spa.arguments import check_tensors  # noqa: E402
from spa.layer import Layouts, LayerSpec  # noqa: E402
from spa.runtime.cuda import CudaLayer, op_launches  # noqa: E402
from spa.torch import layouts  # noqa: E402
from spa.torch.config import KernelConfig  # noqa: E402
from spa.torch.precompile import config_from  # noqa: E402

B, N, H, D = 2, 130, 4, 64


def model_views(b=B, n=N, hq=H, hk=H, d=D, dv=D, dtype=torch.bfloat16,
                device="meta", extra=0):
    """q, k token-major, v a slice of a fused qkv projection (the model's
    call, examples/gpt_model.py); `extra` widens the fused row."""
    q = torch.empty(b, n, hq, d, dtype=dtype, device=device).transpose(1, 2)
    k = torch.empty(b, n, hk, d, dtype=dtype, device=device).transpose(1, 2)
    qkv = torch.empty(b, n, hq * d + hk * d + hk * dv + extra, dtype=dtype,
                      device=device)
    v = qkv[..., (hq + hk) * d:(hq + hk) * d + hk * dv].unflatten(
        -1, (hk, dv)).transpose(1, 2)
    return q, k, v


# --- which layouts are read in place --------------------------------------

def test_usable_strides():
    usable = layouts.usable_strides
    q, _, v = model_views()
    assert usable(q.shape, q.stride(), 2) == (N * H * D, D, H * D, 1)
    assert usable(v.shape, v.stride(), 2) == (N * 3 * H * D, D, 3 * H * D, 1)
    contiguous = (H * N * D, N * D, D, 1)
    assert usable((B, H, N, D), contiguous, 2) == contiguous
    # Column stride 2, a token stride of 196 bf16 (392 bytes), a head
    # stride of 66 f32, negative and overlapping strides: copied.
    assert usable((B, H, N, D), (H * N * D, N * D, 1, N), 2) is None
    assert usable((B, H, N, D), (N * 196 * 4, 196, 196 * 4, 1), 2) is None
    assert usable((B, H, N, D), (N * 66 * 4, 66, 66 * 4, 1), 4) is None
    assert usable((B, H, N, D), (N * 68 * 4, 68, 68 * 4, 1), 4) is not None
    assert usable((B, H, N, D), (H * N * D, -N * D, D, 1), 2) is None
    broadcast = torch.empty(B, 1, N, D, device="meta").expand(B, H, N, D)
    assert usable(broadcast.shape, broadcast.stride(), 4) is None
    assert usable((B, H, N, D), (N * D, N * D // 2, D, 1), 2) is None


def test_size_one_dimensions_are_normalised():
    # B = 1, N = 1: the strides torch reports there never move an address.
    a = layouts.usable_strides((1, H, 1, D), (12345, D, 7, 1), 2)
    b = layouts.usable_strides((1, H, 1, D), (999, D, H * D, 1), 2)
    assert a == b == (H * D, D, D, 1)
    # One head, token-major: the contiguous layout; no strided config.
    q = torch.empty(B, N, 1, D, device="meta").transpose(1, 2)
    assert layouts.plan_strides(q, q, q) == ()


def test_outputs_follow_their_inputs():
    q, k, v = model_views(hk=2, dv=32)
    strides = layouts.plan_strides(q, k, v)
    lay = layouts.layouts_of(B, H, 2, N, N, D, 32, strides)
    token_major = (N * H * D, D, H * D, 1)
    assert lay.query == lay.query_grad == token_major
    assert lay.output == lay.output_grad == (N * H * 32, 32, H * 32, 1)
    assert lay.key == lay.key_grad == (N * 2 * D, D, 2 * D, 1)
    # v's fused-row gaps are not copied into dv: dense, v's order.
    assert lay.value == (N * (H * D + 2 * D + 64), 32, H * D + 2 * D + 64, 1)
    assert lay.value_grad == (N * 2 * 32, 32, 2 * 32, 1)
    # y.transpose(1, 2).reshape(b, n, h * d) of such an out is a view.
    out = torch.empty_strided((B, H, N, 32), lay.output)
    y = out.transpose(1, 2).reshape(B, N, H * 32)
    assert y.data_ptr() == out.data_ptr() and y.is_contiguous()


def test_kernel_config_carries_the_strides():
    q, k, v = model_views()
    cfg = KernelConfig.from_tensors("cuda:sm_90a", q, k, v, "bf16", (),
                                    "local_plus_band", "causal", -1, 0.125)
    assert cfg.strides == (N * H * D, D, H * D, 1) * 2 + (
        N * 3 * H * D, D, 3 * H * D, 1)
    assert "strides q=[33280, 64, 256, 1]" in cfg.describe()
    assert cfg.layer_spec().strided()
    # The CPU JIT takes contiguous arrays: no strides, the old key.
    on_cpu = KernelConfig.from_tensors("cpu", q, k, v, "bf16", (),
                                       "local_plus_band", "causal", -1, 0.125)
    assert on_cpu.strides == () and not on_cpu.layer_spec().strided()
    contiguous = tuple(torch.empty(t.shape, device="meta") for t in (q, k, v))
    plain = KernelConfig.from_tensors("cuda:sm_90a", *contiguous, "bf16", (),
                                      "local_plus_band", "causal", -1, 0.125)
    assert plain.strides == () and plain.key() != cfg.key()
    # Unusable v (fused row of 4 extra elements): v contiguous, q/k not.
    q, k, v = model_views(extra=4)
    cfg = KernelConfig.from_tensors("cuda:sm_90a", q, k, v, "bf16", (),
                                    "local_plus_band", "causal", -1, 0.125)
    assert cfg.strides[8:] == (H * N * D, N * D, D, 1)


def test_precompile_checks_strides():
    entry = dict(target="cuda:sm_90a", batch=B, heads=H, seq_len=N,
                 head_dim=D, dtype="bf16", policy="exclusive_equal")
    q, k, v = model_views()
    ok = config_from(dict(entry, strides=[list(t.stride())
                                          for t in (q, k, v)]))
    assert ok.strides == layouts.plan_strides(q, k, v)
    with pytest.raises(ValueError, match=r"--strides: v strides \[1, 2, 3, "
                       r"4\] for shape \[2, 4, 130, 64\] cannot be read in "
                       "place"):
        config_from(dict(entry, strides=[list(q.stride()), list(k.stride()),
                                         [1, 2, 3, 4]]))
    with pytest.raises(ValueError, match="three lists of four ints"):
        config_from(dict(entry, strides=[[1, 2, 3, 4]]))
    with pytest.raises(ValueError, match="cuda targets only"):
        config_from(dict(entry, target="cpu", strides=[list(q.stride())] * 3))


# --- the custom op: fake layouts, views handed over without copies --------

def test_fake_kernels_return_the_real_layouts():
    from torch._subclasses.fake_tensor import FakeTensorMode
    import spa.torch  # noqa: F401 - registers the ops
    with FakeTensorMode():
        q, k, v = model_views(device="cuda", hk=2)
        out, lse = torch.ops.spa.attention(q, k, v, [], "exclusive_equal",
                                           "causal", -1, 0.125, False)
        lay = layouts.call_layouts(q, k, v)
        assert out.stride() == lay.output == q.stride()
        assert lse.is_contiguous()
        dq, dk, dv = torch.ops.spa.attention_backward(
            out, None, q, k, v, out, lse, [], "exclusive_equal", "causal",
            -1, 0.125)
        assert (dq.stride(), dk.stride(), dv.stride()) == (
            lay.query_grad, lay.key_grad, lay.value_grad)
        assert dk.stride() == k.stride()
        # CPU tensors: contiguous, as the CPU JIT returns them.
        q, k, v = model_views(device="cpu", dtype=torch.float32)
        out, _ = torch.ops.spa.attention(q, k, v, [], "exclusive_equal",
                                         "causal", -1, 0.125, False)
        assert out.is_contiguous()


class Recorder:
    """Stands in for a CudaLayer: records what it is called with."""

    def __init__(self):
        self.calls = []

    def __call__(self, *tensors):
        self.calls.append(tensors)
        return tensors[0]


@pytest.fixture
def recorded(monkeypatch):
    fwd, grad = Recorder(), Recorder()
    monkeypatch.setattr(spa_cuda, "layers", lambda config, device: (fwd,
                                                                     grad))
    return fwd, grad


def _plan(cfg):
    from spa.torch.plans import CudaPlan
    return CudaPlan(cfg, torch.device("cpu"))


def _config(q, k, v):
    return KernelConfig.from_tensors("cuda:sm_90a", q, k, v, "bf16", (),
                                     "exclusive_equal", "causal", -1, 0.125)


def test_views_reach_the_kernels_without_copies(recorded):
    fwd, grad = recorded
    q, k, v = model_views(device="cpu")
    cfg = _config(q, k, v)
    _plan(cfg).forward(q, k, v)
    (given,) = fwd.calls
    assert all(a is b for a, b in zip(given, (q, k, v)))
    lay = cfg.layouts()
    out = torch.empty_strided((B, H, N, D), lay.output, dtype=q.dtype)
    dout = torch.empty_strided((B, H, N, D), lay.output_grad, dtype=q.dtype)
    lse = torch.empty(B, H, N)
    _plan(cfg).backward(q, k, v, out, lse, dout)
    (given,) = grad.calls
    assert all(a is b for a, b in zip(given, (q, k, v, out, lse, dout)))


def test_unusable_and_mismatched_tensors_are_copied(recorded):
    fwd, grad = recorded
    q, k, v = model_views(device="cpu", extra=4)  # v: unusable token stride
    q.normal_(), k.normal_(), v.normal_()
    cfg = _config(q, k, v)
    _plan(cfg).forward(q, k, v)
    (given,) = fwd.calls
    assert given[0] is q and given[1] is k and given[2] is not v
    assert given[2].is_contiguous() and torch.equal(given[2], v)
    # dout in another layout than out's: copied into out's layout.
    lay = cfg.layouts()
    out = torch.empty_strided((B, H, N, D), lay.output, dtype=q.dtype)
    dout = torch.randn(B, H, N, D).to(q.dtype)  # contiguous
    _plan(cfg).backward(q, k, v, out, torch.empty(B, H, N), dout)
    (given,) = grad.calls
    assert given[5] is not dout and torch.equal(given[5], dout)
    assert given[5].stride() == lay.output_grad


def test_misaligned_pointer_is_copied_into_the_layout():
    base = torch.randn(B, N, 3 * H * D + 8).to(torch.bfloat16)
    v = base[..., 4:4 + H * D].unflatten(-1, (H, D)).transpose(1, 2)
    assert v.data_ptr() % 16 and layouts.usable_strides(v.shape, v.stride(),
                                                        2)
    got = layouts.as_layout(v, v.stride())
    assert got.data_ptr() % 16 == 0 and got.stride() == v.stride()
    assert torch.equal(got, v)


# --- the runtime's check and allocation ------------------------------------

def _spec(name, shape, strides, kind="input"):
    return {"name": name, "kind": kind, "dtype": "bf16", "shape": list(shape),
            "strides": list(strides)}


def test_runtime_checks_strides():
    q, k, v = model_views(device="cpu")
    specs = [_spec(n, t.shape, t.stride()) for n, t in
             zip(("query", "key", "value"), (q, k, v))]
    check_tensors("spa_attention_0", "inputs", [q, k, v], specs, "cpu")
    with pytest.raises(ValueError, match=r"argument #1 \(key\): expected "
                       r"strides \(33280, 64, 256, 1\), the layout the kernel "
                       r"was compiled for, got \(33280, 8320, 64, 1\)"):
        check_tensors("k", "inputs", [q, k.contiguous(), v], specs, "cpu")
    contiguous = [_spec("query", q.shape, q.contiguous().stride())]
    with pytest.raises(ValueError, match=r"argument #0 \(query\): expected a "
                       r"contiguous tensor, got strides \(33280, 64, 256, "
                       r"1\); call \.contiguous\(\)"):
        check_tensors("k", "inputs", [q], contiguous, "cpu")
    # Strides of size-1 dimensions are free.
    one = torch.empty(1, H, 1, D, dtype=torch.bfloat16)
    odd = one.as_strided(one.shape, (5, D, 3, 1))
    check_tensors("k", "inputs", [odd], [_spec("query", one.shape,
                                               one.stride())], "cpu")
    token_major = torch.empty(1, N, H, D, dtype=torch.bfloat16)
    check_tensors("k", "inputs", [token_major.transpose(1, 2)],
                  [_spec("query", (1, H, N, D), (12345, D, H * D, 1))],
                  "cpu")


def test_runtime_allocates_outputs_in_the_contract_layout():
    """CudaLayer allocates each output as (shape, strides): the contract's
    strides where launch.json has them, else torch's contiguous ones
    (spa.layer.contiguous_strides, also for size-0 and size-1
    dimensions)."""
    from spa.layer import contiguous_strides
    from spa.runtime.cuda import _strides
    strides = (N * H * D, D, H * D, 1)
    spec = _spec("output", (B, H, N, D), strides, "output")
    assert _strides(spec) == strides
    out = torch.empty_strided(spec["shape"], _strides(spec),
                              dtype=torch.bfloat16)
    assert out.stride() == strides
    assert _strides({"name": "log_sum_exp"}) is None
    for shape in ([B, H, N], [1, H, 1, D], [B, 0, N, D], [1], [3, 1, 1]):
        assert contiguous_strides(shape) == torch.empty(shape).stride(), shape


def test_kernels_of_one_op_must_agree_on_a_layout():
    a = _spec("query", (B, H, N, D), (N * H * D, D, H * D, 1))
    b = _spec("query", (B, H, N, D), (H * N * D, N * D, D, 1))
    meta = {"kernels": [{"name": "x", "op": 0, "args": [a]},
                        {"name": "y", "op": 0, "args": [b]}]}
    with pytest.raises(ValueError, match="y: argument 'query' is input bf16 "
                       r"\[2, 4, 130, 64\] strides \[33280, 8320, 64, 1\] but "
                       r"input bf16 \[2, 4, 130, 64\] strides \[33280, 64, "
                       r"256, 1\]"):
        op_launches(meta)


# --- the IR front end -------------------------------------------------------

def test_layer_spec_layouts():
    plain = LayerSpec(heads=2, seq_len=8, head_dim=16, dtype="bf16")
    same = LayerSpec(heads=2, seq_len=8, head_dim=16, dtype="bf16",
                     layouts=Layouts(query=(256, 128, 16, 1)))
    assert not same.strided() and same.to_mlir() == plain.to_mlir()
    strided = LayerSpec(heads=2, seq_len=8, head_dim=16, dtype="bf16",
                        layouts=Layouts(query=(256, 16, 32, 1)))
    text = strided.to_mlir(backward=True)
    assert ("func.func @layer(%q: memref<1x2x8x16xbf16, strided<[256, 16, "
            "32, 1]>>, %k: memref<1x2x8x16xbf16>") in text
    assert "%l: memref<1x2x8xf32>) {" in text
    assert "func.func @layer_grad(" in text and "tensor" not in text
    with pytest.raises(ValueError, match="static seq_len"):
        LayerSpec(heads=2, seq_len=None, head_dim=16,
                  layouts=Layouts(query=(1, 2, 3, 1))).to_mlir()
    with pytest.raises(TypeError, match=r"layouts.key must be four strides"):
        Layouts(key=(1, 2, 3))
    with pytest.raises(ValueError, match=r"layouts.key\[0\] must be at least "
                       "0, got -1"):
        Layouts(key=(-1, 2, 3, 1))


def _compiler():
    try:
        import spa.compiler  # noqa: F401
    except ImportError:
        pytest.skip("needs the spa compiler (build/python_packages)")
    import spa
    return spa


def test_strided_layer_refuses_the_cpu_target():
    spa = _compiler()
    layer = LayerSpec(heads=2, seq_len=8, head_dim=16, dtype="bf16",
                      layouts=Layouts(query=(256, 16, 32, 1)))
    with pytest.raises(ValueError, match="CUDA targets only"):
        spa.compile(layer, target="cpu")


@pytest.mark.skipif(shutil.which("ptxas") is None and not __import__(
    "os").path.exists("/usr/local/cuda/bin/ptxas"), reason="needs ptxas")
def test_strided_artifact_contract():
    """The configuration spa.torch picks for the model's views compiles
    (forward and gradient kernels) into an artifact whose launch.json lists
    exactly the strides of the views and of the outputs' layouts."""
    _compiler()
    from spa.compiler import compile as spa_compile
    q, k, v = model_views(hk=2, dv=32, device="cpu")
    cfg = KernelConfig.from_tensors("cuda:sm_90a", q, k, v, "bf16", (),
                                    "exclusive_equal", "causal", -1, 0.125)
    artifact = spa_compile(cfg.mlir(), target=cfg.target)
    lay = cfg.layouts()
    want = {"query": lay.query, "key": lay.key, "value": lay.value,
            "output": lay.output, "output_grad": lay.output_grad,
            "query_grad": lay.query_grad, "key_grad": lay.key_grad,
            "value_grad": lay.value_grad, "log_sum_exp": (H * N, N, 1),
            "delta": (H * N, N, 1)}
    seen = set()
    for kernel in artifact.metadata["kernels"]:
        for arg in kernel["args"]:
            if arg["name"] in want:
                assert tuple(arg["strides"]) == want[arg["name"]], arg
                seen.add(arg["name"])
    assert seen == set(want)
    assert json.dumps(artifact.metadata)  # serialisable as launch.json

    # The layers' call path on CPU tensors with a recording launcher (as
    # test_torch_launch.py): the views go in as they are, the outputs come
    # out in the contract's layouts, a wrong layout is refused.
    class Launcher:
        def __init__(self, kernels, slots, context):
            self.calls = []

        def __call__(self, pointers, stream):
            self.calls.append(list(pointers))

    def stand_in(op):
        layer = CudaLayer.__new__(CudaLayer)
        layer.device = torch.device("cpu")
        count = len(op_launches(artifact.metadata, op).kernels)
        layer._prepare(artifact, op, list(range(1, count + 1)), 0, Launcher,
                       lambda index: 0)
        return layer
    fwd, grad = stand_in(0), stand_in(1)
    q, k, v = (_materialise(t) for t in (q, k, v))
    out, lse = fwd(q, k, v)
    assert fwd.launcher.calls[-1][:3] == [t.data_ptr() for t in (q, k, v)]
    assert out.stride() == lay.output and lse.is_contiguous()
    dq, dk, dv = grad(q, k, v, out, lse, out)
    assert (dq.stride(), dk.stride(), dv.stride()) == (
        lay.query_grad, lay.key_grad, lay.value_grad)
    fwd(q, k, v)  # the memoised signature still checks the layout
    with pytest.raises(ValueError, match=r"argument #2 \(value\): expected "
                       "strides"):
        fwd(q, k, v.contiguous())


def _materialise(view):
    """A CPU tensor with `view`'s shape and strides over real storage."""
    size = 1 + sum((n - 1) * s for n, s in zip(view.shape, view.stride()))
    return torch.zeros(size, dtype=view.dtype).as_strided(view.shape,
                                                          view.stride())
