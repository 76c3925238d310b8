"""The per-call path of spa.torch (issue #12: launch overhead), on this
machine without a GPU:

- libspa_launcher.so (lib/Launcher): its packing equals the Python
  launcher's for a real artifact's kernels; a launch through a recording
  driver passes exactly that, in the plan's context; every refusal
  (misaligned, null, wrong count, malformed plan) launches nothing; the
  library needs no other library.
- CudaLayer's call path on stand-in functions: pointers in slot order, the
  memoised argument check still refuses a changed dtype/shape/layout.
- spa.torch's eager fast path (CPU tensors, the real CPU JIT): bitwise the
  dispatcher's results, forward and gradients; a changed shape, dtype,
  band table, scale or mode gets its own plan; arguments that equal a
  cached call's but are of the wrong type are still refused; the op is
  dispatched under modes, compile and export; no double backward.
"""

import shutil
import subprocess

import pytest

torch = pytest.importorskip("torch")

import spa.torch as st  # noqa: E402
from spa.runtime import launcher as L  # noqa: E402
from spa.runtime.cuda import CudaLayer, op_launches  # noqa: E402
from spa.torch import fastpath, plans  # noqa: E402
from launch_recorder import MapEncoder as _MapEncoder  # noqa: E402
from launch_recorder import built_library_path  # noqa: E402
from launch_recorder import private_library_copy  # noqa: E402
from launch_recorder import Recorder as _Recorder  # noqa: E402
from launch_recorder import expected_pack as _expected_pack  # noqa: E402
from launch_recorder import read_params as _read_params  # noqa: E402



@pytest.fixture
def library(tmp_path):
    """A private copy (its driver pointers are its own), with a recording
    tensor-map encoder (for artifacts whose kernels take maps)."""
    library = L.LauncherLibrary(private_library_copy(tmp_path))
    library.test_encoder = _MapEncoder()
    library.set_tensor_map_encoder(library.test_encoder.address)
    return library


@pytest.fixture(scope="module")
def artifact():
    """A real forward + gradient artifact (compiled for sm_90a here: only
    its launch.json is used)."""
    from spa.compiler import compile as spa_compile
    from spa.torch.config import KernelConfig
    config = KernelConfig("cuda:sm_90a", 1, 4, 2, 48, 80, 64, 32, "bf16",
                          "causal", "", (4, 1, 0, 9, 0, 2, 3, 7, 20, 80, 1,
                                         1, 5), -1, 0.125)
    return spa_compile(config.mlir(), target=config.target)


def _kernel_launches(metadata, op):
    launches = op_launches(metadata, op)
    slots = launches.inputs + launches.outputs + launches.scratch
    slot_of = {s["name"]: i for i, s in enumerate(slots)}
    constants = {a["name"]: 0x7000_0000 + 0x100 * i
                 for i, a in enumerate(a for k in launches.kernels
                                       for a in k["args"]
                                       if a["kind"] == "constant")}
    kernels = [L.kernel_launch(k, 0xF000 + i, slot_of, constants)
               for i, k in enumerate(launches.kernels)]
    return kernels, len(slots)


def _pointers(slots, base=0x7F00_0000_0000):
    return [base + 0x10000 * i for i in range(slots)]


@pytest.mark.parametrize("op", [0, 1])
def test_compiled_packing_equals_python(library, artifact, op):
    kernels, slots = _kernel_launches(artifact.metadata, op)
    # The gradient op: dQ (with Delta), then dK/dV.
    assert len(kernels) == (1 if op == 0 else 2)
    plan = L.encode_plan(kernels, slots, context=0)
    pointers = _pointers(slots)
    got = library.pack(plan, pointers, stream=0x5150)
    assert got == _expected_pack(kernels, pointers, 0x5150)
    # Each kernel's arguments are its launch.json arguments, in order.
    by_slot = dict(enumerate(
        s["name"] for s in (lambda ls: ls.inputs + ls.outputs + ls.scratch)(
            op_launches(artifact.metadata, op))))
    for k, meta in zip(kernels, op_launches(artifact.metadata, op).kernels):
        assert [by_slot[arg[1]] if arg[0] == L.ARG_SLOT else
                by_slot[arg[1]] + " map" if arg[0] == L.ARG_TENSOR_MAP
                else a["name"] for arg, a in zip(k.args, meta["args"])] == \
            [a["of"] + " map" if a["kind"] == "tensor_map" else a["name"]
             for a in meta["args"]]


