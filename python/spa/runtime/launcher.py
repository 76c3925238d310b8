"""Issuing one spa op's kernels: the compiled launcher (libspa_launcher.so,
lib/Launcher) where it loads, else the CUDA driver through cuda-python.

A `KernelLaunch` is one kernel of an op with its arguments resolved to
a call slot (the op's inputs, outputs and scratch buffers, in that
order), a constant device address (band tables, work lists: buffers the
op's owner keeps alive), or a TMA tensor map of a call slot's buffer (a
128-byte CUtensorMap passed by value, encoded per call with
cuTensorMapEncodeTiled since it holds the buffer's address). `op_launcher(kernels, slots, context)` turns a
list of them into a callable `launch(pointers, stream)` that issues every
kernel in order on `stream` (a raw CUstream as int) with `pointers` the
slots' device addresses:

- `CompiledLauncher`: the plan encoded once as int64s (`encode_plan`, the
  format of include/spa/Launcher/SpaLauncher.h); a call is one ctypes call
  with the pointers packed by a precompiled `struct.Struct`.
- `PythonLauncher`: cuda-python's cuLaunchKernel per kernel, the argument
  buffers packed from a per-kernel table built once.

Both refuse the same calls (a pointer that is 0 or not 16-byte aligned,
a tensor map the driver will not encode),
launch in the plan's context when another is current, and report a refused
launch as a RuntimeError naming the kernel and the driver's error.

Which one is used: `$SPA_LAUNCHER=python` forces cuda-python; otherwise the
library at `$SPA_LAUNCHER_LIB`, else `libspa_launcher.so` beside this file
(the build tree and the installed package have it; a source checkout does
not). `launcher_status()` says which, and why.
"""

import ctypes
import os
import struct
import threading
from array import array
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

ENV_LIB = "SPA_LAUNCHER_LIB"
ENV_MODE = "SPA_LAUNCHER"
LIBRARY_NAME = "libspa_launcher.so"

# include/spa/Launcher/SpaLauncher.h
ABI = 3
PLAN_MAGIC = 0x53504C33  # "SPL3"
PLAN_HEADER = 5
KERNEL_HEADER = 10
KERNEL_PROGRAMMATIC = 1  # a kernel header's flags
MAX_ARGS = 64
POINTER_ALIGN = 16
ARG_SLOT, ARG_CONSTANT, ARG_TENSOR_MAP = 0, 1, 2
TENSOR_MAP_RECORD = 25
MAX_TENSOR_MAPS = 8
TENSOR_MAP_WORDS = 16  # sizeof(CUtensorMap) / 8
TENSOR_MAP_ALIGN = 64
TENSOR_MAP_MAX_RANK = 5
_ERRORS = {
    -1: "malformed launch plan",
    -2: "wrong number of buffers for the plan",
    -3: "an argument names a buffer past the end",
    -4: "a buffer's device pointer is 0",
    -5: f"a buffer's device pointer is not {POINTER_ALIGN}-byte aligned",
    -6: f"a kernel has more than {MAX_ARGS} arguments",
    -7: "a grid or block size outside [1, 2^31)",
    -8: "the launcher has no CUDA driver",
    -9: "output buffer too small",
    -10: "the kernels' CUDA context could not be made current",
    -11: "a tensor map could not be encoded (no cuTensorMapEncodeTiled, or "
         "the driver refused the map)",
}

# launch.json's tensor-map fields -> cuTensorMapEncodeTiled's enums
# (CUtensorMapDataType, CUtensorMapSwizzle, CUtensorMapL2promotion,
# CUtensorMapFloatOOBfill).
TENSOR_MAP_DTYPES = {"f16": 6, "f32": 7, "bf16": 9}
TENSOR_MAP_SWIZZLES = {0: 0, 32: 1, 64: 2, 128: 3}
TENSOR_MAP_L2_PROMOTIONS = {0: 0, 64: 1, 128: 2, 256: 3}
TENSOR_MAP_OOB_FILLS = {"zero": 0, "nan": 1}


