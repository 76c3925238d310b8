"""Launcher ABI 2 (3 since programmatic launches): kernel arguments that are TMA tensor maps (a 128-byte
CUtensorMap passed by value as a 64-byte-aligned parameter), encoded per
call from the call's device pointer. On this machine without a GPU:

- libspa_launcher.so with a recording driver and a recording encoder
  (test/lib/launch_recorder.py): what it packs and launches for a plan with
  slots, constants and maps equals what Python writes down; every map
  parameter is 64-byte aligned; every malformed record, bad map pointer,
  missing or refusing encoder, or too many maps is refused before any
  launch; a plan of ABI 1 or 2 is refused.
- The cuda-python launcher (a stand-in driver, the same encoder) passes
  the same words and refuses the same calls.
- launch.json's `tensor_map` entries: the record kernel_launch() builds,
  the ValueErrors of malformed ones; op_launches() and the artifact format.
"""

import ctypes
from array import array

import pytest

from spa.runtime import launcher as L
from spa.runtime.cuda import (ARTIFACT_FORMAT, CudaArtifact, check_format,
                              op_launches)
from launch_recorder import (VALUES_AT, MapEncoder, Recorder, expected_pack,
                             load_with_recorder, private_library_copy,
                             read_params, split_values)

STREAM = 0x5150


def _map(name, of, dtype="bf16", dims=(64, 8192, 16, 2),
         strides=(128, 1048576, 16777216), box=(64, 128, 1, 1),
         element_strides=(1, 1, 1, 1), swizzle=128, l2=128, oob="zero"):
    return {"name": name, "kind": "tensor_map", "of": of, "dtype": dtype,
            "dims": list(dims), "strides_bytes": list(strides),
            "box": list(box), "element_strides": list(element_strides),
            "swizzle_bytes": swizzle, "l2_promotion_bytes": l2,
            "oob_fill": oob}


def _buffer(name, kind, dtype="bf16"):
    return {"name": name, "kind": kind, "dtype": dtype,
            "shape": [2, 16, 8192, 64]}


def _metadata(**changes):
    """Two kernels of one op: the first takes buffers, a constant and two
    maps, the second a buffer and a rank-1 map."""
    key_map = _map("key_map", "key")
    key_map.update(changes)
    return {"format": ARTIFACT_FORMAT, "kernels": [
        {"name": "fwd", "op": 0, "grid": [64, 16, 2], "block": [384],
         "shared_bytes": 200000,
         "args": [_buffer("query", "input"), _buffer("key", "input"),
                  _buffer("value", "input"), _buffer("output", "output"),
                  {"name": "bounds", "kind": "constant", "dtype": "i32",
                   "shape": [4], "values": [0, 1, 2, 3]},
                  key_map,
                  _map("value_map", "value", dtype="f16", dims=(32, 100, 3),
                       strides=(64, 6400), box=(32, 64, 1),
                       element_strides=(1, 2, 1), swizzle=64, l2=256,
                       oob="nan")]},
        {"name": "post", "op": 0, "grid": [4], "block": [128],
         "args": [_buffer("output", "output"),
                  _map("output_map", "output", dtype="f32", dims=(16,),
                       strides=(), box=(16,), element_strides=(1,),
                       swizzle=0, l2=0)]}]}


KEY_RECORD = (9, 4, 64, 8192, 16, 2, 0, 128, 1048576, 16777216, 0,
              64, 128, 1, 1, 0, 1, 1, 1, 1, 0, 0, 3, 2, 0)
VALUE_RECORD = (6, 3, 32, 100, 3, 0, 0, 64, 6400, 0, 0, 32, 64, 1, 0, 0,
                1, 2, 1, 0, 0, 0, 2, 3, 1)
OUTPUT_RECORD = (7, 1, 16, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0,
                 1, 0, 0, 0, 0, 0, 0, 0, 0)
BOUNDS = 0x7000_0100


