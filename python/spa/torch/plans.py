"""Per-call plans of `spa::attention`: what one kernel configuration runs on
one device, found per call by a cheap tuple key instead of rebuilding and
hashing a KernelConfig (its band table, the device's capability).

The key holds the device, q's dtype, the three shapes and the band choice
exactly as the op received them; everything else the kernels depend on is
checked where it is cheap and per call: k's and v's dtypes and devices by
the CUDA layer's signature check (runtime/cuda.py) or the CPU function's
argument check, layout by `.contiguous()`, alignment here (`ready`). So a
call that differs in anything the code depends on misses the cache or is
refused; it never reuses another configuration's plan.
"""

import threading

import torch

from . import cpu, cuda
from .config import KernelConfig

# Above this many plans the memo starts again (a workload of ever-new
# shapes compiles per shape anyway; this only bounds the memory).
MAX_PLANS = 1024
# The launcher refuses device pointers less aligned than this.
POINTER_ALIGN = 16

_plans = {}
_lock = threading.Lock()
stats = {"hits": 0, "misses": 0}


def ready(t: torch.Tensor) -> torch.Tensor:
    """Dense row-major and 16-byte aligned, as the kernels read it: a copy
    only where `t` is not already."""
    t = t.contiguous()
    if t.data_ptr() % POINTER_ALIGN:
        t = t.clone()  # a view at an odd offset; the copy is aligned
    return t


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
    (spa.runtime.cuda.CudaLayer: they check dtypes, shapes and devices,
    allocate the outputs and launch in the device's context on its current
    stream)."""

    def __init__(self, config: KernelConfig, device: torch.device):
        self.config = config
        self.forward_layer, self.gradient_layer = cuda.layers(config, device)

    def forward(self, q, k, v):
        return self.forward_layer(ready(q), ready(k), ready(v))

    def forward_prechecked(self, q, k, v):
        """forward for tensors whose types, dtypes, shapes and devices
        passed the layer's check before (fastpath.py)."""
        return self.forward_layer.run_prechecked((ready(q), ready(k),
                                                  ready(v)))

    def backward(self, q, k, v, out, lse, dout):
        return self.gradient_layer(ready(q), ready(k), ready(v), ready(out),
                                   ready(lse), ready(dout))


def _config(q, k, v, bands, policy, mode, window, scale) -> KernelConfig:
    from .arguments import TORCH_TO_IR
    target = "cpu" if q.device.type == "cpu" else cuda.target(q.device)
    return KernelConfig.from_tensors(target, q, k, v, TORCH_TO_IR[q.dtype],
                                     bands, policy, mode, window, scale)


def plan_for(q, k, v, bands, policy: str, mode: str, window: int,
             scale: float):
    """The plan of this call's configuration, made on first use."""
    key = (q.device, q.dtype, q.shape, k.shape, v.shape, tuple(bands),
           policy, mode, window, scale)
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

