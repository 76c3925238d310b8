# Bad input never crashes spa-opt: every prefix cut of the valid and invalid
# test files, and byte-level mutations of them, must exit 0 (still valid) or
# 1 (a diagnostic), never with a signal or another code.
# RUN: %python %s %spa_tools_dir/spa-opt %spa_src_root/test/Dialect/Spa
import os
import random
import subprocess
import sys

SPA_OPT, DIR = sys.argv[1], sys.argv[2]
SOURCES = ["ops.mlir", "invalid.mlir", "Transforms/balance-bands.mlir"]
PASSES = [[], ["-spa-balance-bands"], ["-spa-balance-bands",
          "-spa-expand-band-bounds", "-convert-spa-to-linalg"]]
rng = random.Random(2026)
inputs = []
for name in SOURCES:
    text = open(os.path.join(DIR, name)).read()
    text = "\n".join(l for l in text.splitlines()
                     if not l.lstrip().startswith("// RUN"))
    chunks = text.split("// -----")
    for chunk in chunks[:12]:
        for cut in sorted(rng.sample(range(1, len(chunk)), min(6, len(chunk) - 1))):
            inputs.append(chunk[:cut])
        for _ in range(6):
            b = bytearray(chunk.encode())
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(len(b))
                b[pos] = rng.choice(b"[](){}<>:,0123456789-x?%@#\"")
            inputs.append(b.decode(errors="replace"))
crashes = 0
for index, text in enumerate(inputs):
    args = PASSES[index % len(PASSES)]
    proc = subprocess.run([SPA_OPT, "-", "-o", os.devnull] + args,
                          input=text, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        crashes += 1
        if crashes <= 3:
            print(f"spa-opt {' '.join(args)} exited {proc.returncode} on:\n"
                  f"{text}\n---\n{proc.stderr[-2000:]}")
    elif proc.returncode == 1 and "error" not in proc.stderr:
        crashes += 1
        print(f"exit 1 without a diagnostic on:\n{text}")
print(f"{len(inputs)} broken or mutated inputs, {crashes} crashes")
sys.exit(1 if crashes else 0)
