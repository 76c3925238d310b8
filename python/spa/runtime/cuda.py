"""Load and launch a compiled spa CUDA artifact (cubin + PTX + launch.json)
through the CUDA driver API (cuda-python), on PyTorch tensors.

    from spa.runtime.cuda import CudaArtifact, CudaLayer
    layer = CudaLayer(CudaArtifact.load("artifacts/layer"))
    out, lse = layer(q, k, v)        # torch tensors on the GPU

No MLIR is needed here. The artifact's kernel takes one device pointer per
buffer (bare-pointer ABI): query, key, value, output, [log_sum_exp], then
the constant buffers (band bounds, cost-sorted work list) in metadata order.
"""

import ctypes
import json
import os
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
    """A loaded kernel: call it with (q, k, v) CUDA tensors of the compiled
    shapes and dtype; returns (out, lse) or out."""

    def __init__(self, artifact: CudaArtifact, device: int = 0,
                 use_ptx: bool = False):
        import torch
        self._torch = torch
        self.artifact = artifact
        self.meta = artifact.kernel
        self.device = torch.device("cuda", device)
        torch.cuda.init()
        torch.empty(1, device=self.device)  # make torch's primary context current
        cu = self._cu = _driver()
        _check(cu, cu.cuInit(0), "cuInit")
        image = (artifact.ptx.encode() + b"\0") if use_ptx else artifact.cubin
        self._image = ctypes.create_string_buffer(image, len(image))
        self._module = _check(cu, cu.cuModuleLoadData(
            ctypes.addressof(self._image)), "cuModuleLoadData")
        self._function = _check(cu, cu.cuModuleGetFunction(
            self._module, self.meta["name"].encode()), "cuModuleGetFunction")
        attrs = cu.CUfunction_attribute
        self.registers = _check(cu, cu.cuFuncGetAttribute(
            attrs.CU_FUNC_ATTRIBUTE_NUM_REGS, self._function), "registers")
        # Beyond 48 KiB a kernel may use dynamic shared memory only after
        # raising its limit.
        dynamic = self.meta.get("shared_bytes", 0)
        if dynamic > 48 * 1024:
            _check(cu, cu.cuFuncSetAttribute(
                self._function,
                attrs.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                dynamic), "cuFuncSetAttribute")
        self.args = self.meta["args"]
        self._constants = {
            a["name"]: torch.tensor(a["values"], dtype=torch.int32,
                                    device=self.device).reshape(a["shape"])
            for a in self.args if a["kind"] == "constant"}
        self.inputs = [a for a in self.args if a["kind"] == "input"]
        self.outputs = [a for a in self.args if a["kind"] == "output"]

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
        buffers.update(self._constants)
        self._launch([buffers[a["name"]] for a in self.args])
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _launch(self, tensors):
        cu = self._cu
        params = [ctypes.c_void_p(t.data_ptr()) for t in tensors]
        pointers = (ctypes.c_void_p * len(params))(
            *[ctypes.addressof(p) for p in params])
        grid = self.meta["grid"] + [1] * (3 - len(self.meta["grid"]))
        block = self.meta["block"] + [1] * (3 - len(self.meta["block"]))
        stream = self._torch.cuda.current_stream(self.device).cuda_stream
        _check(cu, cu.cuLaunchKernel(self._function, *grid, *block,
                                     self.meta.get("shared_bytes", 0),
                                     cu.CUstream(stream),
                                     ctypes.addressof(pointers), 0),
               "cuLaunchKernel")
