"""Load and launch a compiled spa CUDA artifact (cubin + PTX + launch.json)
through the CUDA driver API (cuda-python), on PyTorch tensors.

    from spa.runtime.cuda import CudaArtifact, CudaLayer
    layer = CudaLayer(CudaArtifact.load("artifacts/layer"))
    out, lse = layer(q, k, v)        # torch tensors on the GPU

    grad = CudaLayer(CudaArtifact.load("artifacts/grad"))   # a gradient op
    dq, dk, dv = grad(q, k, v, out, lse, dout)

No MLIR is needed here. Each kernel takes one device pointer per buffer
(bare-pointer ABI) in its metadata order: inputs, outputs, scratch buffers
and the constant buffers (band bounds, cost-sorted work list). An op may
have several kernels (a gradient op: preprocess, dkdv, dq); a layer
launches all kernels of one op in their listed order on the current stream,
with the op's inputs and outputs in order of first use and its scratch
buffers allocated per call.
"""

import ctypes
import json
import os
import statistics
from dataclasses import dataclass
from typing import Dict, List, Optional

from ..arguments import TORCH_DTYPES, check_tensors


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
        if metadata.get("format") != "spa-cuda-artifact-1":
            raise ValueError(f"{directory}: not an spa CUDA artifact")
        return cls(cubin, ptx, metadata)

    @property
    def kernel(self) -> Dict:
        return self.metadata["kernels"][0]


@dataclass
class OpLaunches:
    """The kernels of one spa op of an artifact, in launch order, and the
    tensors a call of the op takes (inputs), returns (outputs) and allocates
    for itself (scratch), each once, in order of first use."""
    op: int
    kernels: List[Dict]
    inputs: List[Dict]
    outputs: List[Dict]
    scratch: List[Dict]


def op_launches(metadata: Dict, op: Optional[int] = None) -> OpLaunches:
    """Groups launch.json's kernels by op (`op` may be left out when the
    artifact holds one op). A buffer shared by kernels must have one dtype
    and shape; a name that is an output of the op may not be read by a later
    kernel of it as an input."""
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
    for kernel in chosen:
        for arg in kernel["args"]:
            if arg["kind"] == "constant":
                continue
            name = arg["name"]
            if name in seen:
                first = seen[name]
                if (first["kind"], first["dtype"], list(first["shape"])) != (
                        arg["kind"], arg["dtype"], list(arg["shape"])):
                    raise ValueError(
                        f"{kernel['name']}: argument '{name}' is "
                        f"{arg['kind']} {arg['dtype']} {arg['shape']} but "
                        f"{first['kind']} {first['dtype']} {first['shape']} "
                        "in an earlier kernel of the op")
                continue
            seen[name] = arg
            groups[arg["kind"]].append(arg)
    return OpLaunches(op, chosen, groups["input"], groups["output"],
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


class CudaLayer:
    """The loaded kernels of one spa op: call it with the op's input CUDA
    tensors of the compiled shapes and dtype ((q, k, v) for a forward op;
    (q, k, v, out, lse, dout) for a gradient op); returns its outputs
    ((out, lse) or out; (dq, dk, dv))."""

    def __init__(self, artifact: CudaArtifact, device: int = 0,
                 use_ptx: bool = False, op: Optional[int] = None):
        import torch
        self._torch = torch
        self.artifact = artifact
        launches = op_launches(artifact.metadata, op)
        self.op = launches.op
        self.kernels = launches.kernels
        self.meta = self.kernels[0]
        self.device = torch.device("cuda", device)
        torch.cuda.init()
        torch.empty(1, device=self.device)  # make torch's primary context current
        cu = self._cu = _driver()
        _check(cu, cu.cuInit(0), "cuInit")
        image = (artifact.ptx.encode() + b"\0") if use_ptx else artifact.cubin
        self._image = ctypes.create_string_buffer(image, len(image))
        self._module = _check(cu, cu.cuModuleLoadData(
            ctypes.addressof(self._image)), "cuModuleLoadData")
        attrs = cu.CUfunction_attribute
        self._functions = []
        self._constants = []
        self.kernel_registers = {}
        for meta in self.kernels:
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
            self._functions.append(function)
            self._constants.append({
                a["name"]: torch.tensor(a["values"], dtype=torch.int32,
                                        device=self.device
                                        ).reshape(a["shape"])
                for a in meta["args"] if a["kind"] == "constant"})
        self.registers = self.kernel_registers[self.meta["name"]]
        self.args = self.meta["args"]
        self.inputs = launches.inputs
        self.outputs = launches.outputs
        self.scratch = launches.scratch

    def _dtype(self, name):
        return getattr(self._torch, TORCH_DTYPES[name])

    def __call__(self, *inputs, outputs: Optional[List] = None):
        torch = self._torch
        device = str(self.device)
        # A wrong dtype, shape, device or layout would make the kernel read
        # or write the wrong memory: check everything it touches.
        check_tensors(self.meta["name"], "inputs", inputs, self.inputs,
                      device)
        if outputs is None:
            outputs = [torch.empty(spec["shape"], dtype=self._dtype(
                spec["dtype"]), device=self.device) for spec in self.outputs]
        else:
            check_tensors(f"{self.meta['name']} outputs=", "tensors",
                          outputs, self.outputs, device, len(self.inputs))
        buffers = {spec["name"]: t for spec, t in zip(self.inputs, inputs)}
        buffers.update({spec["name"]: t for spec, t in
                        zip(self.outputs, outputs)})
        # Scratch lives for this call only; the op's first kernel that uses
        # it writes every element before any kernel reads it.
        buffers.update({spec["name"]: torch.empty(
            spec["shape"], dtype=self._dtype(spec["dtype"]),
            device=self.device) for spec in self.scratch})
        for meta, function, constants in zip(self.kernels, self._functions,
                                             self._constants):
            tensors = dict(buffers, **constants)
            self._launch(meta, function,
                         [tensors[a["name"]] for a in meta["args"]])
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _launch(self, meta, function, tensors):
        cu = self._cu
        params = [ctypes.c_void_p(t.data_ptr()) for t in tensors]
        pointers = (ctypes.c_void_p * len(params))(
            *[ctypes.addressof(p) for p in params])
        grid = meta["grid"] + [1] * (3 - len(meta["grid"]))
        block = meta["block"] + [1] * (3 - len(meta["block"]))
        stream = self._torch.cuda.current_stream(self.device).cuda_stream
        _check(cu, cu.cuLaunchKernel(function, *grid, *block,
                                     meta.get("shared_bytes", 0),
                                     cu.CUstream(stream),
                                     ctypes.addressof(pointers), 0),
               "cuLaunchKernel")


def median_ms(fn, warmup: int = 3, repeat: int = 20) -> float:
    """Median CUDA-event time of `fn()` in ms, after `warmup` calls (so that
    module loads and compiles stay out of the numbers)."""
    import torch
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)
