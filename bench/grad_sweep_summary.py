#!/usr/bin/env python3
"""One line per variant of bench/grad_sweep.py results, for the device
scripts' sweep_summary.txt:

    python3 grad_sweep_summary.py NAME=OUT/NAME/grad_sweep.json ...

prints "NAME variant fwd F bwd B {kernel: ms} regs [...] diff D finite T";
read_summary(path) reads such a file back (the plot scripts).
"""
import ast
import json
import re
import sys

_LINE = re.compile(r"^(\S+) (\S+) fwd (\S+) bwd (\S+) (\{.*?\})")


def read_summary(path):
    """{(name, variant): {kernel: ms, "forward": F, "backward": B}}."""
    runs = {}
    with open(path) as f:
        for line in f:
            m = _LINE.match(line)
            if m:
                kernels = ast.literal_eval(m.group(5))
                kernels["forward"] = float(m.group(3))
                kernels["backward"] = float(m.group(4))
                runs[(m.group(1), m.group(2))] = kernels
    return runs


def main():
    for arg in sys.argv[1:]:
        name, path = arg.split("=", 1)
        with open(path) as f:
            results = json.load(f)["results"]
        for r in results:
            kernels = {k.split("_")[-1]: round(v, 4)
                       for k, v in r["kernels_ms"].items()}
            print(name, r["name"],
                  "fwd %.4f bwd %.4f" % (r["fwd_ms"], r["bwd_ms"]), kernels,
                  "regs", list(r["registers"].values()),
                  "diff", r["max_diff_vs_first"], "finite", r["finite"])


if __name__ == "__main__":
    main()
