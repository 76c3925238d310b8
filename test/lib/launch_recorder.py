"""A recording CUDA driver for libspa_launcher.so (set_driver,
set_tensor_map_encoder, set_launch_ex): the cuLaunchKernel,
cuLaunchKernelEx, cuCtx* and cuTensorMapEncodeTiled entry points as ctypes callbacks that record what
they are handed, so launches can be checked without a GPU. Used by
test_torch_launch.py and test_torch_native.py.

The recording encoder writes a map whose 16 words are a function of its
inputs (`map_words`), so what a launch passes for a tensor-map argument
can be written down in Python (`expected_pack`)."""

import ctypes
import os

from spa.runtime import launcher as L

MAP_MARK = 0x5A5A
# A recorded launch (and a packed one, spa_pack_op): [function, grid x y z,
# block x y z, shared bytes, flags, stream, args, values...]; the values
# begin here.
VALUES_AT = 11


def map_words(record, address):
    """The 16 words MapEncoder writes for a tensor-map record (launcher.py:
    [dtype, rank, dims[5], strides[4], box[5], element_strides[5],
    interleave, swizzle, l2, oob]) of the buffer at `address`:
    [dtype, rank, address, dims 0..3, box 0..3, swizzle, l2, oob,
    interleave, mark], the mark carrying dims[4] and the sums of the
    strides and element strides (so every input shows)."""
    dtype, rank = record[0], record[1]
    dims, strides = record[2:7], record[7:11]
    box, element_strides = record[11:16], record[16:21]
    interleave, swizzle, l2, oob = record[21:25]
    mark = (MAP_MARK << 48) | ((dims[4] & 0xFFFF) << 32) | (
        (sum(strides) + sum(element_strides)) & 0xFFFFFFFF)
    return [dtype, rank, address, *dims[:4], *box[:4], swizzle, l2, oob,
            interleave, mark]


def arg_words(arg, pointers):
    """What a KernelLaunch argument passes: one word, or a map's 16."""
    kind, value = arg[0], arg[1]
    if kind == L.ARG_CONSTANT:
        return [value]
    if kind == L.ARG_TENSOR_MAP:
        return map_words(arg[2], pointers[value])
    return [pointers[value]]


def expected_pack(kernels, pointers, stream):
    """What the driver must be handed for `kernels` (KernelLaunch) and the
    call's slot pointers, written from KernelLaunch directly (a map
    argument: the recording encoder's 16 words)."""
    words = []
    for k in kernels:
        values = [w for arg in k.args for w in arg_words(arg, pointers)]
        flags = L.KERNEL_PROGRAMMATIC if k.programmatic else 0
        words += [k.function, *k.grid, *k.block, k.shared_bytes, flags,
                  stream, len(k.args), *values]
    return words


def split_values(args, values):
    """A launch's argument words (as recorded or packed) per argument."""
    out, at = [], 0
    for arg in args:
        n = L.TENSOR_MAP_WORDS if arg[0] == L.ARG_TENSOR_MAP else 1
        out.append(values[at:at + n])
        at += n
    assert at == len(values)
    return out


def read_params(params, args):
    """The words `params` (a void** as an int, or a ctypes pointer array)
    points at, for a kernel of these arguments (int: that many plain
    arguments), and the addresses of its map parameters."""
    if isinstance(params, int):
        params = ctypes.cast(params, ctypes.POINTER(ctypes.c_void_p))
    kinds = ([L.ARG_SLOT] * args if isinstance(args, int)
             else [arg[0] for arg in args])
    words, map_addresses = [], []
    for i, kind in enumerate(kinds):
        address = params[i]
        n = L.TENSOR_MAP_WORDS if kind == L.ARG_TENSOR_MAP else 1
        if kind == L.ARG_TENSOR_MAP:
            map_addresses.append(address)
        words += list((ctypes.c_uint64 * n).from_address(address))
    return words, map_addresses


class MapEncoder:
    """A cuTensorMapEncodeTiled stand-in: writes map_words(...) into the
    map, records each call's (map address, record, address), and returns
    `fail` (nonzero: refused) from call `fail_at` on (None: never)."""

    ENCODE = L.TENSOR_MAP_ENCODE

    def __init__(self, fail=None, fail_at=0):
        self.calls = []
        self.fail, self.fail_at = fail, fail_at

        def encode(tensor_map, dtype, rank, address, dims, strides, box,
                   element_strides, interleave, swizzle, l2, oob):
            record = [dtype, rank,
                      *[dims[d] if d < rank else 0 for d in range(5)],
                      *[strides[d] if d < rank - 1 else 0 for d in range(4)],
                      *[box[d] if d < rank else 0 for d in range(5)],
                      *[element_strides[d] if d < rank else 0
                        for d in range(5)],
                      interleave, swizzle, l2, oob]
            self.calls.append((tensor_map, record, address or 0))
            if self.fail is not None and len(self.calls) > self.fail_at:
                return self.fail
            words = map_words(record, address or 0)
            (ctypes.c_uint64 * L.TENSOR_MAP_WORDS).from_address(
                tensor_map)[:] = words
            return 0
        self.callback = self.ENCODE(encode)

    @property
    def address(self):
        return ctypes.cast(self.callback, ctypes.c_void_p).value