def _kernels(metadata=None):
    launches = op_launches(metadata or _metadata())
    slots = launches.inputs + launches.outputs + launches.scratch
    slot_of = {s["name"]: i for i, s in enumerate(slots)}
    kernels = [L.kernel_launch(k, 0xF000 + i, slot_of, {"bounds": BOUNDS})
               for i, k in enumerate(launches.kernels)]
    return kernels, len(slots)


def _pointers(slots, base=0x7F00_0000_0000):
    return [base + 0x10000 * i for i in range(slots)]



@pytest.fixture
def library(tmp_path):
    """A private copy (its driver and encoder pointers are its own)."""
    return L.LauncherLibrary(private_library_copy(tmp_path))


def _launch(library, plan, pointers, stream=0):
    return library.lib.spa_launch_op(plan.buffer_info()[0],
                                     L._pack_pointers(pointers),
                                     len(pointers), stream)


# --- launch.json -> KernelLaunch --------------------------------------------

def test_kernel_launch_builds_the_records():
    (fwd, post), slots = _kernels()
    assert slots == 4  # query key value output
    assert fwd.args == ((L.ARG_SLOT, 0), (L.ARG_SLOT, 1), (L.ARG_SLOT, 2),
                        (L.ARG_SLOT, 3), (L.ARG_CONSTANT, BOUNDS),
                        (L.ARG_TENSOR_MAP, 1, KEY_RECORD),
                        (L.ARG_TENSOR_MAP, 2, VALUE_RECORD))
    assert post.args == ((L.ARG_SLOT, 3), (L.ARG_TENSOR_MAP, 3,
                                           OUTPUT_RECORD))
    assert all(len(a[2]) == L.TENSOR_MAP_RECORD for k in (fwd, post)
               for a in k.args if a[0] == L.ARG_TENSOR_MAP)
    assert fwd.arg_name(5) == "key_map" and fwd.arg_name(9) == "#9"
    assert (fwd.grid, fwd.block, fwd.shared_bytes) == (
        (64, 16, 2), (384, 1, 1), 200000)
    # The plan: [kind, slot] then the record inline.
    plan = list(L.encode_plan([post], slots))
    assert plan[:5] == [L.PLAN_MAGIC, len(plan), 1, 4, 0]
    assert plan[5 + L.KERNEL_HEADER:] == [L.ARG_SLOT, 3, L.ARG_TENSOR_MAP, 3,
                                          *OUTPUT_RECORD]


@pytest.mark.parametrize("change, message", [
    (dict(dtype="i8"), r"'dtype' is 'i8'"),
    (dict(dims=[]), r"rank 0"),
    (dict(dims=[1] * 6), r"rank 6"),
    (dict(dims=64), r"'dims' must be a list"),
    (dict(strides_bytes=[128, 1048576]), r"'strides_bytes' must be a list "
     r"of 3 ints"),
    (dict(box=[64, 128, 1]), r"'box' must be a list of 4"),
    (dict(element_strides=[1, 1, 1]), r"'element_strides' must be a list"),
    (dict(dims=[64, 8192, 16, 2.0]), r"'dims' must be a list of 4 ints"),
    (dict(dims=[0, 8192, 16, 2]), r"dims\[0\] = 0"),
    (dict(dims=[64, (1 << 32) + 1, 16, 2]), r"dims\[1\]"),
    (dict(strides_bytes=[100, 1048576, 16777216]), r"strides_bytes\[0\]"),
    (dict(strides_bytes=[128, 1 << 40, 16777216]), r"strides_bytes\[1\]"),
    (dict(box=[64, 257, 1, 1]), r"box\[1\] = 257"),
    (dict(box=[0, 128, 1, 1]), r"box\[0\] = 0"),
    (dict(element_strides=[1, 9, 1, 1]), r"element_strides\[1\] = 9"),
    (dict(swizzle_bytes=16), r"'swizzle_bytes' is 16"),
    (dict(l2_promotion_bytes=32), r"'l2_promotion_bytes' is 32"),
    (dict(oob_fill="inf"), r"'oob_fill' is 'inf'"),
])
def test_malformed_tensor_maps_are_refused(change, message):
    with pytest.raises(ValueError, match=r"fwd: tensor map 'key_map'.*"
                       + message):
        _kernels(_metadata(**change))


