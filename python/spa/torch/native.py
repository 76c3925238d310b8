"""spa.torch's compiled eager call path: `_spa_torch_native`
(python/src/TorchFastCall.cpp), one foreign call that checks a call's
tensors against an op's launch contract, allocates its outputs and scratch
and launches its kernels through the compiled launcher.

Used where all of these hold, else the Python path runs (same checks, same
results, more host time):
- the module loads: beside this file (build tree, installed package) or at
  `$SPA_TORCH_NATIVE_LIB` (the GPU machine, which has no build tree), and
  it was built against this process's PyTorch version;
- the op launches through the compiled launcher (libspa_launcher.so), not
  cuda-python;
- `$SPA_TORCH_NATIVE` is not "0".

`status()` says which, and why.
"""

import ctypes
import importlib.machinery
import importlib.util
import os
from typing import Optional

import torch

ENV_LIB = "SPA_TORCH_NATIVE_LIB"
ENV_MODE = "SPA_TORCH_NATIVE"
MODULE = "_spa_torch_native"

_state = {"loaded": False, "module": None, "reason": None, "path": None}


def _candidates():
    path = os.environ.get(ENV_LIB)
    if path:
        yield path
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, MODULE + ".so")


def _load():
    if os.environ.get(ENV_MODE, "1").strip() == "0":
        return None, f"${ENV_MODE}=0"
    reason = "not built (PyTorch was not importable when spa was built)"
    for path in _candidates():
        if not os.path.exists(path):
            continue
        try:
            loader = importlib.machinery.ExtensionFileLoader(MODULE, path)
            spec = importlib.util.spec_from_file_location(MODULE, path,
                                                          loader=loader)
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
        except ImportError as e:
            return None, f"{path}: {e}"
        if module.TORCH_VERSION != torch.__version__:
            return None, (f"{path} was built against PyTorch "
                          f"{module.TORCH_VERSION}, this is "
                          f"{torch.__version__}: rebuild it (ninja -C build "
                          f"{MODULE})")
        _state["path"] = path
        return module, None
    return None, reason


def module():
    """The loaded extension, or None (`status()` says why)."""
    if not _state["loaded"]:
        _state["module"], _state["reason"] = _load()
        _state["loaded"] = True
    return _state["module"]


def status() -> dict:
    mod = module()
    return {"native_call": mod is not None, "native_library": _state["path"],
            "native_reason": _state["reason"]}


def reset_for_tests() -> None:
    _state.update(loaded=False, module=None, reason=None, path=None)


class FastCall:
    """`call(*inputs)` -> the op's outputs (a tuple), or None where an
    input differs from the contract (take the checked path); a refused
    launch raises the launcher's RuntimeError. Built from a CudaLayer
    whose launcher is the compiled one."""

    __slots__ = ("_call", "_handle", "_stream", "_index", "_layer",
                 "_parts")

    def __init__(self, mod, layer, launch_op_address: int, stream, index):
        launcher = layer.launcher
        self._layer = layer  # keeps the plan array alive
        self._handle = mod.make_fast_call(
            launch_op_address, launcher.plan.buffer_info()[0],
            launcher.slots, layer.device.type,
            layer.device.index if layer.device.index is not None else -1,
            [(tuple(spec["shape"]), strides, dtype)
             for spec, strides, dtype in layer.input_contract()],
            [(shape, strides, kw["dtype"])
             for shape, strides, kw in layer.allocation_calls()],
            layer.output_count())
        self._call = mod.fast_call
        self._stream = stream
        self._index = index
        self._parts = (self._call, self._handle, self._stream, self._index,
                       self._layer)

    def __call__(self, *inputs):
        result = self._call(self._handle, self._stream(self._index), *inputs)
        if type(result) is int:
            self._layer.raise_launch_error(result)
        return result

    def parts(self):
        """(fast_call, handle, stream, device index, layer): __call__ taken
        apart, for a caller that saves its Python frame (fastpath's quick
        path): `fast_call(handle, stream(index), *inputs)`, an int result
        going to `layer.raise_launch_error`. The same tuple every time."""
        return self._parts


def fast_call_for(layer) -> Optional[FastCall]:
    """The layer's FastCall, or None where the compiled path can't serve
    it (no module, the cuda-python launcher)."""
    mod = module()
    launcher = getattr(layer, "launcher", None)
    if mod is None or getattr(launcher, "kind", None) != "compiled":
        return None
    address = ctypes.cast(launcher.launch_op_function,
                          ctypes.c_void_p).value
    return FastCall(mod, layer, address, layer.raw_stream, layer.index)