class LaunchAttribute(ctypes.Structure):
    """CUlaunchAttribute: an id padded to 8 bytes, a 64-byte union (read
    here as its first int)."""
    _fields_ = [("id", ctypes.c_int), ("pad", ctypes.c_char * 4),
                ("value", ctypes.c_int), ("rest", ctypes.c_char * 60)]


class LaunchConfig(ctypes.Structure):
    """CUlaunchConfig."""
    _fields_ = [("grid", ctypes.c_uint * 3), ("block", ctypes.c_uint * 3),
                ("shared", ctypes.c_uint), ("stream", ctypes.c_void_p),
                ("attrs", ctypes.POINTER(LaunchAttribute)),
                ("count", ctypes.c_uint)]


# CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION
PROGRAMMATIC_STREAM_SERIALIZATION = 6


class Recorder:
    """cuLaunchKernel / cuLaunchKernelEx / cuCtx* / cuTensorMapEncodeTiled
    stand-ins as C callbacks. A cuLaunchKernelEx launch is recorded with
    flags KERNEL_PROGRAMMATIC when its only attribute is programmatic
    stream serialization set to 1 (anything else fails the test), a
    cuLaunchKernel one with flags 0. `kernels`: per launch, that kernel's KernelLaunch.args (a
    map argument is read as its 16 words) or its argument count (all
    plain); a launch's map parameter addresses go to `map_params`."""

    LAUNCH = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.c_void_p, *[ctypes.c_uint] * 7, ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)
    GET = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_void_p))
    PUSH = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
    LAUNCH_EX = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.POINTER(LaunchConfig), ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)

    def __init__(self, kernels, current=0, fail_at=None, encoder=None):
        self.launches, self.events, self.map_params = [], [], []
        self.current, self.fail_at = current, fail_at
        self.kernels = [getattr(k, "args", k) for k in kernels]
        self.encoder = encoder or MapEncoder()

        def record(f, grid, block, shared, flags, stream, params):
            args = self.kernels[len(self.launches)]
            n = args if isinstance(args, int) else len(args)
            values, maps = read_params(params, args)
            self.map_params.append(maps)
            self.launches.append([f, *grid, *block, shared, flags,
                                  stream or 0, n, *values])
            self.events.append(("launch", self.current))
            return 700 if len(self.launches) - 1 == self.fail_at else 0

        def launch(f, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
            return record(f, (gx, gy, gz), (bx, by, bz), shared, 0, stream,
                          params)

        def launch_ex(config, f, params, extra):
            c = config.contents
            attributes = [(c.attrs[i].id, c.attrs[i].value)
                          for i in range(c.count)]
            assert attributes == [(PROGRAMMATIC_STREAM_SERIALIZATION, 1)], \
                attributes
            return record(f, tuple(c.grid), tuple(c.block), c.shared,
                          L.KERNEL_PROGRAMMATIC, c.stream, params)

        def get(out):
            out[0] = self.current
            return 0

        def push(ctx):
            self.events.append(("push", ctx))
            self.saved, self.current = self.current, ctx
            return 0

        def pop(out):
            self.events.append(("pop", self.current))
            self.current = self.saved
            return 0
        self.callbacks = (self.LAUNCH(launch), self.GET(get),
                          self.PUSH(push), self.GET(pop))
        self.launch_ex = self.LAUNCH_EX(launch_ex)

    def addresses(self):
        """set_driver's four: cuLaunchKernel, cuCtxGetCurrent,
        cuCtxPushCurrent_v2, cuCtxPopCurrent_v2."""
        return [ctypes.cast(c, ctypes.c_void_p).value for c in self.callbacks]

    @property
    def launch_ex_address(self):
        return ctypes.cast(self.launch_ex, ctypes.c_void_p).value

    def install(self, library, launch_ex=True):
        """Hands the library (LauncherLibrary) these callbacks, the
        recording encoder and (`launch_ex`) the cuLaunchKernelEx one."""
        library.set_driver(*self.addresses())
        library.set_tensor_map_encoder(self.encoder.address)
        library.set_launch_ex(self.launch_ex_address if launch_ex else 0)


def built_library_path():
    """libspa_launcher.so beside spa.runtime (the build puts it there); the
    calling test fails when it is missing."""
    import pytest
    path = L.library_path()
    if path is None or not os.path.exists(path):
        pytest.fail("libspa_launcher.so is not beside spa.runtime: the build "
                    "(ninja -C build spa_launcher) should put it there")
    return path


def private_library_copy(tmp_path, name="libspa_launcher_private.so"):
    """A copy of libspa_launcher.so under tmp_path (a library loaded from
    it has driver, encoder and cuLaunchKernelEx pointers of its own)."""
    import shutil
    copy = tmp_path / name
    shutil.copy(built_library_path(), copy)
    return str(copy)


def load_with_recorder(monkeypatch, tmp_path, recorder):
    """Makes the launcher's next _load() take a private copy of
    libspa_launcher.so and `recorder`'s entry points as libcuda's
    (_cuda_driver_entries: launch and context calls, the encoder,
    cuLaunchKernelEx); the caller calls L.reset_for_tests() when done."""
    copy = private_library_copy(tmp_path, "libspa_launcher_load.so")
    monkeypatch.delenv(L.ENV_MODE, raising=False)
    monkeypatch.setenv(L.ENV_LIB, copy)
    monkeypatch.setattr(L, "_cuda_driver_entries", lambda: (
        recorder.addresses(), None, recorder.encoder.address,
        recorder.launch_ex_address))
    L.reset_for_tests()
