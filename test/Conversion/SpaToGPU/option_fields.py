#!/usr/bin/env python3
# RUN: %python %s --root %spa_src_root
"""Every option of convert-spa-to-gpu reaches the kernels from every front
end.

The options are declared once, in Passes.td; the pass and the pipelines'
options (Pipelines.h) each hold their own copy and fill the generated
`ConvertSpaToGPUOptions` struct through one field list,
SPA_GPU_KERNEL_OPTION_FIELDS (GpuOptions.h). An option declared in Passes.td
but missing from that list compiles and is silently ignored (it once was:
stored-dq-rows, until the pass's own copy was added). This test fails when
the list, Passes.td and the pipelines' options disagree.

  option_fields.py --root SOURCE_DIR
"""

import argparse
import os
import re
import sys


def pass_options(td: str) -> dict:
    """C++ field -> option name of the ConvertSpaToGPU pass."""
    body = td[td.index("def ConvertSpaToGPU "):]
    body = body[:body.index("\ndef ")]
    return dict(re.findall(r'Option<"(\w+)",\s*"([\w-]+)"', body))


def listed_fields(header: str) -> list:
    macro = header[header.index("#define SPA_GPU_KERNEL_OPTION_FIELDS(X)"):]
    macro = macro[:macro.index("\n\n")]
    return re.findall(r"X\((\w+)\)", macro)


def pipeline_options(header: str) -> set:
    """Option names the GPU pipelines declare (PassOptions::Option)."""
    return set(re.findall(r'PassOptions::Option<[^>]+>\s+\w+\{\s*\*this,\s*"([\w-]+)"',
                          header))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True)
    args = parser.parse_args()
    read = lambda *p: open(os.path.join(args.root, *p)).read()
    declared = pass_options(read("include", "spa", "Conversion", "Passes.td"))
    fields = listed_fields(read("include", "spa", "Conversion", "SpaToGPU",
                                "GpuOptions.h"))
    pipelines = pipeline_options(read("include", "spa", "Pipelines",
                                      "Pipelines.h"))
    errors = []
    if len(declared) < 10:
        errors.append(f"found only {len(declared)} options in Passes.td: "
                      "the parser no longer matches the file")
    for field, name in sorted(declared.items()):
        if field not in fields:
            errors.append(f"{name} ({field}) is not in "
                          "SPA_GPU_KERNEL_OPTION_FIELDS: the pass and the "
                          "pipelines would ignore it")
        if name not in pipelines:
            errors.append(f"{name} is not a GPU pipeline option "
                          "(Pipelines.h)")
    for field in fields:
        if field not in declared:
            errors.append(f"SPA_GPU_KERNEL_OPTION_FIELDS lists {field}, "
                          "which Passes.td does not declare")
    for e in errors:
        print("error:", e)
    print(f"{len(declared)} options, {len(fields)} listed fields")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
