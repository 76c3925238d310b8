"""Per-call plans of `spa::attention`: what one kernel configuration runs on
one device, found per call by a cheap tuple key instead of rebuilding and
hashing a KernelConfig (its band table, the device's capability).

The key holds the device, q's dtype, the three shapes and strides and the
band choice exactly as the op received them; everything else the kernels
depend on is checked where it is cheap and per call: k's and v's dtypes
and devices by the CUDA layer's signature check (runtime/cuda.py) or the
CPU function's argument check, layout and alignment here (`CudaPlan`
hands each tensor over in its configuration's layout, layouts.as_layout).
So a call that differs in anything the code depends on misses the cache
or is refused; it never reuses another configuration's plan.
"""

import threading

import torch

from . import cpu, cuda, native
from .config import KernelConfig
from .layouts import VECTOR_ALIGNMENT, as_layout, contiguous_strides

# Above this many plans the memo starts again (a workload of ever-new
# shapes compiles per shape anyway; this only bounds the memory).
MAX_PLANS = 1024

_plans = {}
_lock = threading.Lock()
stats = {"hits": 0, "misses": 0}


class CpuPlan:
    def __init__(self, config: KernelConfig):
        self.config = config

    def forward(self, q, k, v):
        return cpu.forward(self.config, q, k, v)

    forward_prechecked = forward

    def backward(self, q, k, v, out, lse, dout):
        return cpu.backward(self.config, q, k, v, out, lse, dout)


class CudaPlan:
    """The loaded forward and gradient ops of a configuration on a device
    (spa.runtime.cuda.CudaLayer: they check dtypes, shapes, devices and
    layouts, allocate the outputs in the contract's layouts and launch in
    the device's context on its current stream).

    Each tensor goes to the kernels in the layout its configuration was
    compiled for (layouts.py): as it is where the strides agree and the
    pointer is 16-byte aligned (the views spa.torch reads in place), else
    copied into that layout (contiguous for unusable views)."""

    def __init__(self, config: KernelConfig, device: torch.device,
                 layers=None):
        """`layers`: (forward, gradient) CudaLayers already loaded (the
        launch-overhead benchmark's stand-ins); else loaded for `device`."""
        self.config = config
        self.forward_layer, self.gradient_layer = (
            layers if layers is not None else cuda.layers(config, device))
        # The compiled call path (native.py), where it serves these layers:
        # one foreign call checks, allocates and launches.
        self.fast_forward = native.fast_call_for(self.forward_layer)
        self.fast_gradient = native.fast_call_for(self.gradient_layer)
        lay = config.layouts()
        self._inputs = (lay.query, lay.key, lay.value)
        self._grad_inputs = self._inputs + (
            lay.output, contiguous_strides(
                (config.batch, config.heads, config.query_len)),
            lay.output_grad)

    def forward(self, q, k, v):
        return self.forward_layer(*map(as_layout, (q, k, v), self._inputs))

    def forward_prechecked(self, q, k, v):
        """forward for tensors whose types, dtypes, shapes and devices
        passed the layer's check before (fastpath.py)."""
        fast = self.fast_forward
        if fast is not None:
            result = fast(q, k, v)
            if result is not None:
                return result
        query, key, value = self._inputs
        # The common case first, cheaply: exactly the compiled strides and
        # aligned pointers (as_layout's answer for them, without its
        # normalisation).
        if q.stride() == query and k.stride() == key and \
                v.stride() == value and not (
                    (q.data_ptr() | k.data_ptr() | v.data_ptr())
                    & (VECTOR_ALIGNMENT - 1)):
            return self.forward_layer.run_prechecked((q, k, v))
        return self.forward_layer.run_prechecked(
            (as_layout(q, query), as_layout(k, key), as_layout(v, value)))

    def backward(self, q, k, v, out, lse, dout):
        fast = self.fast_gradient
        if fast is not None:
            result = fast(q, k, v, out, lse, dout)
            if result is not None:
                return result
        return self.gradient_layer(*map(as_layout, (q, k, v, out, lse, dout),
                                        self._grad_inputs))


def _config(q, k, v, bands, policy, mode, window, scale) -> KernelConfig:
    from .arguments import TORCH_TO_IR
    target = "cpu" if q.device.type == "cpu" else cuda.target(q.device)
    return KernelConfig.from_tensors(target, q, k, v, TORCH_TO_IR[q.dtype],
                                     bands, policy, mode, window, scale)


def plan_for(q, k, v, bands, policy: str, mode: str, window: int,
             scale: float):
    """The plan of this call's configuration, made on first use."""
    key = (q.device, q.dtype, q.shape, k.shape, v.shape, q.stride(),
           k.stride(), v.stride(), tuple(bands), policy, mode, window, scale)
    plan = _plans.get(key)
    if plan is not None:
        stats["hits"] += 1
        return plan
    config = _config(q, k, v, bands, policy, mode, window, scale)
    plan = (CpuPlan(config) if q.device.type == "cpu"
            else CudaPlan(config, q.device))
    with _lock:
        stats["misses"] += 1
        if len(_plans) >= MAX_PLANS:
            _plans.clear()
        _plans[key] = plan
    return plan


def clear() -> None:
    with _lock:
        _plans.clear()
        stats.update(hits=0, misses=0)

