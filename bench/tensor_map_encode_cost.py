#!/usr/bin/env python3
"""Host cost of the per-call tensor-map encodes (launcher ABI 2; #12
follow-up in docs/status.md): the compiled launcher (libspa_launcher.so)
packs an artifact's forward plan (3 maps) and backward plan (8 maps) with
the launches stood in by spa_launcher_null_launch, once with the driver's
cuTensorMapEncodeTiled and once with the library's zeroing stand-in; the
difference per map is what encoding costs a call.

On the GPU machine (a driver; no kernel runs):
    PYTHONPATH=python SPA_LAUNCHER_LIB=.../libspa_launcher.so \\
        python bench/tensor_map_encode_cost.py --artifact DIR --out OUT
"""

import argparse
import json
import os
import time

from spa.runtime import launcher as L


def plan_kernels(meta, roles):
    """KernelLaunch entries of the artifact's kernels of `roles`, with every
    buffer given its own slot and a fake function handle (nothing runs)."""
    slot_of, kernels = {}, []
    for kernel in meta["kernels"]:
        if kernel["role"] not in roles:
            continue
        for arg in kernel["args"]:
            if arg["kind"] not in ("constant", "tensor_map"):
                slot_of.setdefault(arg["name"], len(slot_of))
        constants = {a["name"]: 0x10000 for a in kernel["args"]
                     if a["kind"] == "constant"}
        kernels.append(L.kernel_launch(kernel, 1, slot_of, constants))
    return kernels, len(slot_of)


def time_calls(call, calls):
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--artifact", required=True,
                        help="a saved forward + gradient artifact")
    parser.add_argument("--out", required=True)
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    import torch
    torch.cuda.init()  # a current context for the driver's encoder
    with open(os.path.join(args.artifact, "launch.json")) as f:
        meta = json.load(f)
    library = L.LauncherLibrary(L.library_path())
    library.set_driver(library.null_launch_address())
    real = L._libcuda_tensor_map_encoder()
    assert real, "no cuTensorMapEncodeTiled in this driver"
    rows = {}
    for name, roles in (("forward", {"forward"}),
                        ("backward", {"preprocess", "dkdv", "dq"})):
        kernels, slots = plan_kernels(meta, roles)
        maps = sum(1 for k in kernels for a in k.args
                   if a[0] == L.ARG_TENSOR_MAP)
        # Real allocations (the driver checks the addresses); encoding reads
        # no memory, so 64 MiB each is plenty.
        buffers = [torch.empty(1 << 26, dtype=torch.uint8, device="cuda")
                   for _ in range(slots)]
        pointers = [b.data_ptr() for b in buffers]
        times = {}
        for encoder, address in (("driver", real),
                                 ("stand_in",
                                  library.null_tensor_map_encoder_address())):
            library.set_tensor_map_encoder(address)
            launch = L.CompiledLauncher(library, kernels, slots, 0)
            launch(pointers, 0)  # refusals raise here, not in the timing
            times[encoder] = time_calls(lambda: launch(pointers, 0),
                                        args.calls)
        rows[name] = dict(maps=maps, us_per_call_driver=times["driver"],
                          us_per_call_stand_in=times["stand_in"],
                          us_per_map=(times["driver"] - times["stand_in"]) /
                          max(maps, 1))
        print(f"{name:9s} {maps} maps: {times['driver']:.2f} us a call with "
              f"the driver's encoder, {times['stand_in']:.2f} with the "
              f"stand-in: {rows[name]['us_per_map']:.3f} us a map",
              flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "tensor_map_encode_cost.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
