"""A whole model compiled for CUDA: host code on the CPU, attention on the GPU.

`spa.compile(module, target="cuda:sm_90a", entry="main")` outlines every
`spa.attention` of the module into its own function
(`-spa-outline-attention`), compiles each into a CudaArtifact (exactly as a
LayerSpec's) and the rest, the host code, for the CPU; the result is a
`CudaModule`:

    cm = spa.compile(module, target="cuda:sm_90a", entry="main")
    cm.artifacts            # {"main_attention_0": CudaArtifact, ...}
    y = cm(x)               # host on the CPU, attention on the GPU
    y = cm(x, runner=cm.cpu_runner())   # attention on the CPU (no GPU)
    cm.save("dir")          # host as a shared library + artifacts
    cm = spa.runtime.cuda_module.load_module("dir")   # no MLIR needed

A runner answers the host's calls: `runner(name, arrays) -> arrays`, NumPy
in and out, `name` the outlined function. `GpuRunner` copies the inputs to
the GPU, launches the artifact's kernels through `spa.runtime.cuda` and
copies the results back.

This file needs no MLIR: the compiler side lives in `spa.cuda_module`.
"""

import json
import os
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from .cuda import CudaArtifact
from .host_calls import CallTable, Runner, Signature, SharedHost

MANIFEST_FORMAT = "spa-cuda-module-1"


class LocatedError(RuntimeError):
    """An error about one outlined attention op, located at the op's
    source: lines `<loc>: error: <message>` (as spa.MLIRError's)."""

    def __init__(self, location: str, message: str):
        super().__init__(f"{location}: error: {message}")
        self.locations = [location]


@dataclass
class OutlinedCall:
    """One outlined attention function: its signature and source location."""
    name: str
    arguments: Sequence[Signature]
    results: Sequence[Signature]
    location: str


