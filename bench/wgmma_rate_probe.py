#!/usr/bin/env python3
"""Device probe (issues #11, #14): the tensor pipe's rate for the wgmma
shapes spa's kernels issue, alone (bench/wgmma_rate_gen.py makes the
kernels; nvcc compiles them to a cubin here). For each kernel and 1-4
warpgroups an SM (one 128-thread block a warpgroup, the count set by the
dynamic shared memory each block asks for and checked with the occupancy
API), a grid of 132 x that many blocks runs `iters` rounds; TFLOP/s =
blocks x iters x the round's FLOPs / time (spa.runtime.timing.bench_ms:
CUDA events, L2 flushed, median).
The ELEMENTWISE kernels count only their products' FLOPs: their rate is
what a tile's chain (products, waits and elementwise phase, no loads) lets
the tensor pipe do.

    python3 bench/wgmma_rate_probe.py --cubin wgmma_rate_probe.cubin --out $OUT/wgmma
"""

import argparse
import ctypes
import json
import os

import torch

from spa.runtime.timing import bench_ms

from wgmma_rate_gen import (DATAPATH, DKDV_PATHS, ELEMENTWISE, HALF_RINGS,
                            ITEM_TILES, ITEMS, KERNELS, shared_needed)


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


SHARE_KIB = {1: 200, 2: 100, 3: 70, 4: 52}  # a block's ask, by blocks an SM


