#!/usr/bin/env python3
# REQUIRES: ptxas
# RUN: %python %s --spa-opt %spa_tools_dir/spa-opt
"""No generated sm_90a kernel makes ptxas serialise its wgmma instructions.

ptxas keeps the asynchronous wgmma pipeline only when nothing but wgmma
touches a product's registers between its issue and its wait; otherwise it
inserts waits after every wgmma of the function and says so with a warning
(C7510-C7520, "wgmma.mma_async instructions are serialized ..."). The
kernel stays correct and loses the overlap it was written for, silently
unless someone reads ptxas's log: the forward's `ws-overlap` form lost
13-17% that way until the P V product's A registers were kept live up to its
wait (Wgmma.h, waitForAccumulators).

Assembles every sm_90a kernel of the PTX regression set (ptx_regression.py's
CASES) with `ptxas -arch=sm_90a` and fails on any such warning.

  ptxas_wgmma_pipeline.py --spa-opt build/bin/spa-opt [--ptxas PATH]
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ptx_regression import CASES, case_key, compile_case  # noqa: E402

# "ptxas warning : (C7513) Potential Performance Loss: wgmma.mma_async ..."
_SERIALISED = re.compile(r"\((C75\d\d)\)[^\n]*wgmma[^\n]*serializ", re.I)


def default_ptxas() -> str:
    return shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"


def assemble(ptxas: str, ptx: str) -> str:
    """ptxas's log (stderr) for one kernel; raises if it does not assemble."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "kernel.ptx")
        with open(path, "w") as f:
            f.write(ptx)
        proc = subprocess.run(
            [ptxas, "-arch=sm_90a", "-v", path, "-o",
             os.path.join(tmp, "kernel.cubin")],
            capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ptxas failed:\n{proc.stderr}")
    return proc.stderr


def check_case(spa_opt: str, ptxas: str, layer: str, options: str):
    ptx = compile_case(spa_opt, layer, options)
    if ".target sm_90a" not in ptx:
        return None  # mma.sync / sm_80 kernels: no wgmma
    return _SERIALISED.findall(assemble(ptxas, ptx))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spa-opt", required=True)
    ap.add_argument("--ptxas", default=default_ptxas())
    args = ap.parse_args()

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        results = list(pool.map(
            lambda c: check_case(args.spa_opt, args.ptxas, *c), CASES))
    checked = [r for r in results if r is not None]
    serialised = [(case_key(*c), sorted(set(r)))
                  for c, r in zip(CASES, results) if r]
    for key, codes in serialised:
        print(f"wgmma serialised by ptxas ({', '.join(codes)}): {key}")
    if serialised:
        print("ptxas serialises a kernel's wgmma when a non-wgmma instruction "
              "writes a register an in-flight product reads (accumulators or "
              "register A operands) before its wait; see Wgmma.h.")
        return 1
    if not checked:
        print("no sm_90a kernel in the set: nothing was checked")
        return 1
    print(f"{len(checked)} sm_90a kernels keep their wgmma pipelines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
