"""spa.torch's compiled call path (python/src/TorchFastCall.cpp, native.py;
issue #12: launch overhead), on this machine without a GPU: CPU tensors,
the compiled launcher wired to a recording driver.

- The extension is built and loads; $SPA_TORCH_NATIVE=0 and a PyTorch
  version other than the build's turn it off with a reason.
- A call passes the driver exactly the inputs' pointers, then the fresh
  outputs' and scratch buffers' (slot order), on the caller's stream, and
  returns the outputs in the contract's shapes, strides and dtypes: for the
  forward op and the gradient op of a real artifact.
- Any input that differs from the contract (dtype, shape, strides,
  alignment, device, not a tensor) is refused with None and launches
  nothing; CudaPlan then takes the checked Python path (which copies).
- A refused launch is the launcher's RuntimeError naming the kernel; bad
  construction arguments are TypeError/ValueError.
"""

import pytest

torch = pytest.importorskip("torch")

from spa.runtime import launcher as L  # noqa: E402
from spa.runtime.cuda import CudaLayer, op_launches  # noqa: E402
from spa.torch import native, plans  # noqa: E402
from launch_recorder import (VALUES_AT, MapEncoder, Recorder,  # noqa: E402
                             expected_pack, private_library_copy,
                             split_values)

STREAM = 0x5150


@pytest.fixture(scope="module")
def artifact():
    """A real forward + gradient artifact (sm_90a; only launch.json used):
    GQA 4:2, Nq 48 != Nk 80, Dv 32 != D 64, bf16."""
    from spa.compiler import compile as spa_compile
    from spa.torch.config import KernelConfig
    config = KernelConfig("cuda:sm_90a", 1, 4, 2, 48, 80, 64, 32, "bf16",
                          "causal", "", (4, 1, 0, 9, 0, 2, 3, 7, 20, 80, 1,
                                         1, 5), -1, 0.125)
    return config, spa_compile(config.mlir(), target=config.target)


@pytest.fixture
def library(tmp_path):
    library = L.LauncherLibrary(private_library_copy(tmp_path))
    # For artifacts whose kernels take tensor maps.
    library.test_encoder = MapEncoder()
    library.set_tensor_map_encoder(library.test_encoder.address)
    return library


def _layer(artifact, op, library):
    """A CudaLayer on the CPU whose compiled launcher launches into the
    library's driver (the test sets it)."""
    layer = CudaLayer.__new__(CudaLayer)
    layer.device = torch.device("cpu")
    count = len(op_launches(artifact.metadata, op).kernels)
    layer._prepare(artifact, op, [0xF000 + i for i in range(count)], 0,
                   lambda kernels, slots, ctx: L.CompiledLauncher(
                       library, kernels, slots, ctx),
                   lambda index: STREAM)
    return layer


def _recorded(artifact, op, library, **recorder_options):
    """(layer, recorder, its FastCall): op `op` of the artifact launching
    into a fresh recording driver."""
    layer = _layer(artifact[1], op, library)
    recorder = Recorder(layer.launcher.kernels, **recorder_options)
    recorder.install(library)
    return layer, recorder, native.fast_call_for(layer)


def _inputs(layer, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(tuple(spec["shape"]), generator=gen).to(dtype)
            .as_strided(tuple(spec["shape"]), strides)
            for spec, strides, dtype in layer.input_contract()]


def test_the_extension_is_built_and_loads():
    native.reset_for_tests()
    status = native.status()
    assert status["native_call"], status["native_reason"]
    assert status["native_library"].endswith("_spa_torch_native.so")
    assert native.module().TORCH_VERSION == torch.__version__
    assert native.module().ABI == L.ABI


