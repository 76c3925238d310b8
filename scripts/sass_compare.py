#!/usr/bin/env python3
"""Compare the machine code of the PTX regression kernels from two spa-opt
builds: which kernels differ in PTX, and of those, which differ in SASS.

A generator change that alters PTX but leaves every kernel's SASS
byte-identical (register renumbering, reordered index arithmetic that
ptxas schedules the same) runs the same instructions on the GPU: the
kernels' device verification still holds, no device run is needed. A SASS
difference means the change needs the device matrix again.

    git stash; ninja -C build spa-opt; cp build/bin/spa-opt /tmp/spa-opt-old
    git stash pop; ninja -C build spa-opt
    .venv/bin/python scripts/sass_compare.py --old /tmp/spa-opt-old \\
        --new build/bin/spa-opt

Needs ptxas (CUDA toolkit) and cuobjdump (requirements-dev.txt's
nvidia-cuda-cuobjdump wheel, or the toolkit's). Exit status 1 when some
kernel's SASS differs.
"""

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "Conversion", "SpaToGPU"))
from ptx_regression import CASES, case_key, compile_case  # noqa: E402


def find_tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(
        name, path="/usr/local/cuda/bin")
    if found:
        return found
    wheels = glob.glob(os.path.join(sys.prefix, "lib", "python3*",
                                    "site-packages", "nvidia", "cu*", "bin",
                                    name))
    if wheels:
        return wheels[0]
    sys.exit(f"sass_compare: {name} not found (CUDA toolkit or "
             f"requirements-dev.txt)")


def sass_digest(ptx: str, ptxas: str, cuobjdump: str) -> str:
    arch = "sm_90a" if ".target sm_90a" in ptx else "sm_80"
    with tempfile.TemporaryDirectory() as tmp:
        src, cubin = os.path.join(tmp, "k.ptx"), os.path.join(tmp, "k.cubin")
        with open(src, "w") as f:
            f.write(ptx)
        subprocess.run([ptxas, f"-arch={arch}", src, "-o", cubin],
                       check=True, capture_output=True)
        sass = subprocess.run([cuobjdump, "-sass", cubin], check=True,
                              capture_output=True, text=True).stdout
    return hashlib.sha256(sass.encode()).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="spa-opt before the change")
    ap.add_argument("--new", required=True, help="spa-opt after the change")
    args = ap.parse_args()
    ptxas, cuobjdump = find_tool("ptxas"), find_tool("cuobjdump")
    same_ptx = 0
    sass_differs, new_only = [], []
    for layer, options in CASES:
        key = case_key(layer, options)
        new = compile_case(args.new, layer, options)
        try:
            old = compile_case(args.old, layer, options)
        except RuntimeError:
            print(f"new (the old spa-opt cannot compile it): {key}")
            new_only.append(key)
            continue
        if old == new:
            same_ptx += 1
            continue
        if sass_digest(old, ptxas, cuobjdump) == sass_digest(
                new, ptxas, cuobjdump):
            print(f"PTX differs, SASS identical: {key}")
        else:
            print(f"SASS differs: {key}")
            sass_differs.append(key)
    compared = len(CASES) - len(new_only)
    print(f"{compared} kernels compared: {same_ptx} with identical PTX, "
          f"{compared - same_ptx - len(sass_differs)} with identical SASS "
          f"only, {len(sass_differs)} with different SASS; "
          f"{len(new_only)} new")
    return 1 if sass_differs else 0


if __name__ == "__main__":
    sys.exit(main())
