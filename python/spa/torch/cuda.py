"""CUDA tensors through spa's GPU kernels, launched by `spa.runtime.cuda`
(no MLIR needed at run time).

One artifact per KernelConfig holds the forward op (op 0: out, lse) and its
gradient op (op 1: dQ and dK/dV kernels); it comes from the disk
cache, or is compiled and stored there where the compiler is importable.
Kernels are loaded once per (config, device); plans.CudaPlan calls them
(launched in the device's context on its current stream).
"""

import torch

from .cache import MemoryCache, load_or_build_artifact
from .config import KernelConfig

_layers = MemoryCache()

# Chips spa's GPU path builds for (convert-spa-to-gpu refuses the others).
_CHIPS = {(8, 0): "sm_80", (8, 6): "sm_86", (8, 7): "sm_87", (8, 9): "sm_89",
          (9, 0): "sm_90a"}


def target(device: torch.device) -> str:
    """`cuda:sm_XX` of the device's compute capability."""
    capability = torch.cuda.get_device_capability(device)
    chip = _CHIPS.get(tuple(capability))
    if chip is None:
        raise RuntimeError(
            f"{device} has compute capability {capability[0]}.{capability[1]}"
            f"; spa's GPU kernels run on sm_80 to sm_90a "
            f"({', '.join(sorted(_CHIPS.values()))})")
    return "cuda:" + chip


def _build(config: KernelConfig):
    from ..compiler import compile as spa_compile
    return spa_compile(config.mlir(), target=config.target)


def _load(key):
    config, index = key
    from ..runtime.cuda import CudaLayer
    artifact, _ = load_or_build_artifact(config, _build)
    with torch.cuda.device(index):
        return (CudaLayer(artifact, device=index, op=0),
                CudaLayer(artifact, device=index, op=1))


def layers(config: KernelConfig, device: torch.device):
    """(forward, gradient) CudaLayers of `config` on `device`."""
    index = device.index if device.index is not None else \
        torch.cuda.current_device()
    return _layers.get((config, index), _load)