@dataclass(frozen=True)
class KernelLaunch:
    """One kernel of an op: `args` are (ARG_SLOT, slot index),
    (ARG_CONSTANT, device address) or (ARG_TENSOR_MAP, slot index, record)
    in the kernel's parameter order, a record being the
    TENSOR_MAP_RECORD ints of SpaLauncher.h ([dtype, rank, dims[5],
    strides_bytes[4], box[5], element_strides[5], interleave, swizzle,
    l2_promotion, oob_fill]). `arg_names` (optional) names them for
    messages. `programmatic`: launch.json's `programmatic_launch` (the
    kernel waits for the grids before it first; the compiled launcher
    launches it with programmatic stream serialization, the cuda-python
    one by a plain cuLaunchKernel, as correct without the overlap)."""
    name: str
    function: int  # CUfunction as an integer
    grid: Tuple[int, int, int]
    block: Tuple[int, int, int]
    shared_bytes: int
    args: Tuple[Tuple, ...]
    arg_names: Tuple[str, ...] = ()
    programmatic: bool = False

    def arg_name(self, index: int) -> str:
        if index < len(self.arg_names):
            return self.arg_names[index]
        return f"#{index}"


def tensor_map_record(kernel: str, arg: dict) -> Tuple[int, ...]:
    """The TENSOR_MAP_RECORD ints of a launch.json `tensor_map` argument
    (SpaLauncher.h), checked against cuTensorMapEncodeTiled's limits; a
    ValueError naming the kernel and the argument where it is malformed."""
    where = f"{kernel}: tensor map '{arg.get('name')}'"

    def ints(key, length):
        value = arg.get(key)
        if (not isinstance(value, (list, tuple)) or len(value) != length
                or not all(isinstance(v, int) and not isinstance(v, bool)
                           for v in value)):
            raise ValueError(f"{where}: '{key}' must be a list of "
                             f"{length} ints, not {value!r}")
        return [int(v) for v in value]

    def pick(key, table):
        value = arg.get(key)
        if isinstance(value, bool) or value not in table:
            raise ValueError(f"{where}: '{key}' is {value!r}, not one of "
                             f"{sorted(table)}")
        return table[value]

    dtype = pick("dtype", TENSOR_MAP_DTYPES)
    dims_list = arg.get("dims")
    if not isinstance(dims_list, (list, tuple)):
        raise ValueError(f"{where}: 'dims' must be a list, not "
                         f"{dims_list!r}")
    rank = len(dims_list)
    if not 1 <= rank <= TENSOR_MAP_MAX_RANK:
        raise ValueError(f"{where}: rank {rank} (len(dims)) is outside "
                         f"1..{TENSOR_MAP_MAX_RANK}")
    dims = ints("dims", rank)
    strides = ints("strides_bytes", rank - 1)
    box = ints("box", rank)
    element_strides = ints("element_strides", rank)
    for d, n in enumerate(dims):
        if not 1 <= n <= 1 << 32:
            raise ValueError(f"{where}: dims[{d}] = {n} is outside "
                             "[1, 2^32]")
    for d, n in enumerate(strides):
        if n < 16 or n % 16 or n >= 1 << 40:
            raise ValueError(f"{where}: strides_bytes[{d}] = {n} is not a "
                             "positive multiple of 16 below 2^40")
    for d, n in enumerate(box):
        if not 1 <= n <= 256:
            raise ValueError(f"{where}: box[{d}] = {n} is outside [1, 256]")
    for d, n in enumerate(element_strides):
        if not 1 <= n <= 8:
            raise ValueError(f"{where}: element_strides[{d}] = {n} is "
                             "outside [1, 8]")
    swizzle = pick("swizzle_bytes", TENSOR_MAP_SWIZZLES)
    l2 = pick("l2_promotion_bytes", TENSOR_MAP_L2_PROMOTIONS)
    oob = pick("oob_fill", TENSOR_MAP_OOB_FILLS)

    def padded(values, length):
        return values + [0] * (length - len(values))
    record = ([dtype, rank] + padded(dims, 5) + padded(strides, 4)
              + padded(box, 5) + padded(element_strides, 5)
              + [0, swizzle, l2, oob])
    assert len(record) == TENSOR_MAP_RECORD
    return tuple(record)