def test_off_by_environment_and_on_another_pytorch(monkeypatch):
    try:
        monkeypatch.setenv(native.ENV_MODE, "0")
        native.reset_for_tests()
        assert native.status() == {"native_call": False,
                                   "native_library": None,
                                   "native_reason": "$SPA_TORCH_NATIVE=0"}
        monkeypatch.delenv(native.ENV_MODE)
        monkeypatch.setattr(torch, "__version__", "0.0.1")
        native.reset_for_tests()
        status = native.status()
        assert not status["native_call"]
        assert "was built against PyTorch" in status["native_reason"]
        assert "this is 0.0.1: rebuild it" in status["native_reason"]
    finally:
        monkeypatch.undo()
        native.reset_for_tests()


@pytest.mark.parametrize("op", [0, 1])
def test_a_call_launches_the_contract_pointers(artifact, library, op):
    layer, recorder, fast = _recorded(artifact, op, library)
    assert fast is not None
    inputs = _inputs(layer)
    result = fast(*inputs)
    assert type(result) is tuple and len(result) == layer.output_count()
    calls = layer.allocation_calls()
    for t, (shape, strides, kw) in zip(result, calls):
        assert t.shape == shape and t.stride() == strides
        assert t.dtype == kw["dtype"] and t.device.type == "cpu"
    # Slots: the inputs as given (no copies), then the outputs returned,
    # then the scratch (allocated for this call: its pointer is whatever
    # the recorder saw in its slot, checked to be none of the others).
    flat = [w for launch in recorder.launches for w in launch]
    scratch_slots = len(calls) - layer.output_count()
    pointers = [t.data_ptr() for t in inputs + list(result)]
    seen = {}
    for k, launch in zip(layer.launcher.kernels, recorder.launches):
        for arg, words in zip(k.args,
                              split_values(k.args, launch[VALUES_AT:])):
            if arg[0] == L.ARG_CONSTANT or arg[1] < len(pointers):
                continue
            # A map's third word is its buffer's address (MapEncoder).
            seen[arg[1]] = words[0 if arg[0] == L.ARG_SLOT else 2]
    assert len(seen) == scratch_slots
    assert flat == expected_pack(layer.launcher.kernels, pointers + [
        seen[i] for i in sorted(seen)], STREAM)
    assert not set(seen.values()) & set(pointers)
    assert all(p % 16 == 0 for p in pointers + list(seen.values()))


def _spoiled(layer, inputs):
    """Inputs that each differ from the contract in one way."""
    q = inputs[0]
    flat = torch.zeros(q.numel() + 8, dtype=q.dtype)
    yield "dtype", [q.half()] + inputs[1:]
    yield "shape", [q[:, :, :-1]] + inputs[1:]
    yield "strides", [q.transpose(2, 3).contiguous().transpose(2, 3)] + \
        inputs[1:]
    yield "alignment", [flat[1:q.numel() + 1].view(q.shape)] + inputs[1:]
    yield "device", [q.to("meta")] + inputs[1:]
    yield "not a tensor", [q.numpy() if q.dtype != torch.bfloat16
                           else q.float().numpy()] + inputs[1:]


@pytest.mark.parametrize("op", [0, 1])
def test_inputs_off_the_contract_are_refused(artifact, library, op):
    layer, recorder, fast = _recorded(artifact, op, library)
    inputs = _inputs(layer)
    for what, spoiled in _spoiled(layer, inputs):
        assert fast(*spoiled) is None, what
    assert recorder.launches == []
    with pytest.raises(TypeError, match="inputs, the op takes"):
        fast(*inputs[:-1])
    assert fast(*inputs) is not None  # the good call still launches


def test_a_refused_launch_names_the_kernel(artifact, library):
    layer, recorder, fast = _recorded(artifact, 1, library, fail_at=1)
    name = layer.launcher.kernels[1].name
    with pytest.raises(RuntimeError,
                       match=rf"cuLaunchKernel\({name}\) failed"):
        fast(*_inputs(layer))
    assert len(recorder.launches) == 2


