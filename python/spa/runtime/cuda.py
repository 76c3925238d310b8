"""Load and launch a compiled spa CUDA artifact (cubin + PTX + launch.json)
through the CUDA driver API, on PyTorch tensors: modules load through
cuda-python, kernels launch through spa.runtime.launcher (the compiled
launcher where it loads, else cuda-python).

    from spa.runtime.cuda import CudaArtifact, CudaLayer
    layer = CudaLayer(CudaArtifact.load("artifacts/layer"))
    out, lse = layer(q, k, v)        # torch tensors on the GPU

    grad = CudaLayer(CudaArtifact.load("artifacts/grad"))   # a gradient op
    dq, dk, dv = grad(q, k, v, out, lse, dout)

No MLIR is needed here. Each kernel takes one device pointer per buffer
(bare-pointer ABI) in its metadata order: inputs, outputs, scratch buffers
and the constant buffers (band bounds, cost-sorted work list); and, where
its launch.json lists `tensor_map` arguments, a TMA tensor map of one of
those buffers (`of`), which the launcher encodes per call. An op may
have several kernels (a gradient op: dq, then dkdv); a layer
launches all kernels of one op in their listed order on the current stream,
with the op's inputs and outputs in order of first use and its scratch
buffers allocated per call.
"""

import ctypes
import json
import os
import threading
from dataclasses import dataclass
from typing import Dict, List, Optional

from ..arguments import TORCH_DTYPES, check_count, check_tensors, label
from ..layer import contiguous_strides
from .launcher import POINTER_ALIGN, kernel_launch, op_launcher
from .lengths import call_lengths, is_dynamic, specialize


@dataclass
class CudaArtifact:
    cubin: bytes
    ptx: str
    metadata: Dict

    def save(self, directory: str) -> str:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "kernel.cubin"), "wb") as f:
            f.write(self.cubin)
        with open(os.path.join(directory, "kernel.ptx"), "w") as f:
            f.write(self.ptx)
        with open(os.path.join(directory, "launch.json"), "w") as f:
            json.dump(self.metadata, f, indent=1)
        return directory

    @classmethod
    def load(cls, directory: str) -> "CudaArtifact":
        with open(os.path.join(directory, "kernel.cubin"), "rb") as f:
            cubin = f.read()
        ptx_path = os.path.join(directory, "kernel.ptx")
        ptx = open(ptx_path).read() if os.path.exists(ptx_path) else ""
        with open(os.path.join(directory, "launch.json")) as f:
            metadata = json.load(f)
        check_format(metadata, directory)
        return cls(cubin, ptx, metadata)

    @property
    def kernel(self) -> Dict:
        return self.metadata["kernels"][0]


ARTIFACT_FORMAT = "spa-cuda-artifact-2"
# Formats this spa no longer launches, and why.
_OLD_FORMATS = {
    "spa-cuda-artifact-1": "it predates tensor-map kernel arguments (launcher "
                           "ABI 2)",
}
# launch.json argument kinds: buffers a call passes (slots), constants the
# layer uploads, tensor maps the launcher encodes from a buffer (`of`).
BUFFER_KINDS = ("input", "output", "scratch")


def check_format(metadata: Dict, where: str) -> None:
    """A ValueError unless launch.json `metadata` is of ARTIFACT_FORMAT."""
    found = metadata.get("format") if isinstance(metadata, dict) else None
    if found == ARTIFACT_FORMAT:
        return
    if found in _OLD_FORMATS:
        raise ValueError(f"{where}: a {found} artifact: "
                         f"{_OLD_FORMATS[found]}; recompile it with this spa "
                         f"(it launches {ARTIFACT_FORMAT})")
    raise ValueError(f"{where}: not an spa CUDA artifact (format {found!r}, "
                     f"expected {ARTIFACT_FORMAT})")


# spa.attention's and spa.attention_grad's operands, in op order.
_OPERAND_ORDER = ["query", "key", "value", "output", "log_sum_exp",
                  "output_grad", "query_grad", "key_grad", "value_grad"]


@dataclass
class OpLaunches:
    """The kernels of one spa op of an artifact, in launch order, and the
    tensors a call of the op takes (inputs), returns (outputs), each once in
    the op's operand order, and allocates for itself (scratch)."""
    op: int
    kernels: List[Dict]
    inputs: List[Dict]
    outputs: List[Dict]
    scratch: List[Dict]