def kernel_launch(meta: dict, function: int, slot_of: dict,
                  constants: dict) -> KernelLaunch:
    """A launch.json kernel entry with its buffers resolved: `slot_of`
    maps buffer names to slots, `constants` names to device addresses.
    A `tensor_map` argument becomes the map of its buffer `of`'s slot."""
    args = []
    for arg in meta["args"]:
        name = arg["name"]
        if arg["kind"] == "constant":
            args.append((ARG_CONSTANT, int(constants[name])))
        elif arg["kind"] == "scalar":
            # A length of a run-time-length kernel (lengths.py): an i64
            # parameter passed by value.
            args.append((ARG_CONSTANT, int(arg["value"])))
        elif arg["kind"] == "tensor_map":
            of = arg.get("of")
            if of not in slot_of:
                raise ValueError(
                    f"{meta['name']}: tensor map '{name}' is of "
                    f"{of!r}, which is not a buffer (input, output or "
                    "scratch) of the op")
            args.append((ARG_TENSOR_MAP, slot_of[of],
                         tensor_map_record(meta["name"], arg)))
        else:
            args.append((ARG_SLOT, slot_of[name]))
    maps = sum(1 for a in args if a[0] == ARG_TENSOR_MAP)
    if maps > MAX_TENSOR_MAPS:
        raise ValueError(f"{meta['name']}: {maps} tensor maps, the launcher "
                         f"takes at most {MAX_TENSOR_MAPS} per kernel")
    programmatic = meta.get("programmatic_launch", False)
    if not isinstance(programmatic, bool):
        raise ValueError(f"{meta['name']}: 'programmatic_launch' must be "
                         f"true or false, not {programmatic!r}")
    grid = list(meta["grid"]) + [1] * (3 - len(meta["grid"]))
    block = list(meta["block"]) + [1] * (3 - len(meta["block"]))
    return KernelLaunch(meta["name"], int(function), tuple(grid),
                        tuple(block), int(meta.get("shared_bytes", 0)),
                        tuple(args), tuple(a["name"] for a in meta["args"]),
                        programmatic)


def encode_plan(kernels: Sequence[KernelLaunch], slots: int,
                context: int = 0) -> array:
    """The int64 plan spa_launch_op reads (SpaLauncher.h)."""
    words = [PLAN_MAGIC, 0, len(kernels), slots, context]
    for k in kernels:
        words += [k.function, *k.grid, *k.block, k.shared_bytes,
                  KERNEL_PROGRAMMATIC if k.programmatic else 0, len(k.args)]
        for arg in k.args:
            words += [arg[0], arg[1]]
            if arg[0] == ARG_TENSOR_MAP:
                record = list(arg[2])
                if len(record) != TENSOR_MAP_RECORD:
                    raise ValueError(f"{k.name}: a tensor-map record has "
                                     f"{len(record)} words, not "
                                     f"{TENSOR_MAP_RECORD}")
                words += record
    words[1] = len(words)
    # Addresses above 2^63 would not fit int64: store their bit pattern.
    return array("q", [w - (1 << 64) if w >= (1 << 63) else w
                       for w in words])


def check_pointers(kernels: Sequence[KernelLaunch], pointers) -> None:
    """The C launcher's refusals, for the Python launcher."""
    for k in kernels:
        for arg in k.args:
            kind, value = arg[0], arg[1]
            if kind == ARG_CONSTANT:
                continue  # 0 is a constant table without elements
            if not 0 <= value < len(pointers):
                raise RuntimeError(f"{k.name}: {_ERRORS[-3]}")
            address = pointers[value]
            if address == 0:
                raise RuntimeError(f"{k.name}: {_ERRORS[-4]}")
            if address % POINTER_ALIGN:
                raise RuntimeError(f"{k.name}: {_ERRORS[-5]} (buffer "
                                   f"{value} at {address:#x})")