def _with_key_map(art):
    """The artifact with one more forward argument: a TMA map of `key`
    (the native call passes the plan through; the launcher encodes it)."""
    import copy
    from spa.runtime.cuda import CudaArtifact
    metadata = copy.deepcopy(art.metadata)
    forward = op_launches(metadata, 0).kernels[0]
    forward["args"].append({
        "name": "extra_key_map", "kind": "tensor_map", "of": "key",
        "dtype": "bf16", "dims": [64, 80, 2, 1],
        "strides_bytes": [128, 10240, 20480], "box": [64, 64, 1, 1],
        "element_strides": [1, 1, 1, 1], "swizzle_bytes": 128,
        "l2_promotion_bytes": 128, "oob_fill": "zero"})
    return CudaArtifact(art.cubin, art.ptx, metadata)


def test_a_call_encodes_tensor_maps_per_call(artifact, library):
    config, art = artifact
    layer, recorder, fast = _recorded((config, _with_key_map(art)), 0,
                                      library)
    for seed in (0, 1):  # fresh tensors: the maps follow the pointers
        recorder.launches.clear()
        recorder.map_params.clear()
        inputs = _inputs(layer, seed)
        result = fast(*inputs)
        pointers = [t.data_ptr() for t in inputs + list(result)]
        (kernel,) = layer.launcher.kernels
        assert kernel.args[-1][:2] == (L.ARG_TENSOR_MAP, 1)  # key's slot
        flat = [w for launch in recorder.launches for w in launch]
        assert flat == expected_pack(layer.launcher.kernels, pointers, STREAM)
        words = split_values(kernel.args, recorder.launches[0][VALUES_AT:])
        assert words[-1][2] == inputs[1].data_ptr()
        maps = recorder.map_params[0]
        assert maps and all(a % L.TENSOR_MAP_ALIGN == 0 for a in maps)
    # A map the encoder refuses: the launcher's error, nothing launched.
    recorder.launches.clear()
    recorder.encoder.fail = 1
    with pytest.raises(RuntimeError, match="a tensor map could not be "
                       "encoded"):
        fast(*_inputs(layer))
    assert recorder.launches == []


def test_bad_construction_arguments():
    mod = native.module()
    spec = [((2, 3), (3, 1), torch.float32)]
    with pytest.raises(ValueError, match="device type 'tpu'"):
        mod.make_fast_call(1, 1, 2, "tpu", 0, spec, spec, 1)
    with pytest.raises(ValueError, match="counts that disagree"):
        mod.make_fast_call(1, 1, 3, "cpu", 0, spec, spec, 1)
    with pytest.raises(ValueError, match="counts that disagree"):
        mod.make_fast_call(1, 1, 2, "cpu", 0, spec, spec, 2)
    with pytest.raises(ValueError, match="null launcher"):
        mod.make_fast_call(0, 1, 2, "cpu", 0, spec, spec, 1)
    with pytest.raises(TypeError, match="torch.dtype"):
        mod.make_fast_call(1, 1, 2, "cpu", 0, [((2, 3), (3, 1), "f32")],
                           spec, 1)
    with pytest.raises(TypeError, match="strides of the same rank"):
        mod.make_fast_call(1, 1, 2, "cpu", 0, [((2, 3), (1,), torch.float32)],
                           spec, 1)
    with pytest.raises(ValueError, match="invalid PyCapsule"):
        mod.fast_call(object(), 0)
    with pytest.raises(TypeError, match=r"fast_call\(handle, stream"):
        mod.fast_call()


def test_cuda_plan_uses_it_and_falls_back_to_the_checked_path(artifact,
                                                              library):
    config, art = artifact
    forward, gradient = _layer(art, 0, library), _layer(art, 1, library)
    plan = plans.CudaPlan(config, torch.device("cpu"),
                          layers=(forward, gradient))
    assert plan.fast_forward is not None and plan.fast_gradient is not None
    recorder = Recorder(forward.launcher.kernels * 2)
    recorder.install(library)
    q, k, v = _inputs(forward)
    out, lse = plan.forward_prechecked(q, k, v)
    assert q.data_ptr() in recorder.launches[-1][VALUES_AT:]  # read in place
    # A layout the kernels were not compiled for: the Python path copies it
    # into the compiled layout and launches that copy.
    q_cols = q.transpose(2, 3).contiguous().transpose(2, 3)
    out2, _ = plan.forward_prechecked(q_cols, k, v)
    assert len(recorder.launches) == 2
    assert q_cols.data_ptr() not in recorder.launches[-1][VALUES_AT:]
    assert out2.shape == out.shape and out2.stride() == out.stride()