def test_compiled_launch_through_a_recording_driver(library, artifact):
    kernels, slots = _kernel_launches(artifact.metadata, 1)
    pointers = _pointers(slots)
    recorder = _Recorder(kernels, current=0xAAA0)
    recorder.install(library)
    launcher = L.CompiledLauncher(library, kernels, slots, context=0xBBB0)
    launcher(pointers, 0x5150)
    flat = [w for launch in recorder.launches for w in launch]
    assert flat == _expected_pack(kernels, pointers, 0x5150)
    # Launched in the plan's context, the caller's restored after.
    assert recorder.events == [("push", 0xBBB0)] + [
        ("launch", 0xBBB0)] * 2 + [("pop", 0xBBB0)]
    assert recorder.current == 0xAAA0
    # Already current: no push.
    recorder.events.clear()
    recorder.launches.clear()
    recorder.current = 0xBBB0
    launcher(pointers, 0)
    assert recorder.events == [("launch", 0xBBB0)] * 2


def test_compiled_launch_reports_the_failing_kernel(library, artifact):
    kernels, slots = _kernel_launches(artifact.metadata, 1)
    recorder = _Recorder(kernels, fail_at=1)
    recorder.install(library)
    launcher = L.CompiledLauncher(library, kernels, slots, context=0,
                                  error_name=lambda r: "CUDA_ERROR_X")
    with pytest.raises(RuntimeError, match=rf"cuLaunchKernel\("
                       rf"{kernels[1].name}\) failed: CUDA_ERROR_X \(700\)"):
        launcher(_pointers(slots), 0)
    assert len(recorder.launches) == 2  # the third is not tried


@pytest.mark.parametrize("spoil, message", [
    (lambda p, plan: (p[:1] + [p[1] + 8] + p[2:], plan), "16-byte aligned"),
    (lambda p, plan: ([0] + p[1:], plan), "pointer is 0"),
    (lambda p, plan: (p[:-1], plan), "wrong number of buffers"),
    (lambda p, plan: (p, _with(plan, 0, 0)), "malformed launch plan"),
    (lambda p, plan: (p, _with(plan, 1, len(plan) + 2)),
     "malformed launch plan"),
    (lambda p, plan: (p, _with(plan, L.PLAN_HEADER + 1, 0)), "grid or block"),
    (lambda p, plan: (p, _with(plan, L.PLAN_HEADER + 9, 65)),
     "more than 64 arguments"),
    (lambda p, plan: (p, _with(plan, L.PLAN_HEADER + 8, 2)),
     "malformed launch plan"),
    (lambda p, plan: (p, _with(plan, L.PLAN_HEADER + L.KERNEL_HEADER + 1,
                               99)), "past the end"),
])
def test_refusals_launch_nothing(library, artifact, spoil, message):
    kernels, slots = _kernel_launches(artifact.metadata, 1)
    plan = L.encode_plan(kernels, slots)
    pointers, bad_plan = spoil(_pointers(slots), list(plan))
    recorder = _Recorder(kernels)
    recorder.install(library)
    from array import array
    bad = array("q", bad_plan)
    code = library.lib.spa_launch_op(bad.buffer_info()[0],
                                     L._pack_pointers(pointers),
                                     len(pointers), 0)
    assert code < 0 and message in L.launch_error(code)
    assert recorder.launches == []
    # The cuda-python launcher refuses the same pointers.
    if bad_plan == list(plan):
        encoder = _MapEncoder()  # alive while the launcher calls it
        python = L.PythonLauncher(kernels, slots, 0, driver=_FakeCu(),
                                  tensor_map_encoder=encoder.address)
        with pytest.raises(RuntimeError, match=message):
            python(pointers, 0)


def _with(plan, index, value):
    plan = list(plan)
    plan[index] = value
    return plan


class _FakeCu:
    """The cuda-python calls PythonLauncher makes, recorded."""
    CUfunction = CUstream = CUcontext = staticmethod(lambda x=0: x)

    def __init__(self):
        self.launches, self.map_params = [], []
        self._flags = [0]  # the recorded flags word of each launch

    def cuLaunchKernel(self, f, gx, gy, gz, bx, by, bz, shared, stream,
                       params, extra):
        args = self._args[len(self.launches) % len(self._args)]
        values, maps = _read_params(params, args)
        self.map_params.append(maps)
        # PythonLauncher launches every kernel plainly (a programmatic
        # kernel's wait then returns at once); the compiled launcher's
        # record holds the kernel's flags word, taken here from the kernel.
        flags = self._flags[len(self.launches) % len(self._flags)]
        self.launches.append([f, gx, gy, gz, bx, by, bz, shared, flags,
                              stream, len(args), *values])
        return (0,)


