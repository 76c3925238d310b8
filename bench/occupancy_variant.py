#!/usr/bin/env python3
"""Makes an occupancy experiment from compiled artifacts (issue #14): copies
each artifact folder, adds `.minnctapersm N` to one kernel's PTX entry (ptxas
then budgets registers for N blocks an SM, spilling if it must) and
re-assembles the cubin with this machine's ptxas, so that the same kernel
can be timed at two occupancies on the GPU machine without a generator
change. Prints ptxas's register and spill report per artifact.

    python3 bench/occupancy_variant.py --min-blocks 4 --kernel spa_attention_0 \\
        --out .device/occ/spa4 .device/wide/spa/bench_exclusive_equal_b2_h16_n8192_d128 ...
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("artifacts", nargs="+", help="artifact folders")
    parser.add_argument("--out", required=True, help="folder for the copies")
    parser.add_argument("--kernel", default="spa_attention_0")
    parser.add_argument("--min-blocks", type=int, required=True)
    parser.add_argument("--ptxas", default="/usr/local/cuda/bin/ptxas")
    parser.add_argument("--arch", default="sm_90a")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    manifest = []
    for src in args.artifacts:
        name = os.path.basename(os.path.normpath(src))
        dst = os.path.join(args.out, name)
        shutil.copytree(src, dst, dirs_exist_ok=True)
        ptx_path = os.path.join(dst, "kernel.ptx")
        ptx = open(ptx_path).read()
        entry = re.search(r"\.entry %s\(" % re.escape(args.kernel), ptx)
        if not entry:
            sys.exit(f"{src}: no entry {args.kernel} in kernel.ptx")
        bounds = re.compile(r"\.maxntid [0-9, ]+\n")
        tail = ptx[entry.end():]
        found = bounds.search(tail)
        if not found:
            sys.exit(f"{src}: {args.kernel} has no .maxntid")
        at = entry.end() + found.end()
        ptx = (ptx[:at] + f".minnctapersm {args.min_blocks}\n" +
               re.sub(r"^\.minnctapersm \d+\n", "", ptx[at:], count=1))
        open(ptx_path, "w").write(ptx)
        result = subprocess.run(
            [args.ptxas, f"-arch={args.arch}", "-v", ptx_path, "-o",
             os.path.join(dst, "kernel.cubin")],
            capture_output=True, text=True)
        if result.returncode:
            sys.exit(f"{src}: ptxas failed:\n{result.stderr}")
        report = [l.strip() for l in result.stderr.splitlines()
                  if args.kernel in l or "spill" in l or "registers" in l]
        print(name, "|", " ".join(report)[-300:])
        parent = os.path.join(os.path.dirname(os.path.normpath(src)),
                              "manifest.json")
        if os.path.exists(parent):
            manifest += [l for l in json.load(open(parent))
                         if l["name"] == name]
    if manifest:
        json.dump(manifest, open(os.path.join(args.out, "manifest.json"), "w"),
                  indent=1)


if __name__ == "__main__":
    main()
