"""spa.compile: a layer spec or module -> something that runs."""

from typing import Optional, Sequence, Union

import numpy as np

from . import _spa_native as _native
from .arguments import check_count, check_dtype, check_shape, label
from .ir import MLIRError, Module, module_from
from .layer import LayerSpec

from .runtime.host_calls import NUMPY_DTYPES as _NUMPY_DTYPES


class CpuFunction:
    """A JIT-compiled entry function: call it with NumPy arrays of the
    argument dtypes (never cast: a wrong dtype is a TypeError)."""

    def __init__(self, native, entry: str,
                 names: Optional[Sequence[str]] = None):
        self._native = native
        self.entry = entry
        self.arguments = native.arguments
        self.results = native.results
        self.compile_ms = native.compile_ms
        # For messages: the spa.attention(_grad) operand each argument is.
        self.names = list(names) if names else [None] * len(self.arguments)

    def __call__(self, *arrays):
        check_count(f"@{self.entry}", len(self.arguments), len(arrays))
        raw = []
        for index, (array, (kind, shape), name) in enumerate(
                zip(arrays, self.arguments, self.names)):
            where = label(index, name)
            array = np.asarray(array)
            check_shape(where, shape, array.shape)
            dtype = _NUMPY_DTYPES[kind]
            if dtype is None:
                raise TypeError("bf16 needs the ml_dtypes package")
            check_dtype(where, kind, dtype.name, array.dtype.name)
            array = np.ascontiguousarray(array)
            # The native side copies raw bytes; 16-bit types travel as words.
            raw.append(array.view(np.uint16) if dtype.itemsize == 2 else array)
        outputs = []
        for kind, shape, data in self._native.run(raw):
            # A view of the result's own memory (the uint8 array owns it).
            outputs.append(data.view(_NUMPY_DTYPES[kind]).reshape(shape))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


_PIPELINES = {"cpu": "spa-to-llvm-cpu", "cuda": "spa-to-nvvm"}


def pipeline_defaults(target: str = "cpu") -> dict:
    """The options `compile(..., target=target)` accepts, with defaults.

    They come from the pipeline's typed options struct in C++ (the one
    declaration of each option); keyword arguments of `compile` are their
    names with '_' for '-'.
    """
    text = _native.pipeline_defaults(_PIPELINES[target.split(":", 1)[0]])
    body = text.strip().lstrip("{").rstrip("}")
    options = {}
    for item in body.split():
        name, _, value = item.partition("=")
        options[name.replace("-", "_")] = value
    return options


def _option_text(target: str, options: dict) -> str:
    known = pipeline_defaults(target)
    parts = []
    for name, value in options.items():
        if value is None:
            continue
        if name not in known:
            raise TypeError(
                f"compile() got an unknown option '{name}' for target "
                f"'{target}'; valid: {', '.join(sorted(known))}")
        if isinstance(value, bool):
            value = "true" if value else "false"
        text = str(value)
        if any(c.isspace() or c in "{}=" for c in text):
            raise ValueError(f"option {name}={text!r}: spaces, braces and "
                             "'=' are not allowed in option values")
        parts.append(f"{name.replace('_', '-')}={text}")
    return " ".join(parts)


def compile(source: Union[LayerSpec, Module, str], target: str = "cpu", *,
            entry: Union[None, str, Sequence[str]] = None,
            backward: bool = False, **options):
    """Compiles a layer (LayerSpec), a Module or MLIR text.

    target="cpu": returns a CpuFunction (JIT through spa-to-llvm-cpu).
    `entry` names the function (default: the LayerSpec's name, else
    "layer"); a list or tuple of names compiles them all with one lowering
    and one JIT and returns a tuple of CpuFunctions in that order.

    backward=True (LayerSpec, CPU only): the module holds the layer
    `@<name>(q, k, v) -> (out, lse)` and its gradient `@<name>_grad(q, k, v,
    out, lse, dout) -> (dq, dk, dv)` (`LayerSpec.to_mlir(backward=True)`);
    returns the tuple (forward, gradient), or the functions `entry` names.

    target="cuda:sm_90a": returns a CudaArtifact (cubin, PTX, launch
    metadata; `.save(dir)`), loadable without MLIR by spa.runtime.cuda.
    For a Module or MLIR text with `entry` (a whole model, e.g. from
    spa.torch_mlir.import_module): returns a spa.CudaModule, one
    CudaArtifact per spa.attention op (outlined into its own function) and
    the code around them compiled for the CPU; calling it runs the host
    code on the CPU and the attention on the GPU (spa.cuda_split).

    Keyword options are the target pipeline's options (see
    `pipeline_defaults(target)`), e.g. `policy="pair_balanced"` (overrides
    every band policy), CPU `tile_q=32, tile_k=64`, GPU `warps=8,
    tile_k=64, mma="wgmma", stages=2`. An unknown name is a TypeError, a
    bad value a ValueError from the pipeline's option parser.
    """
    if backward and not isinstance(source, LayerSpec):
        raise TypeError("backward=True applies to a LayerSpec; for a module, "
                        "name its functions with entry=")
    if backward and target != "cpu":
        raise ValueError(f"backward=True: the gradient compiles for target "
                         f"'cpu' only, got '{target}'")
    if isinstance(source, LayerSpec):
        if source.strided() and target == "cpu":
            raise ValueError("strided layouts (LayerSpec.layouts) compile for "
                             "CUDA targets only; the CPU path takes "
                             "contiguous arrays")
        if entry is None:
            entry = ((source.name, source.name + "_grad") if backward
                     else source.name)
    module = module_from(source, "compile()", backward=backward)
    whole_model = entry is not None and not isinstance(source, LayerSpec)
    entry = entry or "layer"
    if target == "cpu":
        text = _option_text(target, options)
        entries = [entry] if isinstance(entry, str) else list(entry)
        if not entries or not all(isinstance(e, str) for e in entries):
            raise TypeError(f"entry must be a function name or a list of "
                            f"them, got {entry!r}")
        for e in entries:
            module.check_entry(e, "spa.compile")
        try:
            names = [module._native.argument_names(e) for e in entries]
            natives = module._native.compile_cpu_entries(entries, text)
        except _native.NativeMLIRError as e:
            raise MLIRError(str(e)) from None
        functions = tuple(CpuFunction(native, e, n)
                          for native, e, n in zip(natives, entries, names))
        return functions[0] if isinstance(entry, str) else functions
    if target == "cuda" or target.startswith("cuda:"):
        import json
        from .runtime.cuda import CudaArtifact
        if ":" in target:
            options = {"chip": target.split(":", 1)[1], **options}
        text = _option_text(target, options)
        if whole_model:
            if not isinstance(entry, str):
                raise TypeError(f"target '{target}' compiles one entry "
                                f"function, got {entry!r}")
            from .cuda_split import compile_module
            return compile_module(module, entry, text)
        try:
            cubin, ptx, metadata = module._native.compile_cuda(text)
        except _native.NativeMLIRError as e:
            raise MLIRError(str(e)) from None
        return CudaArtifact(cubin, ptx, json.loads(metadata))
    raise ValueError(f"unknown target '{target}' (expected 'cpu' or "
                     "'cuda:sm_90a')")