def op_launches(metadata: Dict, op: Optional[int] = None) -> OpLaunches:
    """Groups launch.json's kernels by op (`op` may be left out when the
    artifact holds one op); inputs and outputs in the op's operand order.
    A buffer shared by kernels must have one dtype, shape and layout; a
    name that is an output of the op may not be read by a later kernel of
    it as an input. A `tensor_map` argument is no buffer of its own: its
    `of` must name a buffer (input, output or scratch) of the op."""
    kernels = metadata["kernels"]
    ops = sorted({k.get("op", 0) for k in kernels})
    if op is None:
        if len(ops) != 1:
            raise ValueError(f"the artifact holds {len(ops)} spa ops "
                             f"{ops}: choose one with op=")
        op = ops[0]
    chosen = [k for k in kernels if k.get("op", 0) == op]
    if not chosen:
        raise ValueError(f"the artifact has no op {op}; it holds {ops}")
    seen: Dict[str, Dict] = {}
    groups: Dict[str, List[Dict]] = {"input": [], "output": [],
                                     "scratch": []}
    maps = []
    for kernel in chosen:
        for arg in kernel["args"]:
            if arg["kind"] == "tensor_map":
                maps.append((kernel, arg))
                continue
            if arg["kind"] in ("constant", "length", "scalar"):
                continue
            if arg["kind"] not in BUFFER_KINDS:
                raise ValueError(f"{kernel['name']}: argument "
                                 f"'{arg['name']}' has unknown kind "
                                 f"{arg['kind']!r}")
            name = arg["name"]
            if name in seen:
                first = seen[name]
                if (first["kind"], first["dtype"], list(first["shape"]),
                        first.get("strides")) != (
                        arg["kind"], arg["dtype"], list(arg["shape"]),
                        arg.get("strides")):
                    raise ValueError(
                        f"{kernel['name']}: argument '{name}' is "
                        f"{arg['kind']} {arg['dtype']} {arg['shape']} "
                        f"strides {arg.get('strides')} but {first['kind']} "
                        f"{first['dtype']} {first['shape']} strides "
                        f"{first.get('strides')} in an earlier kernel of "
                        "the op")
                continue
            seen[name] = arg
            groups[arg["kind"]].append(arg)
    for kernel, arg in maps:
        if arg.get("of") not in seen:
            raise ValueError(
                f"{kernel['name']}: tensor map '{arg['name']}' is of "
                f"{arg.get('of')!r}, which is not a buffer (input, output or "
                f"scratch) of op {op}")
    # Inputs and outputs in the op's operand order (a call passes them as
    # the op lists them), whatever kernel uses them first.
    def operand_order(arg):
        name = arg["name"]
        return (_OPERAND_ORDER.index(name) if name in _OPERAND_ORDER
                else len(_OPERAND_ORDER))
    return OpLaunches(op, chosen, sorted(groups["input"], key=operand_order),
                      sorted(groups["output"], key=operand_order),
                      groups["scratch"])


def _driver():
    try:
        from cuda.bindings import driver as cu
    except ImportError:  # older cuda-python layout
        from cuda import cuda as cu  # type: ignore
    return cu


def _check(cu, ret, what):
    if not isinstance(ret, tuple):
        ret = (ret,)
    err, values = ret[0], ret[1:]
    if int(err) != 0:
        _, name = cu.cuGetErrorName(err)
        raise RuntimeError(f"{what}: {name.decode() if name else int(err)}")
    return values[0] if len(values) == 1 else (values or None)


def _strides(spec: Dict):
    """An argument's strides from launch.json, or None (contiguous)."""
    strides = spec.get("strides")
    return None if strides is None else tuple(strides)


def handle_value(handle) -> int:
    """The address a cuda-python handle (CUcontext, CUfunction) holds."""
    if isinstance(handle, int):
        return handle
    try:
        return int(handle)
    except TypeError:
        return ctypes.c_void_p.from_address(handle.getPtr()).value or 0