def _cuda_absent_reason() -> Optional[str]:
    """Why attention cannot run on a GPU here, or None when it can."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed (spa.runtime.cuda launches through it)"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible (torch.cuda.is_available() is False)"
    try:
        from .cuda import _driver
        _driver()
    except ImportError:
        return "cuda-python is not installed (pip install cuda-python)"
    return None


def _to_torch(torch, array: np.ndarray, device):
    if array.dtype.name == "bfloat16":  # NumPy's bf16 comes from ml_dtypes
        return torch.from_numpy(array.view(np.uint16)).view(
            torch.bfloat16).to(device)
    return torch.from_numpy(array).to(device)


def _to_numpy(torch, tensor) -> np.ndarray:
    tensor = tensor.detach().cpu().contiguous()
    if tensor.dtype == torch.bfloat16:
        import ml_dtypes
        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


class GpuRunner:
    """Answers each outlined call with its CudaArtifact on the GPU:
    host -> device copies, the kernels (spa.runtime.cuda.CudaLayer), device
    -> host copies. Layers load on first use."""

    def __init__(self, artifacts: Dict[str, CudaArtifact],
                 calls: Dict[str, OutlinedCall], device: int = 0):
        reason = _cuda_absent_reason()
        if reason is not None:
            first = next(iter(calls.values()))
            raise LocatedError(
                first.location,
                f"@{first.name} is compiled for the GPU but {reason}: run on "
                "a machine with an NVIDIA GPU, or pass "
                "runner=module.cpu_runner() to run the attention on the CPU")
        import torch
        self._torch = torch
        self.device = torch.device("cuda", device)
        self.artifacts = artifacts
        self._layers = {}

    def __call__(self, name: str, arrays: Tuple[np.ndarray, ...]):
        from .cuda import CudaLayer
        torch = self._torch
        layer = self._layers.get(name)
        if layer is None:
            layer = self._layers[name] = CudaLayer(self.artifacts[name],
                                                   self.device.index)
        with torch.cuda.device(self.device):
            inputs = [_to_torch(torch, a, self.device) for a in arrays]
            outputs = layer(*inputs)
            if not isinstance(outputs, tuple):
                outputs = (outputs,)
            return tuple(_to_numpy(torch, t) for t in outputs)


class CudaModule:
    """Host code for the CPU plus one CudaArtifact per outlined attention
    op (`artifacts`, keyed by function name; `calls` their signatures and
    source locations). Call it with the entry's NumPy arrays."""

    def __init__(self, entry: str, artifacts: Dict[str, CudaArtifact],
                 calls: Dict[str, OutlinedCall], table: CallTable,
                 host: Callable, *, stand_in: Optional[Callable] = None,
                 save_host: Optional[Callable] = None):
        self.entry = entry
        self.artifacts = artifacts
        self.calls = calls
        self.arguments = host.arguments
        self.results = host.results
        self._table = table
        self._host = host
        self._stand_in = stand_in
        self._save_host = save_host
        self._gpu: Optional[GpuRunner] = None

    def gpu_runner(self, device: int = 0) -> GpuRunner:
        if self._gpu is None or self._gpu.device.index != device:
            self._gpu = GpuRunner(self.artifacts, self.calls, device)
        return self._gpu

    def cpu_runner(self) -> Runner:
        """The outlined functions compiled for the CPU (spa's JIT): the
        attention the GPU would compute, for tests and machines without a
        GPU. Needs spa's compiler (MLIR)."""
        if self._stand_in is None:
            raise RuntimeError(
                "cpu_runner() needs spa's compiler (MLIR); a module loaded "
                "with load_module runs its attention on the GPU")
        return self._stand_in()

    def __call__(self, *arrays, runner: Optional[Runner] = None):
        """Runs the entry: host code on the CPU, each outlined attention
        through `runner` (default: the GPU)."""
        if runner is None:
            runner = self.gpu_runner()
        return self._table.run(runner, self._host, *arrays)

    def save(self, directory: str) -> str:
        """Writes the module for a machine without MLIR: `manifest.json`,
        one artifact folder per outlined function, and the host code linked
        as `host.so` (the system C compiler links it here)."""
        if self._save_host is None:
            raise RuntimeError("this module was loaded, not compiled: copy "
                               "its folder instead")
        os.makedirs(directory, exist_ok=True)
        for name, artifact in self.artifacts.items():
            artifact.save(os.path.join(directory, name))
        library = self._save_host(directory)
        manifest = {
            "format": MANIFEST_FORMAT, "entry": self.entry,
            "host": os.path.basename(library),
            "arguments": [list(a) for a in self.arguments],
            "results": [list(r) for r in self.results],
            "calls": [{"name": c.name, "index": i, "location": c.location,
                       "arguments": [list(a) for a in c.arguments],
                       "results": [list(r) for r in c.results]}
                      for i, c in enumerate(self.calls.values())]}
        with open(os.path.join(directory, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        return directory


def _signatures(rows) -> Sequence[Signature]:
    return [(kind, tuple(shape)) for kind, shape in rows]


def load_module(directory: str) -> CudaModule:
    """A CudaModule saved by `CudaModule.save`, without MLIR: the host
    library through ctypes, the artifacts through spa.runtime.cuda."""
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{directory}: not a saved spa CudaModule "
                         f"(format {manifest.get('format')!r})")
    calls = {c["name"]: OutlinedCall(c["name"], _signatures(c["arguments"]),
                                     _signatures(c["results"]),
                                     c["location"])
             for c in manifest["calls"]}
    artifacts = {name: CudaArtifact.load(os.path.join(directory, name))
                 for name in calls}
    table = CallTable({n: (c.arguments, c.results) for n, c in calls.items()})
    host = SharedHost(os.path.join(directory, manifest["host"]),
                      manifest["entry"], _signatures(manifest["arguments"]),
                      _signatures(manifest["results"]),
                      {c["name"]: (c["index"], table.function(c["name"]))
                       for c in manifest["calls"]})
    return CudaModule(manifest["entry"], artifacts, calls, table, host)