# --- spa.torch.attention's quick path (fastpath.quick_forward) ----------------

@pytest.fixture
def stub_plans(artifact, library, monkeypatch):
    """spa.torch.attention on CPU tensors runs CudaPlans of stand-in layers
    (the artifact's configuration, whatever policy the call names)
    launching forward kernels into a recording driver."""
    from spa.torch import fastpath
    _, art = artifact
    made = []

    def stub_plan(config):
        plan = plans.CudaPlan(config, torch.device("cpu"), layers=(
            _layer(art, 0, library), _layer(art, 1, library)))
        made.append(plan)
        return plan
    monkeypatch.setattr(plans, "CpuPlan", stub_plan)
    forward_kernel = _layer(art, 0, library).launcher.kernels[0]
    recorder = Recorder([forward_kernel] * 64)
    recorder.install(library)
    plans.clear()
    fastpath.clear()
    yield made, recorder
    plans.clear()
    fastpath.clear()


def test_quick_path_skips_the_checks_only_for_the_same_contract(
        stub_plans, monkeypatch):
    from spa.torch import fastpath
    import spa.torch as st
    made, recorder = stub_plans
    checks = []
    call_key = fastpath.call_key
    monkeypatch.setattr(fastpath, "call_key",
                        lambda *a: checks.append(1) or call_key(*a))
    gen = torch.Generator().manual_seed(1)

    def qkv():  # the artifact's shapes and dtype
        return (torch.randn(1, 4, 48, 64, generator=gen).bfloat16(),
                torch.randn(1, 2, 80, 64, generator=gen).bfloat16(),
                torch.randn(1, 2, 80, 32, generator=gen).bfloat16())
    q, k, v = qkv()
    st.attention(q, k, v, policy="exclusive_equal")
    assert len(checks) == 1 and len(made) == 1
    assert len(recorder.launches) == 1
    q2, k2, v2 = qkv()
    out = st.attention(q2, k2, v2, policy="exclusive_equal")
    assert len(checks) == 1  # no argument check: the quick call
    assert len(recorder.launches) == 2
    assert q2.data_ptr() in recorder.launches[-1][VALUES_AT:]
    assert out.shape == (1, 4, 48, 32)
    # A refused launch on the quick path is the launcher's error.
    recorder.fail_at = len(recorder.launches)
    with pytest.raises(RuntimeError, match=r"cuLaunchKernel\(.*\) failed"):
        st.attention(q2, k2, v2, policy="exclusive_equal")
    recorder.fail_at = None
    assert len(checks) == 1
    # Another policy, a gradient, a subclass, another shape: not quick.
    st.attention(q2, k2, v2, policy="pair_balanced")
    assert len(checks) == 2
    st.attention(q2.clone().requires_grad_(), k2, v2,
                 policy="exclusive_equal")
    assert len(checks) == 3
    # A Parameter is a Tensor to PyTorch's C++ (quick); any other subclass
    # may override calls (__torch_function__): not quick.
    st.attention(torch.nn.Parameter(q, requires_grad=False), k, v,
                 policy="exclusive_equal")
    assert len(checks) == 3

    class Subclass(torch.Tensor):
        pass
    st.attention(q.as_subclass(Subclass), k, v, policy="exclusive_equal")
    assert len(checks) == 4
    with pytest.raises(ValueError):  # the stand-in plan's contract
        st.attention(q[:, :, :40].contiguous(), k, v,
                     policy="exclusive_equal")
    assert len(checks) == 5