@pytest.mark.parametrize("of", ["nowhere", "bounds", None])
def test_a_map_must_be_of_a_buffer_of_the_op(of):
    metadata = _metadata(of=of)
    with pytest.raises(ValueError, match=rf"fwd: tensor map 'key_map' is of "
                       rf"{of!r}, which is not a buffer"):
        op_launches(metadata)
    # kernel_launch() says the same where given such a slot table.
    slot_of = {"query": 0, "key": 1, "value": 2, "output": 3}
    with pytest.raises(ValueError, match="which is not a buffer"):
        L.kernel_launch(metadata["kernels"][0], 1, slot_of, {"bounds": 0})


def test_op_launches_groups_buffers_not_maps():
    launches = op_launches(_metadata())
    assert [a["name"] for a in launches.inputs] == ["query", "key", "value"]
    assert [a["name"] for a in launches.outputs] == ["output"]
    assert launches.scratch == []
    bad = _metadata()
    bad["kernels"][0]["args"][0]["kind"] = "texture"
    with pytest.raises(ValueError, match="fwd: argument 'query' has unknown "
                       "kind 'texture'"):
        op_launches(bad)


def test_more_than_eight_maps_in_a_kernel_are_refused():
    metadata = _metadata()
    metadata["kernels"][0]["args"] += [_map(f"m{i}", "key")
                                       for i in range(7)]
    with pytest.raises(ValueError, match="fwd: 9 tensor maps, the launcher "
                       "takes at most 8"):
        _kernels(metadata)


# --- artifact format ---------------------------------------------------------

def test_artifact_format(tmp_path):
    good = CudaArtifact(b"cubin", "ptx", _metadata()).save(
        str(tmp_path / "good"))
    assert CudaArtifact.load(good).metadata["format"] == ARTIFACT_FORMAT
    old = _metadata()
    old["format"] = "spa-cuda-artifact-1"
    path = CudaArtifact(b"cubin", "ptx", old).save(str(tmp_path / "old"))
    with pytest.raises(ValueError, match=r"spa-cuda-artifact-1 artifact: it "
                       r"predates tensor-map kernel arguments.*recompile it "
                       r"with this spa"):
        CudaArtifact.load(path)
    with pytest.raises(ValueError, match="not an spa CUDA artifact"):
        check_format({"format": "something-else"}, "x")
    with pytest.raises(ValueError, match="not an spa CUDA artifact"):
        check_format({}, "x")


# --- the compiled launcher ---------------------------------------------------

def test_pack_equals_python_and_maps_are_encoded_per_call(library):
    kernels, slots = _kernels()
    encoder = MapEncoder()
    library.set_tensor_map_encoder(encoder.address)
    plan = L.encode_plan(kernels, slots)
    pointers = _pointers(slots)
    got = library.pack(plan, pointers, STREAM)
    assert got == expected_pack(kernels, pointers, STREAM)
    # 11 + 4 + 1 + 2 * 16 words, then 11 + 1 + 16.
    assert len(got) == 48 + 28
    # One encode per map, of that call's pointer, into a 64-aligned map.
    assert [(record, address) for _, record, address in encoder.calls] == [
        (list(KEY_RECORD), pointers[1]), (list(VALUE_RECORD), pointers[2]),
        (list(OUTPUT_RECORD), pointers[3])]
    assert all(m % L.TENSOR_MAP_ALIGN == 0 for m, _, _ in encoder.calls)
    moved = _pointers(slots, base=0x7E00_0000_0000)
    assert library.pack(plan, moved, STREAM) == expected_pack(
        kernels, moved, STREAM)
    # spa_pack_op's capacity counts the map words.
    out = (ctypes.c_int64 * len(got))()
    call = library.lib.spa_pack_op
    args = (plan.buffer_info()[0], L._pack_pointers(pointers), slots, STREAM)
    assert call(*args, out, len(got)) == len(got)
    assert call(*args, out, len(got) - 1) == -9
    assert call(*args, out, 47) == -9


