#!/usr/bin/env python3
"""Host time per call of small spa.torch calls (issue #12: under 15 us per
call), next to what the pieces cost and what PyTorch's own SDPA costs on
the same shape.

On the GPU machine (PyTorch, cuda-python, no MLIR), with the kernels of
bench/torch_overhead_configs.json and the launcher built here (docs/torch.md,
"Launch overhead"):

    SPA_CACHE_DIR=.device/torch-cache \\
    SPA_LAUNCHER_LIB=.device/launcher/libspa_launcher.so \\
    PYTHONPATH=python python bench/torch_overhead.py --out $OUT

Here, without a GPU (`--stub`, needs the compiler for launch.json): the
same host path on CPU tensors, the kernels "launched" into a driver
stand-in (spa_launcher_null_launch, or a no-op cuLaunchKernel for the
cuda-python launcher): everything but the driver's own cost and the CUDA
caching allocator.

Rows (us per call: the best of 5 rounds of --calls calls, host time; on
CUDA also the round's time until the GPU finished):
  spa_forward[_dispatcher]          spa.torch.attention, no gradient; the
                                    eager fast path, or forced through
                                    torch.ops.spa.attention
  spa_forward_backward[_dispatcher] attention + torch.autograd.grad
  spa_forward[_backward]_python_path the same without the compiled call
                                    path (native.py): Python allocation
                                    and packing around the same launcher
  spa_forward_table                 an explicit band table instead of a
                                    policy (the same bands)
  module_forward                    spa.torch.BandedAttention
  layer_forward                     CudaLayer call (checks, allocation,
                                    launch)
  launcher_forward / _backward      the compiled launcher alone (pointers
                                    ready)
  launcher_forward_cuda_python      the cuda-python launcher alone
  sdpa_forward[_backward]           F.scaled_dot_product_attention(
                                    is_causal=True), same shape
  custom_op_noop                    a torch.library.custom_op of the same
                                    schema that returns at once (dispatch
                                    alone)
Writes OUT/torch_overhead.json.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from typing import List, Tuple

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.append(os.path.join(ROOT, "python"))  # after PYTHONPATH

import spa.torch as st  # noqa: E402
from spa.runtime import launcher as spa_launcher  # noqa: E402
from spa.torch import fastpath, plans  # noqa: E402
from spa.torch.config import KernelConfig  # noqa: E402

# The two configurations of bench/torch_overhead_configs.json (precompiled
# for the GPU machine): one shape, by policy and by the table that policy
# plans for it.
with open(os.path.join(ROOT, "bench", "torch_overhead_configs.json")) as f:
    _BY_POLICY, _BY_TABLE = json.load(f)
SHAPE = {k: _BY_POLICY[k] for k in ("batch", "heads", "seq_len", "head_dim")}
POLICY = _BY_POLICY["policy"]
TABLE = [[tuple(p) for p in head] for head in _BY_TABLE["bands"]]


def timed(fn, calls: int, sync) -> dict:
    for _ in range(50):
        fn()
    sync()
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        host = time.perf_counter() - start
        sync()
        rounds.append((host, time.perf_counter() - start))
    best = min(rounds)
    return {"us_host": best[0] / calls * 1e6,
            "us_with_sync": best[1] / calls * 1e6,
            "us_host_median": statistics.median(r[0] for r in rounds)
            / calls * 1e6}


# --- the stand-in for --stub ------------------------------------------------

class _NoDriver:
    """What PythonLauncher calls of cuda-python, doing nothing."""
    CUfunction = CUstream = CUcontext = staticmethod(lambda x=0: x)

    @staticmethod
    def cuLaunchKernel(*args):
        return (0,)


def _stub_library():
    """A private copy of libspa_launcher.so wired to its null launch."""
    path = spa_launcher.library_path()
    if path is None:
        sys.exit("--stub needs libspa_launcher.so (ninja -C build "
                 "spa_launcher, or SPA_LAUNCHER_LIB)")
    copy = os.path.join(tempfile.mkdtemp(), "libspa_launcher_stub.so")
    shutil.copy(path, copy)
    library = spa_launcher.LauncherLibrary(copy)
    library.set_driver(library.null_launch_address())
    # The backward kernels take TMA tensor maps, encoded per call: time the
    # encode calls too, with the library's zeroing stand-in.
    library.set_tensor_map_encoder(library.null_tensor_map_encoder_address())
    return library


def _stand_in_layer(artifact, op, make_launcher):
    from spa.runtime.cuda import CudaLayer, op_launches
    layer = CudaLayer.__new__(CudaLayer)
    layer.device = torch.device("cpu")
    count = len(op_launches(artifact.metadata, op).kernels)
    functions = [0x1000 * (i + 1) for i in range(count)]
    layer._prepare(artifact, op, functions, 0, make_launcher,
                   lambda index: 0)
    return layer


def install_stub():
    """CPU tensors get CudaPlans of stand-in layers: the CUDA call path
    with CPU allocations and the null launch."""
    from spa.torch.cache import load_or_build_artifact
    from spa.torch.cuda import _build
    library = _stub_library()

    def compiled(kernels, slots, context):
        return spa_launcher.CompiledLauncher(library, kernels, slots,
                                             context)

    class StubPlan(plans.CudaPlan):
        def __init__(self, config: KernelConfig):
            gpu = replace(config, target="cuda:sm_90a")
            artifact, _ = load_or_build_artifact(gpu, _build)
            super().__init__(config, torch.device("cpu"), layers=(
                _stand_in_layer(artifact, 0, compiled),
                _stand_in_layer(artifact, 1, compiled)))
    plans.CpuPlan = StubPlan
    plans.clear()


# --- the rows ----------------------------------------------------------------

def custom_noop():
    from torch import Tensor

    @torch.library.custom_op("spa_bench::noop", mutates_args=())
    def noop(q: Tensor, k: Tensor, v: Tensor, bands: List[int], policy: str,
             mode: str, window: int, scale: float,
             lse_grad: bool) -> Tuple[Tensor, Tensor]:
        return q.new_empty(q.shape), q.new_empty(q.shape[:3])

    @noop.register_fake
    def _(q, k, v, bands, policy, mode, window, scale, lse_grad):
        return q.new_empty(q.shape), q.new_empty(q.shape[:3])
    return noop


def measure(device, stub: bool, calls: int) -> dict:
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    b, h, n, d = (SHAPE[x] for x in ("batch", "heads", "seq_len",
                                      "head_dim"))
    gen = torch.Generator(device=device).manual_seed(0)

    def rnd(requires_grad=False):
        return torch.randn(b, h, n, d, generator=gen, device=device,
                           dtype=torch.bfloat16
                           ).requires_grad_(requires_grad)
    q, k, v, dout = rnd(), rnd(), rnd(), rnd()
    qg, kg, vg = rnd(True), rnd(True), rnd(True)
    rows = {}

    def spa_fwd():
        return st.attention(q, k, v, policy=POLICY)

    def spa_fwd_bwd():
        out = st.attention(qg, kg, vg, policy=POLICY)
        return torch.autograd.grad(out, (qg, kg, vg), dout)

    # The fast path and the dispatcher give the same numbers (the stub's
    # outputs are never written: nothing to compare).
    if not stub:
        fast = (spa_fwd(),) + spa_fwd_bwd()
        fastpath.set_enabled(False)
        slow = (spa_fwd(),) + spa_fwd_bwd()
        fastpath.set_enabled(True)
        rows["fast_path_equals_dispatcher"] = bool(torch.equal(fast[0],
                                                               slow[0]))
        rows["fast_path_vs_dispatcher_grad_max_diff"] = max(
            (a.float() - b.float()).abs().max().item()
            for a, b in zip(fast[1:], slow[1:]))

    rows["spa_forward"] = timed(spa_fwd, calls, sync)
    rows["spa_forward_backward"] = timed(spa_fwd_bwd, calls // 4, sync)
    fastpath.set_enabled(False)
    rows["spa_forward_dispatcher"] = timed(spa_fwd, calls // 4, sync)
    rows["spa_forward_backward_dispatcher"] = timed(spa_fwd_bwd,
                                                    calls // 8, sync)
    fastpath.set_enabled(True)
    rows["spa_forward_table"] = timed(
        lambda: st.attention(q, k, v, bands=TABLE), calls, sync)
    module = st.BandedAttention(policy=POLICY)
    rows["module_forward"] = timed(lambda: module(q, k, v), calls, sync)

    plan = next(p for p in plans._plans.values()
                if isinstance(p, plans.CudaPlan))
    # The same calls without the compiled call path (native.py): what the
    # Python path costs around the same launcher.
    fast = (plan.fast_forward, plan.fast_gradient)
    if fast[0] is not None:
        plan.fast_forward = plan.fast_gradient = None
        fastpath.clear()  # forgets the quick calls (fastpath.quick_forward)
        rows["spa_forward_python_path"] = timed(spa_fwd, calls, sync)
        rows["spa_forward_backward_python_path"] = timed(spa_fwd_bwd,
                                                         calls // 4, sync)
        plan.fast_forward, plan.fast_gradient = fast
    fwd_layer, grad_layer = plan.forward_layer, plan.gradient_layer
    rows["layer_forward"] = timed(lambda: fwd_layer(q, k, v), calls, sync)
    out, lse = fwd_layer(q, k, v)
    stream = torch.cuda.current_stream(device).cuda_stream if cuda else 0
    pointers = [t.data_ptr() for t in (q, k, v, out, lse)]
    launch = fwd_layer.launcher
    rows["launcher_forward"] = timed(lambda: launch(pointers, stream),
                                     calls, sync)
    delta = torch.empty(grad_layer._allocations[-1][0], device=device)
    grads = [torch.empty_like(t) for t in (q, k, v)]
    # Slots: inputs in op order, then outputs, then scratch.
    by_name = {"query": q, "key": k, "value": v, "output": out,
               "log_sum_exp": lse, "output_grad": dout,
               "query_grad": grads[0], "key_grad": grads[1],
               "value_grad": grads[2], "delta": delta}
    grad_pointers = [by_name[s["name"]].data_ptr() for s in
                     grad_layer.inputs + grad_layer.outputs
                     + grad_layer.scratch]
    rows["launcher_backward"] = timed(
        lambda: grad_layer.launcher(grad_pointers, stream), calls, sync)
    python_launch = spa_launcher.PythonLauncher(
        launch.kernels, launch.slots, 0 if stub else fwd_layer.context,
        driver=_NoDriver if stub else None)
    rows["launcher_forward_cuda_python"] = timed(
        lambda: python_launch(pointers, stream), calls, sync)

    if not stub:
        rows["sdpa_forward"] = timed(
            lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
            calls, sync)

        def sdpa_fwd_bwd():
            out = F.scaled_dot_product_attention(qg, kg, vg, is_causal=True)
            return torch.autograd.grad(out, (qg, kg, vg), dout)
        rows["sdpa_forward_backward"] = timed(sdpa_fwd_bwd, calls // 4, sync)
    noop = custom_noop()
    rows["custom_op_noop"] = timed(
        lambda: noop(q, k, v, [], POLICY, "causal", -1, 0.125, False),
        calls // 4, sync)
    return rows


def main():
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stub", action="store_true",
                        help="CPU tensors and a driver stand-in (no GPU)")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", default=".")
    args = parser.parse_args()
    if args.stub:
        install_stub()
        device = torch.device("cpu")
    else:
        device = torch.device("cuda", 0)
    result = {"torch": torch.__version__,
              "device": (torch.cuda.get_device_name(device)
                         if device.type == "cuda" else "cpu (stub)"),
              "shape": dict(SHAPE, dtype="bf16", policy=POLICY),
              "launch_path": st.launch_path()}
    if args.stub:
        result["launch_path"]["launcher"] = "compiled (null driver)"
    result["rows"] = measure(device, args.stub, args.calls)
    for name, row in result["rows"].items():
        if isinstance(row, dict):
            print(f"{name:36s} {row['us_host']:8.2f} us/call host "
                  f"(median {row['us_host_median']:.2f}, with sync "
                  f"{row['us_with_sync']:.2f})", flush=True)
        else:
            print(f"{name:36s} {row}")
    print("launch path:", result["launch_path"])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "torch_overhead.json"), "w") as f:
        json.dump(result, f, indent=1)
    ok = result["rows"].get("fast_path_equals_dispatcher", True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