# --- the compiled launcher -------------------------------------------------

class LauncherLibrary:
    """libspa_launcher.so loaded with ctypes, its ABI checked."""

    def __init__(self, path: str):
        self.path = path
        lib = self.lib = ctypes.CDLL(path)
        lib.spa_launcher_abi.restype = ctypes.c_int
        abi = lib.spa_launcher_abi()
        if abi != ABI:
            raise OSError(f"{path} has launcher ABI {abi}, this spa needs "
                          f"{ABI}: rebuild it (ninja -C build spa_launcher)")
        fn_ptr = ctypes.c_void_p
        lib.spa_launcher_set_driver.argtypes = [fn_ptr] * 4
        lib.spa_launcher_set_driver.restype = ctypes.c_int
        lib.spa_launcher_set_tensor_map_encoder.argtypes = [fn_ptr]
        lib.spa_launcher_set_tensor_map_encoder.restype = ctypes.c_int
        lib.spa_launcher_set_launch_ex.argtypes = [fn_ptr]
        lib.spa_launcher_set_launch_ex.restype = ctypes.c_int
        # Untyped pointers cross as c_void_p (an int), the pointer buffer
        # as bytes (c_char_p: passed without a copy).
        lib.spa_launch_op.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                      ctypes.c_int64, ctypes.c_void_p]
        lib.spa_launch_op.restype = ctypes.c_int64
        lib.spa_pack_op.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                    ctypes.c_int64, ctypes.c_void_p,
                                    ctypes.c_void_p, ctypes.c_int64]
        lib.spa_pack_op.restype = ctypes.c_int64
        self.launch_op = lib.spa_launch_op

    def set_driver(self, launch_kernel: int, ctx_get_current: int = 0,
                   ctx_push: int = 0, ctx_pop: int = 0) -> None:
        if self.lib.spa_launcher_set_driver(launch_kernel, ctx_get_current,
                                            ctx_push, ctx_pop) != 0:
            raise OSError(f"{self.path}: no cuLaunchKernel given")

    def set_tensor_map_encoder(self, address: Optional[int]) -> None:
        """cuTensorMapEncodeTiled's address (or a stand-in's of its
        signature, SpaLauncher.h); 0 or None unsets it (plans with tensor
        maps are then refused)."""
        if self.lib.spa_launcher_set_tensor_map_encoder(address or 0) != 0:
            raise OSError(f"{self.path}: the tensor-map encoder was refused")

    def set_launch_ex(self, address: Optional[int]) -> None:
        """cuLaunchKernelEx's address (or a stand-in's of its signature,
        SpaLauncher.h), for kernels launched with programmatic stream
        serialization; 0 or None unsets it (they launch plainly)."""
        self.lib.spa_launcher_set_launch_ex(address or 0)

    def null_launch_address(self) -> int:
        return ctypes.cast(self.lib.spa_launcher_null_launch,
                           ctypes.c_void_p).value

    def null_tensor_map_encoder_address(self) -> int:
        """An encoder that zeroes the map and accepts it (timing)."""
        return ctypes.cast(self.lib.spa_launcher_null_tensor_map_encode,
                           ctypes.c_void_p).value

    def pack(self, plan: array, pointers: Sequence[int], stream: int = 0
             ) -> List[int]:
        """What spa_launch_op would pass the driver (SpaLauncher.h)."""
        capacity = len(plan) * 2 + 16
        out = (ctypes.c_int64 * capacity)()
        plan_address = plan.buffer_info()[0]
        n = self.lib.spa_pack_op(plan_address, _pack_pointers(pointers),
                                 len(pointers), stream, out, capacity)
        if n < 0:
            raise RuntimeError(launch_error(n))
        return list(out[:n])


def _pack_pointers(pointers: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(pointers)}Q", *pointers)


