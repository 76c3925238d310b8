"""Issuing one spa op's kernels: the compiled launcher (libspa_launcher.so,
lib/Launcher) where it loads, else the CUDA driver through cuda-python.

A `KernelLaunch` is one kernel of an op with its arguments resolved to
either a call slot (the op's inputs, outputs and scratch buffers, in that
order) or a constant device address (band tables, work lists: buffers the
op's owner keeps alive). `op_launcher(kernels, slots, context)` turns a
list of them into a callable `launch(pointers, stream)` that issues every
kernel in order on `stream` (a raw CUstream as int) with `pointers` the
slots' device addresses:

- `CompiledLauncher`: the plan encoded once as int64s (`encode_plan`, the
  format of include/spa/Launcher/SpaLauncher.h); a call is one ctypes call
  with the pointers packed by a precompiled `struct.Struct`.
- `PythonLauncher`: cuda-python's cuLaunchKernel per kernel, the argument
  buffers packed from a per-kernel table built once.

Both refuse the same calls (a pointer that is 0 or not 16-byte aligned),
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
ABI = 1
PLAN_MAGIC = 0x53504C31
PLAN_HEADER = 5
KERNEL_HEADER = 9
MAX_ARGS = 64
POINTER_ALIGN = 16
ARG_SLOT, ARG_CONSTANT = 0, 1
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
}


@dataclass(frozen=True)
class KernelLaunch:
    """One kernel of an op: `args` are (ARG_SLOT, slot index) or
    (ARG_CONSTANT, device address) in the kernel's parameter order."""
    name: str
    function: int  # CUfunction as an integer
    grid: Tuple[int, int, int]
    block: Tuple[int, int, int]
    shared_bytes: int
    args: Tuple[Tuple[int, int], ...]


def kernel_launch(meta: dict, function: int, slot_of: dict,
                  constants: dict) -> KernelLaunch:
    """A launch.json kernel entry with its buffers resolved: `slot_of`
    maps buffer names to slots, `constants` names to device addresses."""
    args = []
    for arg in meta["args"]:
        name = arg["name"]
        if arg["kind"] == "constant":
            args.append((ARG_CONSTANT, int(constants[name])))
        else:
            args.append((ARG_SLOT, slot_of[name]))
    grid = list(meta["grid"]) + [1] * (3 - len(meta["grid"]))
    block = list(meta["block"]) + [1] * (3 - len(meta["block"]))
    return KernelLaunch(meta["name"], int(function), tuple(grid),
                        tuple(block), int(meta.get("shared_bytes", 0)),
                        tuple(args))


def encode_plan(kernels: Sequence[KernelLaunch], slots: int,
                context: int = 0) -> array:
    """The int64 plan spa_launch_op reads (SpaLauncher.h)."""
    words = [PLAN_MAGIC, 0, len(kernels), slots, context]
    for k in kernels:
        words += [k.function, *k.grid, *k.block, k.shared_bytes,
                  len(k.args)]
        for kind, value in k.args:
            words += [kind, value]
    words[1] = len(words)
    # Addresses above 2^63 would not fit int64: store their bit pattern.
    return array("q", [w - (1 << 64) if w >= (1 << 63) else w
                       for w in words])


def check_pointers(kernels: Sequence[KernelLaunch], pointers) -> None:
    """The C launcher's refusals, for the Python launcher."""
    for k in kernels:
        for kind, value in k.args:
            if kind != ARG_SLOT:
                continue  # 0 is a constant table without elements
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

    def null_launch_address(self) -> int:
        return ctypes.cast(self.lib.spa_launcher_null_launch,
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

class PythonLauncher:
    """`launch(pointers, stream)` through cuda-python's cuLaunchKernel."""
    kind = "cuda-python"

    def __init__(self, kernels: Sequence[KernelLaunch], slots: int,
                 context: int, driver=None):
        from .cuda import _driver, handle_value
        cu = self._cu = driver or _driver()
        self._value = handle_value
        self.kernels = list(kernels)
        self.slots = slots
        self._context = cu.CUcontext(context) if context else None
        self._context_value = context
        self._table = []
        for k in self.kernels:
            array_type = ctypes.c_uint64 * len(k.args)
            self._table.append((cu.CUfunction(k.function), k.grid, k.block,
                                k.shared_bytes, array_type, k.args))

    def __call__(self, pointers: Sequence[int], stream: int) -> None:
        cu = self._cu
        if len(pointers) != self.slots:
            raise RuntimeError(f"{_ERRORS[-2]}: {len(pointers)}, the plan "
                               f"has {self.slots}")
        check_pointers(self.kernels, pointers)
        pushed = False
        if self._context is not None:
            _, current = cu.cuCtxGetCurrent()
            if self._value(current) != self._context_value:
                _driver_check(cu, cu.cuCtxPushCurrent(self._context),
                              "cuCtxPushCurrent")
                pushed = True
        try:
            cu_stream = cu.CUstream(stream)
            for (function, grid, block, shared, array_type, args), k in zip(
                    self._table, self.kernels):
                values = array_type(*[pointers[v] if kind == ARG_SLOT else v
                                      for kind, v in args])
                base = ctypes.addressof(values)
                params = (ctypes.c_void_p * len(args))(
                    *range(base, base + 8 * len(args), 8))
                _driver_check(cu, cu.cuLaunchKernel(
                    function, *grid, *block, shared, cu_stream,
                    ctypes.addressof(params), 0), f"cuLaunchKernel({k.name})")
        finally:
            if pushed:
                cu.cuCtxPopCurrent()


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
    cuCtxPopCurrent_v2) addresses and an error-name function, from the
    process's libcuda.so.1 (torch has loaded it)."""
    cuda = ctypes.CDLL("libcuda.so.1")
    names = ("cuLaunchKernel", "cuCtxGetCurrent", "cuCtxPushCurrent_v2",
             "cuCtxPopCurrent_v2")
    addresses = [ctypes.cast(getattr(cuda, n), ctypes.c_void_p).value
                 for n in names]
    get_name = cuda.cuGetErrorName
    get_name.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]

    def error_name(result: int) -> Optional[str]:
        text = ctypes.c_char_p()
        if get_name(result, ctypes.byref(text)) != 0 or not text.value:
            return None
        return text.value.decode()
    return addresses, error_name


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
        addresses, _state["error_name"] = _cuda_driver_entries()
        library.set_driver(*addresses)
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