def test_launch_passes_64_byte_aligned_maps(library):
    kernels, slots = _kernels()
    recorder = Recorder(kernels, current=0xAAA0)
    recorder.install(library)
    launcher = L.CompiledLauncher(library, kernels, slots, context=0xBBB0)
    pointers = _pointers(slots)
    launcher(pointers, STREAM)
    flat = [w for launch in recorder.launches for w in launch]
    assert flat == expected_pack(kernels, pointers, STREAM)
    assert [len(m) for m in recorder.map_params] == [2, 1]
    maps = [a for m in recorder.map_params for a in m]
    assert all(a % L.TENSOR_MAP_ALIGN == 0 for a in maps)
    assert len(set(maps[:2])) == 2
    # The map words as a kernel parameter: each map in its own 128 bytes.
    first, second = recorder.map_params[0]
    assert abs(first - second) >= 8 * L.TENSOR_MAP_WORDS
    assert recorder.events == [("push", 0xBBB0), ("launch", 0xBBB0),
                               ("launch", 0xBBB0), ("pop", 0xBBB0)]
    # Split per argument: the map words carry the call's pointer.
    values = split_values(kernels[0].args,
                          recorder.launches[0][VALUES_AT:])
    assert values[5][2] == pointers[1] and values[6][2] == pointers[2]


def _map_kernel(count=1, slot=0, record=KEY_RECORD, name="maps"):
    return L.KernelLaunch(name, 0xF100, (1, 1, 1), (32, 1, 1), 0,
                          tuple((L.ARG_TENSOR_MAP, slot, record)
                                for _ in range(count)))


def _record_offset(kernels, kernel, arg):
    """Where in the plan the record of kernels[kernel].args[arg] starts."""
    at = L.PLAN_HEADER
    for n, k in enumerate(kernels):
        at += L.KERNEL_HEADER
        for a, entry in enumerate(k.args):
            at += 2
            if (n, a) == (kernel, arg):
                return at
            if entry[0] == L.ARG_TENSOR_MAP:
                at += L.TENSOR_MAP_RECORD
    raise AssertionError("no such argument")


def _spoil(field, value, arg=6):
    """(plan edit) setting one field of fwd's value_map record (rank 3)."""
    index = {"dtype": 0, "rank": 1, "dims": 2, "strides": 7, "box": 11,
             "element_strides": 16, "interleave": 21, "swizzle": 22,
             "l2": 23, "oob": 24}
    name, _, offset = field.partition("+")
    return arg, index[name] + int(offset or 0), value


@pytest.mark.parametrize("arg, word, value", [
    _spoil("rank", 0), _spoil("rank", 6), _spoil("rank", -1),
    _spoil("dims", 0), _spoil("dims+2", (1 << 32) + 1),
    _spoil("dims+3", 5),  # past the rank: must be 0
    _spoil("strides", 100), _spoil("strides", 0),
    _spoil("strides+1", 1 << 40), _spoil("strides+2", 16),  # past the rank
    _spoil("box", 0), _spoil("box+1", 257),
    _spoil("element_strides", 0), _spoil("element_strides+2", 9),
    _spoil("dtype", -1), _spoil("dtype", 16), _spoil("interleave", 99),
    _spoil("swizzle", -3), _spoil("l2", 1 << 40), _spoil("oob", 16),
    _spoil("rank", 2, arg=5),  # key_map rank 2 with 4 dims filled
])
def test_malformed_records_launch_nothing(library, arg, word, value):
    kernels, slots = _kernels()
    plan = list(L.encode_plan(kernels, slots))
    plan[_record_offset(kernels, 0, arg) + word] = value
    recorder = Recorder(kernels)
    recorder.install(library)
    code = _launch(library, array("q", plan), _pointers(slots))
    assert code == -1 and "malformed launch plan" in L.launch_error(code)
    assert recorder.launches == []


@pytest.mark.parametrize("kind", [3, -1])
def test_unknown_argument_kinds_launch_nothing(library, kind):
    kernels, slots = _kernels()
    plan = list(L.encode_plan(kernels, slots))
    plan[_record_offset(kernels, 0, 5) - 2] = kind
    recorder = Recorder(kernels)
    recorder.install(library)
    assert _launch(library, array("q", plan), _pointers(slots)) == -1
    assert recorder.launches == []