def launch_error(code: int, kernels: Sequence[KernelLaunch] = (),
                 error_name=None) -> str:
    if code < 0:
        return _ERRORS.get(code, f"launcher error {code}")
    index, result = code >> 20, code & 0xFFFFF
    name = kernels[index].name if index < len(kernels) else f"#{index}"
    what = error_name(result) if error_name else None
    return (f"cuLaunchKernel({name}) failed: {what or 'CUresult'} "
            f"({result})")


class CompiledLauncher:
    """`launch(pointers, stream)` through spa_launch_op."""
    kind = "compiled"

    def __init__(self, library: LauncherLibrary,
                 kernels: Sequence[KernelLaunch], slots: int, context: int,
                 error_name=None):
        self.kernels = list(kernels)
        self.slots = slots
        self.plan = encode_plan(kernels, slots, context)
        self._plan_address = self.plan.buffer_info()[0]
        self._pack = struct.Struct(f"<{slots}Q").pack
        self._launch_op = library.launch_op
        self._error_name = error_name
        # The C entry point, for callers that launch from native code
        # (spa.torch's native call path).
        self.launch_op_function = library.launch_op

    def __call__(self, pointers: Sequence[int], stream: int) -> None:
        code = self._launch_op(self._plan_address, self._pack(*pointers),
                               self.slots, stream)
        if code:
            self.raise_error(code)

    def raise_error(self, code: int) -> None:
        """The RuntimeError of spa_launch_op's nonzero result `code`."""
        raise RuntimeError(launch_error(code, self.kernels, self._error_name))


# --- the cuda-python launcher ----------------------------------------------

# cuTensorMapEncodeTiled's C signature (SpaLauncher.h, SpaTensorMapEncodeFn).
TENSOR_MAP_ENCODE = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32,
    ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64),
    ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint32),
    ctypes.POINTER(ctypes.c_uint32), ctypes.c_int, ctypes.c_int,
    ctypes.c_int, ctypes.c_int)


def _map_arguments(record) -> tuple:
    """cuTensorMapEncodeTiled's arguments but the map and the address, as
    ctypes values, from a tensor-map record (made once per plan)."""
    dtype, rank = record[0], record[1]
    dims = (ctypes.c_uint64 * 5)(*record[2:7])
    strides = (ctypes.c_uint64 * 4)(*record[7:11])
    box = (ctypes.c_uint32 * 5)(*record[11:16])
    element_strides = (ctypes.c_uint32 * 5)(*record[16:21])
    return (dtype, rank, dims, strides, box, element_strides, *record[21:25])


