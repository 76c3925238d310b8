"""spa: compile and run banded multi-head attention (SPAttention).

    import spa
    plan = spa.bands.plan("pair_balanced", seq_len=4096, heads=16)
    layer = spa.LayerSpec(heads=16, seq_len=512, head_dim=64,
                          policy="local_plus_band")
    fn = spa.compile(layer, target="cpu")
    out, lse = fn(q, k, v)

The compiler parts (`spa.bands`, `spa.ir`, `spa.compile`) need the native
extension `_spa_native`; they are imported on first use so that pure-Python
parts of the package load on machines without MLIR.
"""

import importlib

__all__ = ["bands", "ir", "compile", "LayerSpec", "CpuFunction", "CudaModule",
           "MLIRError", "__version__"]

_LAZY = {
    "bands": ("spa.bands", None),
    "ir": ("spa.ir", None),
    "compile": ("spa.compiler", "compile"),
    "CpuFunction": ("spa.compiler", "CpuFunction"),
    "CudaModule": ("spa.runtime.cuda_module", "CudaModule"),
    "LayerSpec": ("spa.layer", "LayerSpec"),
    "MLIRError": ("spa.ir", "MLIRError"),
    # CMake's project(spa VERSION ...), compiled into the native module.
    "__version__": ("spa._spa_native", "__version__"),
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'spa' has no attribute '{name}'")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value