class Probe:
    """The cubin's kernels on this GPU, launched through the driver."""

    def __init__(self, cubin):
        torch.cuda.init()
        torch.zeros(1, device="cuda")
        self.cu = driver()
        image = open(cubin, "rb").read()
        self._image = ctypes.create_string_buffer(image, len(image))
        self.module = check(self.cu, self.cu.cuModuleLoadData(
            ctypes.addressof(self._image)), "load")
        self.sms = torch.cuda.get_device_properties(0).multi_processor_count
        self.out = torch.empty(self.sms * 4 * 128, device="cuda")

    def function(self, name):
        """(CUfunction, registers), its shared-memory limit raised."""
        cu = self.cu
        attrs = cu.CUfunction_attribute
        function = check(cu, cu.cuModuleGetFunction(self.module,
                                                     name.encode()), name)
        registers = check(cu, cu.cuFuncGetAttribute(
            attrs.CU_FUNC_ATTRIBUTE_NUM_REGS, function), "regs")
        check(cu, cu.cuFuncSetAttribute(
            function, attrs.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            200 * 1024), "smem attr")
        return function, registers

    def share(self, function, warpgroups, needed):
        """The shared bytes that hold `warpgroups` blocks an SM, or a
        reason why none does."""
        shared = SHARE_KIB[warpgroups] * 1024
        if shared < needed:
            return None, "operands exceed the share"
        active = check(self.cu, self.cu.cuOccupancyMaxActiveBlocksPerMultiprocessor(
            function, 128, shared), "occupancy")
        if active != warpgroups:
            return None, f"{active} fit"
        return shared, ""

    def time(self, function, warpgroups, shared, values):
        """bench_ms's median (ms) of launches on 132 x warpgroups blocks,
        the kernel's parameters `values` (ctypes scalars) after (out,)."""
        cu = self.cu
        pointer = ctypes.c_void_p(self.out.data_ptr())
        held = (pointer,) + tuple(values)
        params = (ctypes.c_void_p * len(held))(
            *[ctypes.addressof(v) for v in held])
        stream = torch.cuda.current_stream()

        def launch():
            check(cu, cu.cuLaunchKernel(
                function, self.sms * warpgroups, 1, 1, 128, 1, 1, shared,
                cu.CUstream(stream.cuda_stream), ctypes.addressof(params), 0),
                "launch")

        # The project's one timer (SPEC section 3). The launches are long
        # (ms) and compute-bound or re-read small sources, so a short
        # repetition budget keeps the 60-odd rows inside one call.
        return bench_ms(launch, warmup_ms=10.0, rep_ms=60.0,
                        min_reps=5).median


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cubin", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--iters", type=int, default=4000)
    parser.add_argument("--path-iters", type=int, default=400,
                        help="rounds of the data-path kernels")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    probe = Probe(args.cubin)
    rows = []

    def report(row):
        rows.append(row)
        if "ms" in row:
            print(json.dumps(row), flush=True)

    for name, products in {**KERNELS, **ELEMENTWISE}.items():
        function, registers = probe.function(name)
        for warpgroups in (1, 2, 3, 4):
            row = dict(kernel=name, warpgroups=warpgroups,
                       registers=registers)
            shared, why = probe.share(function, warpgroups,
                                      max(shared_needed(products), 49152))
            if shared is None:
                report(dict(row, skipped=why))
                continue
            ms = probe.time(function, warpgroups, shared,
                            [ctypes.c_int(args.iters)])
            flops = probe.sms * warpgroups * args.iters * round_flops(products)
            report(dict(row, ms=ms, tflops=flops / ms / 1e9))
    source = torch.empty(16384 * 32768, dtype=torch.uint8, device="cuda")
    work = torch.randint(0, 4096, (4096,), dtype=torch.int32, device="cuda")
    dst = torch.empty(16384 * 16384, dtype=torch.uint8, device="cuda")
    fwd_flops = round_flops(ELEMENTWISE["fwd_k64_softmax"])
    dkdv_flops = round_flops(ELEMENTWISE["dkdv_k64_elementwise"])
    regions = (("l2", 128), ("dram", 16384))

    def sweep(name, needed, flops, regions, warpgroup_counts, extra=(),
              copied=0, **fields):
        """A data-path kernel (out, iters, src, tiles, *extra) on `tiles`
        32 KiB source tiles of each region, by warpgroups an SM; `copied`
        bytes a round give the copy rate."""
        function, registers = probe.function(name)
        for region, tiles in regions:
            for warpgroups in warpgroup_counts:
                row = dict(kernel=name, region=region, warpgroups=warpgroups,
                           registers=registers, **fields)
                shared, why = probe.share(function, warpgroups, needed)
                if shared is None:
                    report(dict(row, skipped=why))
                    continue
                ms = probe.time(function, warpgroups, shared,
                                [ctypes.c_int(args.path_iters),
                                 ctypes.c_void_p(source.data_ptr()),
                                 ctypes.c_int(tiles)] + list(extra))
                rounds = probe.sms * warpgroups * args.path_iters
                report(dict(row, ms=ms, tflops=rounds * flops / ms / 1e9,
                            copy_tbps=rounds * copied / ms / 1e9))

    # The forward chain with its data path: K and V copied from a region of
    # 128 tiles (4 MiB, L2-resident) or 16,384 (512 MiB, DRAM), single
    # buffers, a two-stage ring, or a ring of 16 KiB half-tile slots.
    for name, (stages, copies) in DATAPATH.items():
        sweep(name, 16384 + stages * 32768 + 64, fwd_flops, regions,
              (1, 2, 3, 4), copied=32768 if copies else 0)
    for name, slots in HALF_RINGS.items():
        sweep(name, 16384 + slots * 16384 + 64, fwd_flops, regions,
              (1, 2, 3, 4), copied=32768)
    # The same chain in work items of ITEM_TILES tiles (L2-resident
    # sources), serial as today's kernel or with the next item's copies
    # issued early (persistent).
    for name in ITEMS:
        sweep(name, 49152 + 64, fwd_flops, regions[:1], (1, 2, 3, 4),
              [ctypes.c_void_p(work.data_ptr()),
               ctypes.c_void_p(dst.data_ptr())], item_tiles=ITEM_TILES)
    # The dK/dV tile's chain with its Q/dO ring, and with dS staged and
    # stored by bulk copies (two blocks an SM at 98 KiB).
    for name in DKDV_PATHS:
        sweep(name, 16384 + 2 * 32768 + 16384 + 64, dkdv_flops, regions,
              (1, 2), [ctypes.c_void_p(dst.data_ptr())], copied=32768)
    with open(os.path.join(args.out, "wgmma_rate.json"), "w") as f:
        json.dump(dict(device=torch.cuda.get_device_name(),
                       clock_mhz=torch.cuda.clock_rate(),
                       iters=args.iters, path_iters=args.path_iters,
                       rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
