"""spa modules through IREE: spa's passes lower `spa.attention` to linalg
(the static-tile form IREE compiles), IREE's compiler makes a vmfb, IREE's
runtime runs it.

    import spa, spa.iree
    fn = spa.iree.compile(spa.LayerSpec(heads=4, seq_len=100, head_dim=16))
    out, lse = fn(q, k, v)                       # NumPy in, NumPy out
    fn = spa.iree.compile(spa.torch_mlir.import_module(model, x))  # @main

docs/integrations.md describes the flow, the versions and its limits.
"""

import re
import time
from typing import Optional, Union

import numpy as np

from .ir import MLIRError, Module, module_from
from .layer import LayerSpec

# What this flow was built and tested with (requirements-iree.txt pins it).
IREE_VERSION = "3.13.0"

# IREE target backend -> the runtime driver that runs its vmfb.
_DRIVERS = {"llvm-cpu": "local-task"}

# spa's tiles for the IREE form (the lowering's defaults).
DEFAULT_TILE_Q = 32
DEFAULT_TILE_K = 64


def _iree():
    try:
        import iree.compiler as compiler
        import iree.runtime as runtime
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError(
            "spa.iree needs iree-base-compiler and iree-base-runtime (pip "
            "install -r requirements-iree.txt; tested with "
            f"{IREE_VERSION}): {e}") from None
    return compiler, runtime


def lowering_pipeline(tile_q: int = DEFAULT_TILE_Q,
                      tile_k: int = DEFAULT_TILE_K,
                      policy: Optional[str] = None) -> str:
    """spa's passes from spa.attention to the linalg IREE takes: the CPU
    pipeline's front half with `convert-spa-to-linalg{static-tiles=true}`."""
    tiles = f"tile-q={tile_q} tile-k={tile_k}"
    balance = tiles + (f" policy={policy}" if policy else "")
    return ("builtin.module(spa-check-input,"
            f"spa-balance-bands{{{balance}}},spa-expand-band-bounds,"
            f"convert-spa-to-linalg{{{tiles} static-tiles=true}},"
            "canonicalize,cse)")


_DIAGNOSTIC = re.compile(r"^(\S.*?:\d+:\d+): (error|warning|note): (.*)$")


def _compiler_error(error) -> MLIRError:
    """IREE's diagnostics (`file:line:col: error: msg`) as an MLIRError."""
    text = getattr(error, "stderr", None) or str(error)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = [line for line in text.splitlines() if _DIAGNOSTIC.match(line)]
    return MLIRError("\n".join(lines or [f"<iree>: error: {text.strip()}"]))


class IreeFunction:
    """One entry function of a vmfb, run by IREE's runtime: call it with
    NumPy arrays of the argument shapes and dtypes; returns NumPy arrays (a
    tuple when there are several results)."""

    def __init__(self, vmfb: bytes, entry: str, driver: str,
                 compile_ms: float):
        _, runtime = _iree()
        self.vmfb = vmfb
        self.entry = entry
        self.compile_ms = compile_ms
        config = runtime.Config(driver)
        self._context = runtime.SystemContext(config=config)
        self._context.add_vm_module(
            runtime.VmModule.copy_buffer(self._context.instance, vmfb))
        self._function = self._context.modules.module[entry]

    def __call__(self, *arrays):
        results = self._function(*(np.ascontiguousarray(a) for a in arrays))
        if isinstance(results, (tuple, list)):
            return tuple(r.to_host() for r in results)
        return results.to_host()


def compile(source: Union[LayerSpec, Module, str], target: str = "llvm-cpu",
            *, entry: Optional[str] = None, tile_q: int = DEFAULT_TILE_Q,
            tile_k: int = DEFAULT_TILE_K, policy: Optional[str] = None,
            extra_args=()) -> IreeFunction:
    """Compiles a LayerSpec, spa.ir.Module or MLIR text with IREE.

    spa's passes lower every spa.attention to linalg in the static-tile
    form (`lowering_pipeline`), IREE compiles the module for `target`
    (only "llvm-cpu", the host CPU, here) and the returned IreeFunction runs
    function `entry` (default: the LayerSpec's name, else "main") with
    IREE's runtime. `extra_args` go to iree-compile as they are.

    Errors are spa.MLIRError with locations: spa's own diagnostics, a
    missing entry, or IREE's compiler diagnostics.
    """
    compiler, _ = _iree()
    if target not in _DRIVERS:
        raise ValueError(f"unknown IREE target '{target}' (supported: "
                         f"{', '.join(_DRIVERS)})")
    module = module_from(source, "spa.iree.compile()")
    if isinstance(source, LayerSpec):
        entry = entry or source.name
    entry = entry or "main"
    module.check_entry(entry, "spa.iree.compile")
    module.run_pipeline(lowering_pipeline(tile_q, tile_k, policy))
    start = time.perf_counter()
    try:
        vmfb = compiler.compile_str(
            str(module), target_backends=[target],
            extra_args=["--iree-llvmcpu-target-cpu=host", *extra_args])
    except compiler.CompilerToolError as e:
        raise _compiler_error(e) from None
    compile_ms = (time.perf_counter() - start) * 1e3
    return IreeFunction(vmfb, entry, _DRIVERS[target], compile_ms)
