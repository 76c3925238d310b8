#!/usr/bin/env python3
"""Device probe (issues #11, #14): the tensor pipe's rate for the wgmma
shapes spa's kernels issue, alone (bench/wgmma_rate_gen.py makes the
kernels; nvcc compiles them to a cubin here). For each kernel and 1-4
warpgroups an SM (one 128-thread block a warpgroup, the count set by the
dynamic shared memory each block asks for and checked with the occupancy
API), a grid of 132 x that many blocks runs `iters` rounds; TFLOP/s =
blocks x iters x the round's FLOPs / time (CUDA events, median of 5).
The ELEMENTWISE kernels count only their products' FLOPs: their rate is
what a tile's chain (products, waits and elementwise phase, no loads) lets
the tensor pipe do.

    python3 bench/wgmma_rate_probe.py --cubin wgmma_rate_probe.cubin --out $OUT/wgmma
"""

import argparse
import ctypes
import json
import os
import statistics

import torch

from wgmma_rate_gen import ELEMENTWISE, KERNELS, shared_needed


def driver():
    try:
        from cuda.bindings import driver as cu
    except ImportError:
        from cuda import cuda as cu  # type: ignore
    return cu


def check(cu, ret, what):
    if not isinstance(ret, tuple):
        ret = (ret,)
    if int(ret[0]) != 0:
        raise RuntimeError(f"{what}: {cu.cuGetErrorName(ret[0])[1]}")
    return ret[1] if len(ret) == 2 else ret[1:]


def round_flops(products):
    return sum(2 * 64 * n * 16 * steps for n, steps, _ in products)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cubin", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--iters", type=int, default=4000)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.cuda.init()
    torch.zeros(1, device="cuda")
    cu = driver()
    image = open(args.cubin, "rb").read()
    buffer = ctypes.create_string_buffer(image, len(image))
    module = check(cu, cu.cuModuleLoadData(ctypes.addressof(buffer)), "load")
    props = torch.cuda.get_device_properties(0)
    sms = props.multi_processor_count
    out = torch.empty(sms * 4 * 128, device="cuda")
    stream = torch.cuda.current_stream()
    attrs = cu.CUfunction_attribute
    rows = []
    for name, products in {**KERNELS, **ELEMENTWISE}.items():
        function = check(cu, cu.cuModuleGetFunction(module, name.encode()),
                         name)
        registers = check(cu, cu.cuFuncGetAttribute(
            attrs.CU_FUNC_ATTRIBUTE_NUM_REGS, function), "regs")
        check(cu, cu.cuFuncSetAttribute(
            function, attrs.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            200 * 1024), "smem attr")
        for warpgroups in (1, 2, 3, 4):
            shared = {1: 200, 2: 100, 3: 70, 4: 52}[warpgroups] * 1024
            if shared < max(shared_needed(products), 49152):
                rows.append(dict(kernel=name, warpgroups=warpgroups,
                                 registers=registers,
                                 skipped="operands exceed the share"))
                continue
            active = check(cu, cu.cuOccupancyMaxActiveBlocksPerMultiprocessor(
                function, 128, shared), "occupancy")
            if active != warpgroups:
                rows.append(dict(kernel=name, warpgroups=warpgroups,
                                 registers=registers, skipped=f"{active} fit"))
                continue
            grid = sms * warpgroups
            pointer = ctypes.c_void_p(out.data_ptr())
            iters = ctypes.c_int(args.iters)
            params = (ctypes.c_void_p * 2)(ctypes.addressof(pointer),
                                           ctypes.addressof(iters))

            def launch():
                check(cu, cu.cuLaunchKernel(
                    function, grid, 1, 1, 128, 1, 1, shared,
                    cu.CUstream(stream.cuda_stream),
                    ctypes.addressof(params), 0), "launch")

            launch()
            torch.cuda.synchronize()
            times = []
            for _ in range(5):
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                launch()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            ms = statistics.median(times)
            flops = grid * args.iters * round_flops(products)
            row = dict(kernel=name, warpgroups=warpgroups,
                       registers=registers, ms=ms,
                       tflops=flops / ms / 1e9)
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(os.path.join(args.out, "wgmma_rate.json"), "w") as f:
        json.dump(dict(device=torch.cuda.get_device_name(),
                       clock_mhz=torch.cuda.clock_rate(),
                       iters=args.iters, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
