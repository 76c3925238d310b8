#!/usr/bin/env python3
"""A model imported through torch-mlir, compiled by
`spa.compile(module, target="cuda:sm_90a", entry="main")` and saved
(`CudaModule.save`), run on the GPU machine without MLIR: host code from
host.so on the CPU, each attention op's artifact on the GPU
(docs/integrations.md, Flow 1b).

Prepare here (needs the compiler and torch-mlir; writes the git-ignored
.device/cuda-module):

    PYTHONPATH=build/python_packages:test/lib .venv/bin/python \\
        bench/cuda_module_device.py prepare --dir .device/cuda-module

Run on the GPU machine (PyTorch + cuda-python, no MLIR), from the
repository root, carrying .device/cuda-module:

    PYTHONPATH=python:test/lib python3 bench/cuda_module_device.py run \\
        --dir .device/cuda-module --out $OUT

Per model (the issue's block, and two attention ops with different bands),
with fresh random inputs: the loaded CudaModule (attention on the GPU)
against eager PyTorch on the GPU (the same weights; the attention written
from the definition as a masked dense softmax, torch_reference) and
against the float64 NumPy model. f32 attention on the GPU runs on tf32
tensor cores: tolerance 5e-3 (docs/gpu.md). Writes
$OUT/cuda_module_device.json; exit status 1 when a check fails.
"""

import argparse
import json
import os
import sys
import time
import zlib

import numpy as np

TOL = 5e-3

# name -> (constructor, its arguments, input shape)
MODELS = {
    "block": ("Block", dict(d=64, heads=4, kv_heads=2, head_dim=16,
                            value_dim=16, policy="local_plus_band"),
              (1, 100, 64)),
    "two": ("TwoAttentions", dict(d=64, n=130), (2, 130, 64)),
}


def build(kind, arguments):
    import torch_block
    if kind == "Block":
        args = dict(arguments)
        return torch_block.Block(args.pop("d"), args.pop("heads"),
                                 args.pop("kv_heads"), args.pop("head_dim"),
                                 args.pop("value_dim"), **args)
    return torch_block.TwoAttentions(**arguments)


def prepare(directory):
    import torch
    import spa
    import spa.torch_mlir
    for name, (kind, arguments, shape) in MODELS.items():
        torch.manual_seed(zlib.crc32(name.encode()))
        model = build(kind, arguments).eval()
        x = torch.randn(shape)
        module = spa.torch_mlir.import_module(model, x)
        start = time.perf_counter()
        cm = spa.compile(module, target="cuda:sm_90a", entry="main")
        seconds = time.perf_counter() - start
        folder = os.path.join(directory, name)
        cm.save(folder)
        torch.save(model.state_dict(), os.path.join(folder, "weights.pt"))
        # The stand-in's answer here, for the record (CPU attention).
        y = cm(x.numpy(), runner=cm.cpu_runner())
        with torch.no_grad():
            err = float(np.abs(y - model(x).numpy()).max())
        with open(os.path.join(folder, "model.json"), "w") as f:
            json.dump({"kind": kind, "arguments": arguments,
                       "shape": list(shape), "compile_s": seconds,
                       "stand_in_vs_eager_cpu": err}, f, indent=1)
        print(f"{name}: {len(cm.artifacts)} artifacts, compiled in "
              f"{seconds:.1f} s, CPU stand-in vs eager {err:.2e} -> {folder}")


def dense_attention(q, k, v, *, policy="local_plus_band", bands=None,
                    mode="causal", scale=None, **_):
    """spa.torch.attention's definition in eager PyTorch (float64 dense
    softmax over the band mask), on q's device, in q's dtype."""
    import spa_reference
    import torch_reference
    table = bands or spa_reference.band_table(policy, k.shape[2], q.shape[1],
                                              mode)
    out, _ = torch_reference.attention(q, k, v, table, mode, scale)
    return out.to(q.dtype)


def rel(got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    return float(np.abs(got - ref).max() / (1 + np.abs(ref).max()))


def run(directory, out):
    import torch
    import spa.torch
    from spa.runtime.cuda_module import load_module
    results, ok = [], True
    for name in MODELS:
        folder = os.path.join(directory, name)
        with open(os.path.join(folder, "model.json")) as f:
            info = json.load(f)
        model = build(info["kind"], info["arguments"]).eval()
        model.load_state_dict(torch.load(os.path.join(folder, "weights.pt")))
        cm = load_module(folder)
        x = torch.randn(info["shape"], generator=torch.Generator()
                        .manual_seed(zlib.crc32(name.encode()) + 1))
        cm(x.numpy())  # loads the kernels
        torch.cuda.synchronize()
        start = time.perf_counter()
        y = cm(x.numpy())
        seconds = time.perf_counter() - start
        # Eager PyTorch on the GPU with the attention from its definition.
        original = spa.torch.attention
        spa.torch.attention = dense_attention
        try:
            with torch.no_grad():
                eager = model.cuda()(x.cuda()).cpu().numpy()
        finally:
            spa.torch.attention = original
        reference = build(info["kind"], info["arguments"])
        reference.load_state_dict(torch.load(os.path.join(folder,
                                                          "weights.pt")))
        float64 = reference.reference(x)
        row = {"model": name, "artifacts": sorted(cm.artifacts),
               "call_ms": seconds * 1e3,
               "rel_err_vs_eager_gpu": rel(y, eager),
               "rel_err_vs_float64": rel(y, float64),
               "eager_gpu_vs_float64": rel(eager, float64),
               "finite": bool(np.isfinite(y).all())}
        row["ok"] = (row["finite"] and row["rel_err_vs_eager_gpu"] <= TOL
                     and row["rel_err_vs_float64"] <= TOL)
        ok &= row["ok"]
        results.append(row)
        print(json.dumps(row))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "cuda_module_device.json"), "w") as f:
        json.dump({"tolerance": TOL, "device": torch.cuda.get_device_name(),
                   "results": results}, f, indent=1)
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stage", choices=["prepare", "run"])
    parser.add_argument("--dir", default=".device/cuda-module")
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    args = parser.parse_args()
    if args.stage == "prepare":
        prepare(args.dir)
        return 0
    return 0 if run(args.dir, args.out) else 1


if __name__ == "__main__":
    sys.exit(main())
