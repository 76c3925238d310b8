#!/usr/bin/env python3
# RUN: %python %s --root %spa_src_root
"""Every file under lib/ that writes inline PTX is listed in
docs/gpu-toolchain.md section 10 ("Inline PTX: every place"), and every
file listed there still does.

Issue #14 asks for nvgpu / nvvm ops throughout and inline PTX only where
MLIR 22 has no op, each place listed in docs/gpu-toolchain.md. A call of
InlinePtx.h's builders (ptxStatement, unaryF32Ptx, passThroughF32), of a
file's own PTX-statement helper, or an llvm.inline_asm / nvvm.inline_ptx
built directly counts as writing inline PTX.

  inline_ptx_sites.py --root SOURCE_DIR
"""

import argparse
import os
import re
import sys

CALL = re.compile(r"\b(ptxStatement|unaryF32Ptx|passThroughF32|issuerPtx)\s*\("
                  r"|\bInline(Asm|Ptx)Op::create\s*\("
                  r"|\bcreate\s*<\s*(LLVM::|NVVM::)?Inline(Asm|Ptx)Op\s*>")
# A helper's own definition or declaration is not a call.
DEFINITION = re.compile(r"^\s*(static\s+)?(void|Value|SmallVector<Value>)\s+"
                        r"(ptxStatement|unaryF32Ptx|passThroughF32|issuerPtx)"
                        r"\s*\(")


def sites(root: str) -> set:
    found = set()
    for base, _, files in os.walk(os.path.join(root, "lib")):
        for name in files:
            if not name.endswith((".cpp", ".h")):
                continue
            path = os.path.join(base, name)
            with open(path) as f:
                for line in f:
                    if CALL.search(line) and not DEFINITION.search(line):
                        found.add(os.path.relpath(path, root))
                        break
    return found


def listed(root: str) -> set:
    with open(os.path.join(root, "docs", "gpu-toolchain.md")) as f:
        text = f.read()
    section = text[text.index("## 10. Inline PTX: every place"):]
    end = section.find("\n## ", 1)
    section = section if end < 0 else section[:end]
    return set(re.findall(r"^\| `(lib/[^`]+)` \|", section, re.M))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    args = ap.parse_args()
    found, documented = sites(args.root), listed(args.root)
    ok = True
    for path in sorted(found - documented):
        print(f"{path} writes inline PTX but is not in docs/gpu-toolchain.md "
              "section 10: use an nvvm op, or list the place and why no op "
              "does")
        ok = False
    for path in sorted(documented - found):
        print(f"docs/gpu-toolchain.md section 10 lists {path}, which writes "
              "no inline PTX any more: remove its row")
        ok = False
    if ok:
        print(f"{len(found)} files write inline PTX, each listed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