class PythonLauncher:
    """`launch(pointers, stream)` through cuda-python's cuLaunchKernel.
    Tensor maps are encoded per call through `tensor_map_encoder` (the
    address of cuTensorMapEncodeTiled or a stand-in of its signature;
    default: the process's libcuda.so.1's) into a 64-byte-aligned buffer
    that lives for the call."""
    kind = "cuda-python"

    def __init__(self, kernels: Sequence[KernelLaunch], slots: int,
                 context: int, driver=None,
                 tensor_map_encoder: Optional[int] = None):
        from .cuda import _driver, handle_value
        cu = self._cu = driver or _driver()
        self._value = handle_value
        self.kernels = list(kernels)
        self.slots = slots
        self._context = cu.CUcontext(context) if context else None
        self._context_value = context
        self._table = []
        has_maps = False
        for k in self.kernels:
            array_type = ctypes.c_uint64 * len(k.args)
            maps = tuple((a, arg[1], _map_arguments(arg[2]))
                         for a, arg in enumerate(k.args)
                         if arg[0] == ARG_TENSOR_MAP)
            if len(maps) > MAX_TENSOR_MAPS:
                raise RuntimeError(f"{k.name}: {_ERRORS[-1]} ({len(maps)} "
                                   f"tensor maps, at most {MAX_TENSOR_MAPS})")
            has_maps = has_maps or bool(maps)
            self._table.append((cu.CUfunction(k.function), k.grid, k.block,
                                k.shared_bytes, array_type, k.args, maps))
        self._encode = None
        if has_maps:
            if tensor_map_encoder is None:
                tensor_map_encoder = _libcuda_tensor_map_encoder()
            if tensor_map_encoder:
                self._encode = TENSOR_MAP_ENCODE(tensor_map_encoder)

    def _encode_maps(self, k: KernelLaunch, maps, pointers):
        """A buffer holding the kernel's maps encoded for this call, and
        the 64-byte-aligned address of the first (map m at + 128 m)."""
        if self._encode is None:
            raise RuntimeError(f"{k.name}: {_ERRORS[-11]}")
        size = 8 * TENSOR_MAP_WORDS
        buffer = (ctypes.c_uint8 * (size * len(maps) + TENSOR_MAP_ALIGN))()
        base = -ctypes.addressof(buffer) % TENSOR_MAP_ALIGN + \
            ctypes.addressof(buffer)
        for m, (a, slot, (dtype, rank, dims, strides, box, element_strides,
                          interleave, swizzle, l2, oob)) in enumerate(maps):
            code = self._encode(base + size * m, dtype, rank, pointers[slot],
                                dims, strides, box, element_strides,
                                interleave, swizzle, l2, oob)
            if code != 0:
                raise RuntimeError(
                    f"{k.name}: tensor map '{k.arg_name(a)}' (buffer {slot} "
                    f"at {pointers[slot]:#x}): cuTensorMapEncodeTiled failed: "
                    f"{_error_name(self._cu, code)} ({code})")
        return buffer, base

    def __call__(self, pointers: Sequence[int], stream: int) -> None:
        cu = self._cu
        if len(pointers) != self.slots:
            raise RuntimeError(f"{_ERRORS[-2]}: {len(pointers)}, the plan "
                               f"has {self.slots}")
        check_pointers(self.kernels, pointers)
        # Every kernel's parameters (maps encoded) before any launch, as
        # spa_launch_op: a map the driver refuses launches nothing. The
        # buffers live until the launches have copied them.
        launches, alive = [], []
        for (function, grid, block, shared, array_type, args, maps), k in \
                zip(self._table, self.kernels):
            values = array_type(*[v if kind == ARG_CONSTANT else pointers[v]
                                  for kind, v, *_ in args])
            base = ctypes.addressof(values)
            addresses = list(range(base, base + 8 * len(args), 8))
            alive.append(values)
            if maps:
                buffer, map_base = self._encode_maps(k, maps, pointers)
                alive.append(buffer)
                for m, (a, _, _) in enumerate(maps):
                    addresses[a] = map_base + 8 * TENSOR_MAP_WORDS * m
            params = (ctypes.c_void_p * len(args))(*addresses)
            alive.append(params)
            launches.append((function, grid, block, shared, params, k))
        pushed = False
        if self._context is not None:
            _, current = cu.cuCtxGetCurrent()
            if self._value(current) != self._context_value:
                _driver_check(cu, cu.cuCtxPushCurrent(self._context),
                              "cuCtxPushCurrent")
                pushed = True
        try:
            cu_stream = cu.CUstream(stream)
            for function, grid, block, shared, params, k in launches:
                _driver_check(cu, cu.cuLaunchKernel(
                    function, *grid, *block, shared, cu_stream,
                    ctypes.addressof(params), 0), f"cuLaunchKernel({k.name})")
        finally:
            if pushed:
                cu.cuCtxPopCurrent()


def _libcuda_tensor_map_encoder() -> Optional[int]:
    """cuTensorMapEncodeTiled's address in libcuda.so.1, or None (no
    driver, or one older than CUDA 12)."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        return ctypes.cast(cuda.cuTensorMapEncodeTiled, ctypes.c_void_p).value
    except (OSError, AttributeError):
        return None


def _error_name(cu, code: int) -> str:
    """The CUresult's name through cuda-python, else "CUresult"."""
    try:
        err, name = cu.cuGetErrorName(cu.CUresult(code))
        if int(err) == 0 and name:
            return name.decode()
    except Exception:  # a stand-in driver, an unknown code
        pass
    return "CUresult"