def test_python_launcher_packs_what_the_compiled_one_does(library, artifact):
    for op in (0, 1):
        kernels, slots = _kernel_launches(artifact.metadata, op)
        pointers = _pointers(slots)
        cu = _FakeCu()
        cu._args = [k.args for k in kernels]
        # programmatic-launch is on by default for sm_90a.
        assert all(k.programmatic for k in kernels)
        cu._flags = [L.KERNEL_PROGRAMMATIC for k in kernels]
        L.PythonLauncher(kernels, slots, 0, driver=cu,
                         tensor_map_encoder=library.test_encoder.address)(
                             pointers, 0x77)
        flat = [w for launch in cu.launches for w in launch]
        plan = L.encode_plan(kernels, slots)
        assert flat == library.pack(plan, pointers, 0x77)


def test_python_launcher_launches_in_the_plans_context(artifact):
    kernels, slots = _kernel_launches(artifact.metadata, 0)
    cu = _FakeCu()
    cu._args = [k.args for k in kernels]
    events = []
    cu.current = 0xAAA0
    cu.cuCtxGetCurrent = lambda: (0, cu.current)
    cu.cuCtxPushCurrent = lambda ctx: events.append(("push", ctx)) or (0,)
    cu.cuCtxPopCurrent = lambda: events.append(("pop",)) or (0, 0)
    encoder = _MapEncoder()  # alive while the launcher calls it
    launcher = L.PythonLauncher(kernels, slots, 0xBBB0, driver=cu,
                                tensor_map_encoder=encoder.address)
    launcher(_pointers(slots), 0)
    assert events == [("push", 0xBBB0), ("pop",)]
    events.clear()
    cu.current = 0xBBB0
    launcher(_pointers(slots), 0)
    assert events == [] and len(cu.launches) == 2


def test_library_links_nothing():
    """Plain C without libc: loads on any x86-64 Linux with a driver."""
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("no nm")
    path = built_library_path()
    undefined = subprocess.run([nm, "-D", "--undefined-only", path],
                               capture_output=True, text=True, check=True)
    assert undefined.stdout.strip() == ""
    readelf = shutil.which("readelf")
    if readelf:
        dynamic = subprocess.run([readelf, "-d", path], capture_output=True,
                                 text=True, check=True).stdout
        assert "NEEDED" not in dynamic


def test_launcher_choice_and_status(monkeypatch, tmp_path):
    real = built_library_path()
    monkeypatch.setenv(L.ENV_MODE, "python")
    L.reset_for_tests()
    try:
        status = st.launch_path()
        assert status["launcher"] == "cuda-python"
        assert "SPA_LAUNCHER=python" in status["reason"]
        assert status["eager_fast_path"] is fastpath.enabled()
        monkeypatch.delenv(L.ENV_MODE)
        monkeypatch.setenv(L.ENV_LIB, str(tmp_path / "nowhere.so"))
        assert L.library_path() == str(tmp_path / "nowhere.so")
        L.reset_for_tests()
        status = L.launcher_status()
        assert status["launcher"] == "cuda-python"
        assert "nowhere.so" in status["reason"]
        # Here the library loads but finds no libcuda: said so.
        monkeypatch.setenv(L.ENV_LIB, real)
        L.reset_for_tests()
        status = L.launcher_status()
        if status["launcher"] != "compiled":
            assert "libcuda" in status["reason"]
    finally:
        L.reset_for_tests()


# --- CudaLayer's call path on stand-in functions ----------------------------

class _RecordingLauncher:
    def __init__(self, kernels, slots, context):
        self.kernels, self.slots, self.calls = kernels, slots, []

    def __call__(self, pointers, stream):
        assert len(pointers) == self.slots
        self.calls.append(list(pointers))


def _stand_in(artifact, op):
    layer = CudaLayer.__new__(CudaLayer)
    layer.device = torch.device("cpu")
    count = len(op_launches(artifact.metadata, op).kernels)
    layer._prepare(artifact, op, list(range(1, count + 1)), 0,
                   _RecordingLauncher, lambda index: 0)
    return layer