@pytest.mark.parametrize("pointer, code, message", [
    (0, -4, "pointer is 0"),
    (0x7F00_0000_0008, -5, "16-byte aligned"),
])
def test_map_pointers_are_checked(library, pointer, code, message):
    # The map's buffer is no plain argument: only the map refers to it.
    kernels = [_map_kernel(slot=1)]
    recorder = Recorder(kernels)
    recorder.install(library)
    plan = L.encode_plan(kernels, 2)
    assert _launch(library, plan, [0x7F00_0000_0000, pointer]) == code
    assert message in L.launch_error(code)
    assert recorder.launches == [] and recorder.encoder.calls == []
    python = L.PythonLauncher(kernels, 2, 0, driver=_FakeCu(),
                              tensor_map_encoder=recorder.encoder.address)
    with pytest.raises(RuntimeError, match=message):
        python([0x7F00_0000_0000, pointer], 0)
    assert _launch(library, L.encode_plan([_map_kernel(slot=2)], 2),
                   _pointers(2)) == -3


def test_no_encoder_refuses_plans_with_maps(library):
    kernels, slots = _kernels()
    recorder = Recorder(kernels)
    library.set_driver(*recorder.addresses())
    library.set_tensor_map_encoder(None)
    code = _launch(library, L.encode_plan(kernels, slots), _pointers(slots))
    assert code == -11
    assert L.launch_error(code) == (
        "a tensor map could not be encoded (no cuTensorMapEncodeTiled, or "
        "the driver refused the map)")
    assert recorder.launches == []
    # A plan without maps needs none.
    plain = L.KernelLaunch("plain", 1, (1, 1, 1), (1, 1, 1), 0,
                           ((L.ARG_SLOT, 0),))
    recorder.kernels = [plain.args]
    assert _launch(library, L.encode_plan([plain], 1), [0x1000]) == 0
    assert recorder.launches == [[1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0x1000]]


def test_a_refused_map_launches_nothing(library):
    kernels, slots = _kernels()
    # The third map (the second kernel's) is refused: the first kernel,
    # whose maps were encoded, is not launched either.
    recorder = Recorder(kernels, encoder=MapEncoder(fail=1, fail_at=2))
    recorder.install(library)
    launcher = L.CompiledLauncher(library, kernels, slots, 0)
    with pytest.raises(RuntimeError, match="a tensor map could not be "
                       "encoded"):
        launcher(_pointers(slots), 0)
    assert len(recorder.encoder.calls) == 3 and recorder.launches == []


def test_at_most_eight_maps_per_kernel(library):
    recorder = Recorder([_map_kernel(8)])
    recorder.install(library)
    pointers = _pointers(1)
    assert _launch(library, L.encode_plan([_map_kernel(8)], 1), pointers) == 0
    (maps,) = recorder.map_params
    assert len(set(maps)) == 8
    assert all(a % L.TENSOR_MAP_ALIGN == 0 for a in maps)
    assert [w for launch in recorder.launches for w in launch] == \
        expected_pack([_map_kernel(8)], pointers, 0)
    recorder.launches.clear()
    assert _launch(library, L.encode_plan([_map_kernel(9)], 1), pointers) \
        == -1
    assert recorder.launches == []


def test_a_plan_of_an_older_abi_is_refused(library):
    assert library.lib.spa_launcher_abi() == L.ABI == 3
    kernels, slots = _kernels()
    recorder = Recorder(kernels)
    recorder.install(library)
    plan = L.encode_plan(kernels, slots)
    assert _launch(library, plan, _pointers(slots)) == 0
    recorder.launches.clear()
    for magic in (0x53504C31, 0x53504C32):  # "SPL1", "SPL2"
        plan[0] = magic
        assert _launch(library, plan, _pointers(slots)) == -1
    assert recorder.launches == []


