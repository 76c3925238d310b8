"""spa.compile: a layer spec or module -> something that runs."""

from typing import Optional, Sequence, Union

import numpy as np

from . import _spa_native as _native
from .ir import MLIRError, Module, parse
from .layer import LayerSpec

try:  # bf16 arrays in NumPy come from ml_dtypes
    import ml_dtypes
    _BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a dependency
    _BF16 = None

_NUMPY_DTYPES = {"f32": np.dtype(np.float32), "f16": np.dtype(np.float16),
                 "bf16": _BF16}


class CpuFunction:
    """A JIT-compiled entry function: call it with NumPy arrays."""

    def __init__(self, native, entry: str):
        self._native = native
        self.entry = entry
        self.arguments = native.arguments
        self.results = native.results
        self.compile_ms = native.compile_ms

    def __call__(self, *arrays):
        if len(arrays) != len(self.arguments):
            raise TypeError(f"@{self.entry} takes {len(self.arguments)} "
                            f"arguments, got {len(arrays)}")
        raw = []
        for index, (array, (kind, shape)) in enumerate(
                zip(arrays, self.arguments)):
            array = np.asarray(array)
            if array.ndim != len(shape) or any(
                    s is not None and s != d for s, d in zip(shape, array.shape)):
                raise ValueError(f"argument #{index}: expected shape "
                                 f"{shape}, got {array.shape}")
            dtype = _NUMPY_DTYPES[kind]
            if dtype is None:
                raise TypeError("bf16 needs the ml_dtypes package")
            array = np.ascontiguousarray(array.astype(dtype, copy=False))
            # The native side copies raw bytes; 16-bit types travel as words.
            raw.append(array.view(np.uint16) if dtype.itemsize == 2 else array)
        outputs = []
        for kind, shape, data in self._native.run(raw):
            outputs.append(np.frombuffer(data, dtype=_NUMPY_DTYPES[kind])
                           .reshape(shape).copy())
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def compile(source: Union[LayerSpec, Module, str], target: str = "cpu", *,
            entry: Optional[str] = None, policy: Optional[str] = None,
            tile_q: int = 32, tile_k: int = 64, warps: int = 4,
            gpu_tile_k: int = 64, mma: str = "auto", stages: int = 0):
    """Compiles a layer (LayerSpec), a Module or MLIR text.

    target="cpu": returns a CpuFunction (JIT through spa-to-llvm-cpu).
    target="cuda:sm_90a": returns a CudaArtifact (cubin, PTX, launch
    metadata; `.save(dir)`), loadable without MLIR by spa.runtime.cuda.
    `policy` overrides every band policy (as -spa-balance-bands{policy=}).
    CPU tiles: `tile_q` x `tile_k`; GPU: `warps` per block (16 query rows
    each), `gpu_tile_k` keys per key tile and the matrix instructions `mma`
    ("auto": wgmma on sm_90a where the shape allows, else "mma.sync") and
    the wgmma kernel's K/V buffers `stages` (0: chosen per shape).
    """
    if isinstance(source, LayerSpec):
        entry = entry or source.name
        module = parse(source.to_mlir(), f"<{source.name}>")
    elif isinstance(source, Module):
        module = source.clone()
    elif isinstance(source, str):
        module = parse(source)
    else:
        raise TypeError("compile() takes a LayerSpec, a spa.ir.Module or "
                        "MLIR text")
    entry = entry or "layer"
    if target == "cpu":
        try:
            native = module._native.compile_cpu(entry, policy or "", tile_q,
                                                tile_k)
        except _native.NativeMLIRError as e:
            raise MLIRError(str(e)) from None
        return CpuFunction(native, entry)
    if target.startswith("cuda"):
        import json
        from .runtime.cuda import CudaArtifact
        chip = target.split(":", 1)[1] if ":" in target else "sm_90a"
        try:
            cubin, ptx, metadata = module._native.compile_cuda(
                chip, "+ptx80", policy or "", warps, gpu_tile_k, mma, stages)
        except _native.NativeMLIRError as e:
            raise MLIRError(str(e)) from None
        return CudaArtifact(cubin, ptx, json.loads(metadata))
    raise ValueError(f"unknown target '{target}' (expected 'cpu' or "
                     "'cuda:sm_90a')")