def test_layer_call_slots_and_memoised_check(artifact):
    layer = _stand_in(artifact, 0)
    q = torch.zeros(1, 4, 48, 64, dtype=torch.bfloat16)
    k = torch.zeros(1, 2, 80, 64, dtype=torch.bfloat16)
    v = torch.zeros(1, 2, 80, 32, dtype=torch.bfloat16)
    out, lse = layer(q, k, v)
    assert out.shape == (1, 4, 48, 32) and lse.dtype == torch.float32
    assert layer.launcher.calls[-1] == [t.data_ptr() for t in
                                        (q, k, v, out, lse)]
    layer(q, k, v)  # memoised signature
    with pytest.raises(TypeError, match=r"argument #1 \(key\): expected "
                       r"dtype torch.bfloat16"):
        layer(q, k.half(), v)
    with pytest.raises(ValueError, match=r"argument #2 \(value\): expected "
                       r"shape"):
        layer(q, k, v[:, :, :79])
    wide = torch.zeros(1, 2, 80, 64, dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="expected a contiguous tensor"):
        layer(q, k, wide[..., :32])
    flat = torch.zeros(k.numel() + 1, dtype=torch.bfloat16)
    with pytest.raises(ValueError, match=r"argument #1 \(key\).*not "
                       "16-byte aligned"):
        layer(q, flat[1:].view(k.shape), v)
    assert len(layer.launcher.calls) == 2


def test_as_layout_copies_only_when_needed():
    from spa.torch.layouts import as_layout
    x = torch.randn(2, 3, 5, 8)
    assert as_layout(x, x.stride()) is x
    flat = torch.randn(x.numel() + 1)
    odd = flat[1:].view(x.shape)
    assert odd.data_ptr() % 16 and odd.is_contiguous()
    fixed = as_layout(odd, x.stride())
    assert fixed.data_ptr() % 16 == 0 and torch.equal(fixed, odd)
    t = x.transpose(1, 2)
    made = as_layout(t, x.contiguous().transpose(1, 2).contiguous().stride())
    assert made.is_contiguous() and torch.equal(made, t)
    assert as_layout(t, t.stride()) is t  # a view in its own layout


# --- the eager fast path ----------------------------------------------------

def _qkv(dtype=torch.float32, n=24, seed=0, grad=False):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(2, 4, n, 16, generator=gen).to(dtype)
    k = torch.randn(2, 2, n + 5, 16, generator=gen).to(dtype)
    v = torch.randn(2, 2, n + 5, 8, generator=gen).to(dtype)
    return [t.requires_grad_(grad) for t in (q, k, v)]


def _both_paths(fn):
    fastpath.set_enabled(True)
    fast = fn()
    fastpath.set_enabled(False)
    try:
        slow = fn()
    finally:
        fastpath.set_enabled(True)
    return fast, slow


TABLE = [[(0, 3)], [(1, 2), (4, 40)], [], [(2, 9)]]


@pytest.mark.parametrize("kwargs", [
    dict(policy="exclusive_equal"),
    dict(bands=TABLE, scale=0.3, return_lse=True),
    dict(bands=TABLE, mode="bidirectional"),
])
def test_fast_path_is_bitwise_the_dispatcher(kwargs):
    def run():
        q, k, v = _qkv(grad=True)
        result = st.attention(q, k, v, **kwargs)
        out, lse = result if isinstance(result, tuple) else (result, None)
        loss = (out * torch.linspace(-1, 1, out.shape[-1])).sum()
        if lse is not None:
            loss = loss + torch.where(torch.isfinite(lse), lse, 0).sum()
        grads = torch.autograd.grad(loss, (q, k, v))
        with torch.no_grad():
            again = st.attention(*_qkv(), **kwargs)
        return (out, lse, again) + grads
    fast, slow = _both_paths(run)
    for a, b in zip(fast, slow):
        if a is None:
            assert b is None
        elif isinstance(a, tuple):
            assert all(torch.equal(x, y) for x, y in zip(a, b))
        else:
            assert torch.equal(a, b)