def test_null_driver_and_encoder_time_map_plans(library):
    kernels, slots = _kernels()
    library.set_driver(library.null_launch_address())
    library.set_tensor_map_encoder(library.null_tensor_map_encoder_address())
    launcher = L.CompiledLauncher(library, kernels, slots, 0)
    launcher(_pointers(slots), 0)
    packed = library.pack(launcher.plan, _pointers(slots))
    first = len(expected_pack(kernels[:1], _pointers(slots), 0))
    words = split_values(kernels[1].args, packed[first + VALUES_AT:])
    assert words[1] == [0] * L.TENSOR_MAP_WORDS


# --- the cuda-python launcher -----------------------------------------------

class _FakeCu:
    """The cuda-python calls PythonLauncher makes, recorded."""
    CUfunction = CUstream = CUcontext = staticmethod(lambda x=0: x)

    def __init__(self, kernels=()):
        self.launches, self.map_params = [], []
        self.kernels = [k.args for k in kernels]

    def cuLaunchKernel(self, f, gx, gy, gz, bx, by, bz, shared, stream,
                       params, extra):
        args = self.kernels[len(self.launches)]
        values, maps = read_params(params, args)
        self.map_params.append(maps)
        # flags 0: PythonLauncher launches every kernel plainly.
        self.launches.append([f, gx, gy, gz, bx, by, bz, shared, 0, stream,
                              len(args), *values])
        return (0,)


def test_python_launcher_passes_what_the_compiled_one_does(library):
    kernels, slots = _kernels()
    encoder = MapEncoder()
    library.set_tensor_map_encoder(encoder.address)
    cu = _FakeCu(kernels)
    launcher = L.PythonLauncher(kernels, slots, 0, driver=cu,
                                tensor_map_encoder=encoder.address)
    pointers = _pointers(slots)
    launcher(pointers, STREAM)
    flat = [w for launch in cu.launches for w in launch]
    assert flat == library.pack(L.encode_plan(kernels, slots), pointers,
                                STREAM)
    assert flat == expected_pack(kernels, pointers, STREAM)
    maps = [a for m in cu.map_params for a in m]
    assert len(maps) == 3 and all(a % L.TENSOR_MAP_ALIGN == 0 for a in maps)


def test_python_launcher_refusals():
    kernels, slots = _kernels()
    cu = _FakeCu(kernels)
    no_encoder = L.PythonLauncher(kernels, slots, 0, driver=cu,
                                  tensor_map_encoder=0)
    with pytest.raises(RuntimeError, match="fwd: a tensor map could not be "
                       "encoded"):
        no_encoder(_pointers(slots), 0)
    refusing = MapEncoder(fail=1, fail_at=2)
    launcher = L.PythonLauncher(kernels, slots, 0, driver=cu,
                                tensor_map_encoder=refusing.address)
    with pytest.raises(RuntimeError, match=r"post: tensor map 'output_map' "
                       r"\(buffer 3 at 0x7f0000030000\): "
                       r"cuTensorMapEncodeTiled failed: CUresult \(1\)"):
        launcher(_pointers(slots), 0)
    assert cu.launches == []
    # A plan without maps needs no encoder.
    plain = L.KernelLaunch("plain", 1, (1, 1, 1), (1, 1, 1), 0,
                           ((L.ARG_SLOT, 0),))
    cu = _FakeCu([plain])
    L.PythonLauncher([plain], 1, 0, driver=cu, tensor_map_encoder=0)(
        [0x1000], 0)
    assert cu.launches == [[1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0x1000]]


def test_load_wires_the_encoder(monkeypatch, tmp_path):
    """_load() hands the library cuTensorMapEncodeTiled and
    cuLaunchKernelEx (third and fourth of _cuda_driver_entries()) with the
    launch entry points."""
    kernels, slots = _kernels()
    recorder = Recorder(kernels)
    load_with_recorder(monkeypatch, tmp_path, recorder)
    try:
        launcher = L.op_launcher(kernels, slots, 0)
        assert launcher.kind == "compiled"
        pointers = _pointers(slots)
        launcher(pointers, STREAM)
        assert [w for launch in recorder.launches for w in launch] == \
            expected_pack(kernels, pointers, STREAM)
    finally:
        L.reset_for_tests()