class CudaLayer:
    """The loaded kernels of one spa op: call it with the op's input CUDA
    tensors of the compiled shapes and dtype ((q, k, v) for a forward op;
    (q, k, v, out, lse, dout) for a gradient op); returns its outputs
    ((out, lse) or out; (dq, dk, dv)).

    Every call is checked (dtype, shape, device, layout, alignment: a wrong
    one would make a kernel touch the wrong memory); the verdict on dtypes,
    shapes and devices is kept per distinct signature, so a repeated call
    re-checks only layout and alignment. The kernels go out through
    `spa.runtime.launcher` (`self.launcher.kind`: "compiled" or
    "cuda-python"), in the device's context, on the current stream."""

    # Input signatures (type, dtype, shape, device per tensor) that passed
    # the full check; replaced, never mutated, so readers need no lock.
    _signatures = frozenset()

    def __init__(self, artifact: CudaArtifact, device: int = 0,
                 use_ptx: bool = False, op: Optional[int] = None):
        import torch
        torch.cuda.init()
        self.device = torch.device("cuda", device)
        # The module belongs to the context current while it loads: the
        # device's primary context, which torch makes current here.
        with torch.cuda.device(self.device):
            torch.empty(1, device=self.device)
            functions, context = self._load(artifact, op, use_ptx)
        if is_dynamic(artifact.metadata):
            # Run-time lengths: one loaded module; per distinct (query_len,
            # key_len) a static contract (lengths.py) prepared on first use.
            self._generic = (artifact, op, functions, context)
            self._by_lengths = {}
            self._lock = threading.Lock()
            launches = op_launches(artifact.metadata, op)
            self.inputs, self.outputs = launches.inputs, launches.outputs
            self.meta = launches.kernels[0]
            return
        self._prepare(artifact, op, functions, context, op_launcher,
                      torch._C._cuda_getCurrentRawStream)

    _generic = None

    def specialized(self, inputs) -> "CudaLayer":
        """This run-time-length layer at the lengths of `inputs` (a
        CudaLayer of static shapes, cached per lengths)."""
        check_count(self.meta["name"], len(self.inputs), len(inputs),
                    "inputs")
        try:
            lengths = call_lengths(self.meta, self.inputs, inputs)
        except (AttributeError, TypeError, IndexError):
            raise TypeError(f"{self.meta['name']}: inputs must be CUDA "
                            "tensors") from None
        key = tuple(sorted(lengths.items()))
        layer = self._by_lengths.get(key)
        if layer is None:
            with self._lock:
                layer = self._by_lengths.get(key)
                if layer is None:
                    layer = self._specialize(lengths)
                    self._by_lengths[key] = layer
        return layer

    def _specialize(self, lengths) -> "CudaLayer":
        import torch
        artifact, op, functions, context = self._generic
        static = CudaArtifact(artifact.cubin, artifact.ptx,
                              specialize(artifact.metadata, lengths))
        layer = CudaLayer.__new__(CudaLayer)
        layer.device = self.device
        layer._cu, layer._module = self._cu, self._module
        layer.kernel_registers = self.kernel_registers
        layer.registers = self.registers
        with torch.cuda.device(self.device):
            layer._prepare(static, op, functions, context, op_launcher,
                           torch._C._cuda_getCurrentRawStream)
        return layer

    def _load(self, artifact: CudaArtifact, op: Optional[int],
              use_ptx: bool):
        """The op's CUfunctions from a module loaded in the current
        context, and that context."""
        cu = self._cu = _driver()
        _check(cu, cu.cuInit(0), "cuInit")
        context = handle_value(_check(cu, cu.cuCtxGetCurrent(),
                                      "cuCtxGetCurrent"))
        image = (artifact.ptx.encode() + b"\0") if use_ptx else artifact.cubin
        self._image = ctypes.create_string_buffer(image, len(image))
        self._module = _check(cu, cu.cuModuleLoadData(
            ctypes.addressof(self._image)), "cuModuleLoadData")
        attrs = cu.CUfunction_attribute
        functions = []
        self.kernel_registers = {}
        for meta in op_launches(artifact.metadata, op).kernels:
            function = _check(cu, cu.cuModuleGetFunction(
                self._module, meta["name"].encode()), "cuModuleGetFunction")
            self.kernel_registers[meta["name"]] = _check(
                cu, cu.cuFuncGetAttribute(
                    attrs.CU_FUNC_ATTRIBUTE_NUM_REGS, function), "registers")
            # Beyond 48 KiB a kernel may use dynamic shared memory only
            # after raising its limit.
            dynamic = meta.get("shared_bytes", 0)
            if dynamic > 48 * 1024:
                _check(cu, cu.cuFuncSetAttribute(
                    function,
                    attrs.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    dynamic), "cuFuncSetAttribute")
            functions.append(function)
        self.registers = self.kernel_registers[
            op_launches(artifact.metadata, op).kernels[0]["name"]]
        return functions, context

    def _prepare(self, artifact: CudaArtifact, op: Optional[int],
                 functions, context: int, make_launcher, raw_stream):
        """Everything a call needs, from the loaded functions: the constant
        buffers on self.device, the launcher (`make_launcher(kernels,
        slots, context)`), what a call allocates. Separate from _load so
        that bench/torch_overhead.py can time the call path on CPU tensors
        with stand-in functions."""
        import torch
        self._torch = torch
        self.artifact = artifact
        launches = op_launches(artifact.metadata, op)
        self.op = launches.op
        self.kernels = launches.kernels
        self.meta = self.kernels[0]
        self.args = self.meta["args"]
        self.index = self.device.index
        self.inputs = launches.inputs
        self.outputs = launches.outputs
        self.scratch = launches.scratch
        self._functions = functions
        self._constants = [{
            a["name"]: torch.tensor(a["values"], dtype=torch.int32,
                                    device=self.device).reshape(a["shape"])
            for a in meta["args"] if a["kind"] == "constant"}
            for meta in self.kernels]
        # Call slots: inputs, outputs, scratch, in that order.
        slot_of = {spec["name"]: i for i, spec in enumerate(
            self.inputs + self.outputs + self.scratch)}
        plan = [kernel_launch(meta, handle_value(function), slot_of,
                              {n: t.data_ptr() for n, t in constants.items()})
                for meta, function, constants in zip(
                    self.kernels, functions, self._constants)]
        self.context = context
        self.launcher = make_launcher(plan, len(slot_of), context)
        # Outputs and scratch in the contract's layout (strided where the
        # kernels were compiled for strided views; launch.json's
        # `strides`, contiguous where an older artifact has none).
        self._allocations = [(tuple(spec["shape"]), _strides(spec),
                              self._dtype(spec["dtype"]))
                             for spec in self.outputs + self.scratch]
        self._input_strides = [_strides(spec) for spec in self.inputs]
        self._outputs = len(self.outputs)
        self._raw_stream = raw_stream
        # The hot path's allocations as (shape, strides, keywords) for one
        # torch.empty_strided each (contiguous strides spelled out).
        self._empty_strided = torch.empty_strided
        self._allocation_calls = tuple(
            (shape, strides if strides is not None
             else contiguous_strides(shape),
             {"dtype": dtype, "device": self.device})
            for shape, strides, dtype in self._allocations)
        self._fresh_scratch = self._allocation_calls[self._outputs:]

    # --- what a native caller needs (spa.torch.native) ---------------------

    def input_contract(self):
        """Per input: (launch.json spec, strides spelled out, torch dtype)."""
        return [(spec, strides if strides is not None
                 else contiguous_strides(tuple(spec["shape"])),
                 self._dtype(spec["dtype"]))
                for spec, strides in zip(self.inputs, self._input_strides)]

    def allocation_calls(self):
        """Per output, then scratch buffer: (shape, strides, keywords of
        torch.empty_strided)."""
        return self._allocation_calls

    def output_count(self) -> int:
        return self._outputs

    def raw_stream(self, index):
        """The current stream of device `index` as a raw CUstream."""
        return self._raw_stream(index)

    def raise_launch_error(self, code: int) -> None:
        self.launcher.raise_error(code)

    def _dtype(self, name):
        return getattr(self._torch, TORCH_DTYPES[name])

    def _check_inputs(self, inputs) -> None:
        try:
            signature = tuple((type(t), t.dtype, t.shape, t.device)
                              for t in inputs)
        except AttributeError:
            signature = None
        if signature in self._signatures and all(
                t.is_contiguous() if strides is None else
                t.stride() == strides
                for t, strides in zip(inputs, self._input_strides)):
            return
        # A wrong dtype, shape, device or layout would make the kernel read
        # or write the wrong memory: check everything it touches.
        check_tensors(self.meta["name"], "inputs", inputs, self.inputs,
                      str(self.device))
        if signature is not None:
            self._signatures = self._signatures | {signature}

    def __call__(self, *inputs, outputs: Optional[List] = None):
        if self._generic is not None:
            return self.specialized(inputs)(*inputs, outputs=outputs)
        self._check_inputs(inputs)
        if outputs is not None:
            check_tensors(f"{self.meta['name']} outputs=", "tensors",
                          outputs, self.outputs, str(self.device),
                          len(self.inputs))
        for i, t in enumerate(inputs):
            if t.data_ptr() % POINTER_ALIGN:
                raise ValueError(
                    f"{label(i, self.inputs[i]['name'])}: its data at "
                    f"{t.data_ptr():#x} is not {POINTER_ALIGN}-byte aligned "
                    "(a view at an odd offset); pass a copy (.clone())")
        return self.run_prechecked(inputs, outputs)

    def run_prechecked(self, inputs, outputs: Optional[List] = None):
        """The call without the argument check, for a caller that had
        tensors of the same types, dtypes, shapes and devices pass it and
        hands in ones of the contract's layouts (spa.torch.fastpath keys its
        entries by exactly these, plans.py lays the tensors out). The launcher still refuses null or misaligned
        pointers."""
        # The launch path of every eager spa.torch call: kept to plain
        # loops over precomputed tuples (bench/torch_overhead.py times it).
        empty = self._empty_strided
        if outputs is None:
            buffers = [empty(shape, strides, **kw)
                       for shape, strides, kw in self._allocation_calls]
        else:
            buffers = list(outputs)
            buffers += [empty(shape, strides, **kw)
                        for shape, strides, kw in self._fresh_scratch]
        # Scratch lives for this call only; the op's first kernel that uses
        # it writes every element before any kernel reads it.
        pointers = [t.data_ptr() for t in inputs]
        pointers += [t.data_ptr() for t in buffers]
        self.launcher(pointers, self._raw_stream(self.index))
        if self._outputs == 1:
            return buffers[0]
        return tuple(buffers[:self._outputs])