def test_changed_configuration_gets_its_own_plan():
    plans.clear()
    fastpath.clear()
    q, k, v = _qkv()
    base = st.attention(q, k, v, bands=TABLE)
    assert plans.stats["misses"] == 1
    assert torch.equal(st.attention(q, k, v, bands=TABLE), base)
    assert plans.stats["misses"] == 1
    variants = {
        "scale": lambda: st.attention(q, k, v, bands=TABLE, scale=0.5),
        "table": lambda: st.attention(
            q, k, v, bands=TABLE[:3] + [[(2, 10)]]),
        "mode": lambda: st.attention(q, k, v, bands=TABLE,
                                     mode="bidirectional"),
        "dtype": lambda: st.attention(*_qkv(torch.bfloat16), bands=TABLE),
        "shape": lambda: st.attention(*_qkv(n=25), bands=TABLE),
        "policy": lambda: st.attention(q, k, v, policy="exclusive_equal"),
    }
    for i, (name, call) in enumerate(variants.items()):
        got = call()
        assert plans.stats["misses"] == 2 + i, name
        fastpath.set_enabled(False)
        try:
            want = call()
        finally:
            fastpath.set_enabled(True)
        assert torch.equal(got, want), name
        if name != "dtype" and name != "shape":
            assert not torch.equal(got, base), name


@pytest.mark.parametrize("good, bad, error", [
    (dict(scale=1.0), dict(scale=True), "scale must be a float"),
    (dict(bands=[[(0, 2)], [], [], []]), dict(bands=[[(0, 2.0)], [], [], []]),
     "must be a pair of ints"),
    (dict(policy="sliding_window", window=1),
     dict(policy="sliding_window", window=True), "window must be an int"),
    (dict(return_lse=False), dict(return_lse=0), "return_lse must be a bool"),
])
def test_equal_values_of_the_wrong_type_are_still_refused(good, bad, error):
    q, k, v = _qkv()
    st.attention(q, k, v, **good)
    st.attention(q, k, v, **good)
    with pytest.raises(TypeError, match=error):
        st.attention(q, k, v, **bad)


def test_changed_tensors_are_checked_after_a_cached_call():
    q, k, v = _qkv()
    st.attention(q, k, v)
    with pytest.raises(TypeError, match="k has dtype torch.float16"):
        st.attention(q, k.half(), v)
    with pytest.raises(ValueError, match="k has 28 keys but v has 29"):
        st.attention(q, k[:, :, 1:], v)
    with pytest.raises(ValueError, match="v is on meta"):
        st.attention(q, k, v.to("meta"))
    # Non-contiguous views of the cached shapes: same numbers.
    qt = q.transpose(1, 2).contiguous().transpose(1, 2)
    assert not qt.is_contiguous()
    assert torch.equal(st.attention(qt, k, v), st.attention(q, k, v))


def test_the_op_is_dispatched_where_anything_could_watch():
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.overrides import TorchFunctionMode

    class Seen(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.append(str(func))
            return func(*args, **(kwargs or {}))

    class Passing(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    q, k, v = _qkv()
    want = st.attention(q, k, v)
    assert fastpath.eager()
    with Seen() as seen:
        assert not fastpath.eager()
        got = st.attention(q, k, v)
    assert "spa.attention.default" in seen.ops
    assert torch.equal(got, want)
    with Passing():
        assert not fastpath.eager()
        assert torch.equal(st.attention(q, k, v), want)
    with torch.profiler.profile() as prof:
        st.attention(q, k, v)
    assert any("spa::attention" in e.name for e in prof.events())


def test_no_double_backward_on_either_path():
    for enabled in (True, False):
        fastpath.set_enabled(enabled)
        try:
            q, k, v = _qkv(grad=True)
            out = st.attention(q, k, v)
            (g,) = torch.autograd.grad(out.sum(), q, create_graph=True)
            with pytest.raises(RuntimeError):
                torch.autograd.grad(g.sum(), q)
        finally:
            fastpath.set_enabled(True)


def test_no_work_calls_on_the_fast_path():
    q, k, v = _qkv(grad=True)
    out, lse = st.attention(q[:, :, :0], k, v, return_lse=True)
    assert out.shape == (2, 4, 0, 8) and lse.shape == (2, 4, 0)
    out = st.attention(q, k[:, :, :0], v[:, :, :0])
    assert torch.equal(out, torch.zeros_like(out))
    (dq,) = torch.autograd.grad(out.sum(), q)
    assert torch.equal(dq, torch.zeros_like(q))