def _driver_check(cu, ret, what):
    err = ret[0] if isinstance(ret, tuple) else ret
    if int(err) != 0:
        _, name = cu.cuGetErrorName(err)
        raise RuntimeError(f"{what}: {name.decode() if name else int(err)}")


# --- choosing --------------------------------------------------------------

_lock = threading.Lock()
_state = {"loaded": False, "library": None, "reason": "", "error_name": None}


def library_path() -> Optional[str]:
    """$SPA_LAUNCHER_LIB, else libspa_launcher.so beside this module if
    it exists."""
    explicit = os.environ.get(ENV_LIB)
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        LIBRARY_NAME)
    return here if os.path.exists(here) else None


def _cuda_driver_entries():
    """(cuLaunchKernel, cuCtxGetCurrent, cuCtxPushCurrent_v2,
    cuCtxPopCurrent_v2) addresses, an error-name function, and
    cuTensorMapEncodeTiled's and cuLaunchKernelEx's addresses (0 where the
    driver predates CUDA 12), from the process's libcuda.so.1 (torch has
    loaded it)."""
    cuda = ctypes.CDLL("libcuda.so.1")
    names = ("cuLaunchKernel", "cuCtxGetCurrent", "cuCtxPushCurrent_v2",
             "cuCtxPopCurrent_v2")
    addresses = [ctypes.cast(getattr(cuda, n), ctypes.c_void_p).value
                 for n in names]
    try:
        encode = ctypes.cast(cuda.cuTensorMapEncodeTiled,
                             ctypes.c_void_p).value or 0
    except AttributeError:
        encode = 0
    try:
        launch_ex = ctypes.cast(cuda.cuLaunchKernelEx,
                                ctypes.c_void_p).value or 0
    except AttributeError:
        launch_ex = 0
    get_name = cuda.cuGetErrorName
    get_name.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]

    def error_name(result: int) -> Optional[str]:
        text = ctypes.c_char_p()
        if get_name(result, ctypes.byref(text)) != 0 or not text.value:
            return None
        return text.value.decode()
    return addresses, error_name, encode, launch_ex


def compiled_library() -> Optional[LauncherLibrary]:
    """The compiled launcher wired to the CUDA driver, or None (then
    launcher_status() says why). Loaded once per process."""
    with _lock:
        if not _state["loaded"]:
            _state["loaded"] = True
            _state["library"], _state["reason"] = _load()
        return _state["library"]


def _load():
    if os.environ.get(ENV_MODE, "").strip().lower() == "python":
        return None, f"{ENV_MODE}=python"
    path = library_path()
    if path is None:
        return None, (f"no {LIBRARY_NAME} beside spa.runtime and "
                      f"{ENV_LIB} is not set")
    try:
        library = LauncherLibrary(path)
        addresses, _state["error_name"], encode, launch_ex = \
            _cuda_driver_entries()
        library.set_driver(*addresses)
        library.set_tensor_map_encoder(encode)
        library.set_launch_ex(launch_ex)
    except OSError as e:
        return None, f"{path}: {e}"
    return library, path


def op_launcher(kernels: Sequence[KernelLaunch], slots: int, context: int):
    """The compiled launcher of these kernels where it loads, else the
    cuda-python one."""
    library = compiled_library()
    if library is not None:
        return CompiledLauncher(library, kernels, slots, context,
                                _state["error_name"])
    return PythonLauncher(kernels, slots, context)


def launcher_status() -> dict:
    """{"launcher": "compiled" | "cuda-python", "library": path or None,
    "reason": why the compiled one is not used ("" when it is)}."""
    library = compiled_library()
    if library is not None:
        return {"launcher": "compiled", "library": library.path,
                "reason": ""}
    return {"launcher": "cuda-python", "library": None,
            "reason": _state["reason"]}


def reset_for_tests() -> None:
    """Forget the loaded choice (tests that change the environment)."""
    with _lock:
        _state.update(loaded=False, library=None, reason="",
                      error_name=None)
