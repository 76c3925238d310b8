#!/usr/bin/env python3
# RUN: %python %s --spa-opt %spa_tools_dir/spa-opt
"""PTX regression set of the GPU kernel generator.

Compiles a fixed set of layers (Inputs/ptx-regression: bf16, f16, f32;
causal and bidirectional, several intervals, GQA, Nq != Nk, with and without
log-sum-exp; forward ops and gradient ops, each on wgmma and mma.sync) under
a fixed set of options (warps 1-8, stages 1-4, wgmma and mma.sync, tile-k
16-128, sm_80, deterministic=false, tma=false) through `spa-opt --spa-to-nvvm=format=isa`
and compares the SHA-256 of each kernel's PTX with ptx-regression.sha256.

A change of structure in the generator must keep every hash. A change that
is meant to alter the generated code regenerates the file with --update and
says why in its commit.

  ptx_regression.py --spa-opt build/bin/spa-opt [--update] [--dump DIR]
"""

import argparse
import concurrent.futures
import hashlib
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INPUTS = os.path.join(HERE, "Inputs", "ptx-regression")
GOLDEN = os.path.join(HERE, "ptx-regression.sha256")

# (layer file, spa-to-nvvm options)
CASES = [
    ("bf16-d128-exclusive", "mma=wgmma warps=4 stages=1"),
    ("bf16-d128-exclusive", "mma=wgmma warps=8 stages=1"),
    ("bf16-d128-exclusive", "mma=wgmma warps=4 stages=2"),
    ("bf16-d128-exclusive", "mma=wgmma warps=8 stages=2"),
    ("bf16-d128-exclusive", "mma=mma.sync warps=4"),
    ("bf16-d128-exclusive", "mma=mma.sync warps=8 tile-k=32"),
    ("bf16-d128-exclusive", "mma=auto"),
    ("bf16-d128-exclusive", "chip=sm_80"),
    ("f16-d64-local-lse", "mma=wgmma warps=4 stages=2"),
    ("f16-d64-local-lse", "mma=wgmma warps=8 stages=1"),
    ("f16-d64-local-lse", "mma=wgmma warps=4 stages=3 tile-k=128"),
    ("f16-d64-local-lse", "mma=mma.sync warps=4"),
    ("f16-d64-local-lse", "mma=mma.sync warps=8 tile-k=128"),
    ("f16-d64-local-lse", "mma=auto"),
    ("f32-d64-gqa-lse", "warps=4"),
    ("f32-d64-gqa-lse", "warps=8"),
    ("f32-d64-gqa-lse", "warps=2 tile-k=16"),
    ("f32-d128-dense", "warps=4"),
    ("bf16-bidir-intervals", "mma=wgmma warps=4 stages=1"),
    ("bf16-bidir-intervals", "mma=wgmma warps=8 stages=2"),
    ("bf16-bidir-intervals", "mma=mma.sync warps=4"),
    ("f16-bidir-intervals-d128", "mma=wgmma warps=8 stages=1"),
    ("f16-bidir-intervals-d128", "mma=wgmma warps=4 stages=2"),
    ("f16-bidir-intervals-d128", "mma=mma.sync warps=8"),
    ("bf16-decode-nq-ne-nk", "mma=auto"),
    ("bf16-decode-nq-ne-nk", "mma=mma.sync warps=1"),
    ("f16-causal-explicit", "mma=wgmma warps=4 stages=1"),
    ("f16-causal-explicit", "mma=wgmma warps=8 stages=4 tile-k=32"),
    ("f16-causal-explicit", "mma=mma.sync warps=4 tile-k=16"),
    # The backward kernels of spa.attention_grad: mma.sync (any chip) and
    # wgmma (sm_90a; what mma=auto takes there at D, Dv = 64 or 128).
    ("bf16-grad-gqa-bidir", "mma=mma.sync warps=4"),
    ("bf16-grad-gqa-bidir", "warps=2 tile-k=32 chip=sm_80"),
    ("f16-grad-causal-d128-dv64", "mma=mma.sync warps=4"),
    ("f16-grad-causal-d128-dv64", "mma=mma.sync warps=8 tile-k=32"),
    ("bf16-grad-gqa-bidir", "mma=auto backward-schedule=classic"),
    ("bf16-grad-gqa-bidir", "mma=wgmma warps=8 tile-k=16"),
    # The warp-specialised dK/dV kernel: what mma=auto takes at D = Dv = 64,
    # forced at D = 128.
    ("bf16-grad-gqa-bidir", "mma=auto"),
    ("f16-grad-causal-d128-dv64", "backward-schedule=ws"),
    ("f16-grad-causal-d128-dv64", "mma=auto"),
    ("f16-grad-causal-d128-dv64", "mma=wgmma warps=8 tile-k=32"),
    # deterministic=false: dQ by bulk f32 reductions from the dK/dV kernel
    # (wgmma; auto takes the warp-specialised form where it applies).
    ("bf16-grad-gqa-bidir", "deterministic=false backward-schedule=classic"),
    ("f16-grad-causal-d128-dv64", "deterministic=false warps=8 tile-k=128"),
    # ... fused into the warp-specialised dK/dV kernel: each warpgroup's own
    # keys (D = 64) and the exchange of dS^T (D = 128).
    ("bf16-grad-gqa-bidir", "deterministic=false backward-schedule=ws"),
    ("f16-grad-causal-d128-dv64", "deterministic=false backward-schedule=ws"),
    # score-grads=store: dS stored by the dK/dV kernel, one-product dQ.
    ("bf16-grad-gqa-bidir", "score-grads=store"),
    ("f16-grad-causal-d128-dv64", "score-grads=store"),
    # ... with 128-row dq_stored items (two warpgroups share each K tile).
    ("bf16-grad-gqa-bidir", "score-grads=store stored-dq-rows=128"),
    ("f16-grad-causal-d128-dv64", "score-grads=store stored-dq-rows=128"),
    # ... with the compact scratch (a table of slot bases).
    ("bf16-grad-gqa-bidir", "score-grads=store score-grad-layout=compact"),
    ("f16-grad-causal-d128-dv64",
     "score-grads=store score-grad-layout=compact stored-dq-rows=128"),
    # successor-prefetch: the own tiles of work item +N sent to L2 (the
    # classic dK/dV and dQ kernels' and the stored form's dK/dV kernel).
    ("f16-grad-causal-d128-dv64", "successor-prefetch=32"),
    # shared-stream-lse: the dK/dV kernel's lse through shared memory, TMA
    # (stored dS) and cp.async tiles.
    ("f16-grad-causal-d128-dv64", "score-grads=store shared-stream-lse=true"),
    ("bf16-grad-gqa-bidir", "tma=false shared-stream-lse=true"),
    ("bf16-grad-gqa-bidir", "score-grads=store successor-prefetch=8"),
    # ... with the dq_stored kernel's dS tiles prefetched into L2 ahead.
    ("bf16-grad-gqa-bidir", "score-grads=store score-grad-prefetch=4"),
    ("f16-grad-causal-d128-dv64",
     "score-grads=store score-grad-layout=compact stored-dq-rows=128 "
     "score-grad-prefetch=8"),
    # The wgmma backward's tiles arrive by TMA by default; tma=false keeps
    # every thread's cp.async.
    ("f16-grad-causal-d128-dv64", "mma=auto tma=false"),
    ("bf16-grad-gqa-bidir", "deterministic=false tma=false"),
    # forward-schedule=overlap: Q K^T of tile t with P V of tile t - 1.
    ("bf16-d128-exclusive", "mma=wgmma warps=4 forward-schedule=overlap"),
    ("bf16-bidir-intervals",
     "mma=wgmma warps=8 stages=2 forward-schedule=overlap"),
    ("f16-d64-local-lse", "forward-schedule=overlap stages=4"),
    # successor-prefetch: the chained forward sends the Q tile of work item
    # +N to L2.
    ("bf16-d128-exclusive", "mma=wgmma warps=4 successor-prefetch=32"),
    # tma-stores=false: the staged epilogues (the chained and ring
    # forward's O; dK, dV and the dq_stored kernel's dQ; the
    # warp-specialised dK/dV kernel's) by every thread's 16-byte row stores
    # instead of the default TMA bulk tensor stores; programmatic-launch=
    # false: no griddepcontrol (both the defaults until 2026-12-07).
    ("bf16-d128-exclusive",
     "mma=wgmma warps=4 tma-stores=false programmatic-launch=false"),
    ("f16-d64-local-lse", "stages=2 tma-stores=false"),
    ("f16-grad-causal-d128-dv64", "score-grads=store tma-stores=false"),
    ("bf16-grad-gqa-bidir", "backward-schedule=ws tma-stores=false"),
    # score-grad-warp-stores: each warp of the stored-dS dK/dV kernel sends
    # its own dS rows (no block barrier a tile); with tma-stores=false too.
    ("f16-grad-causal-d128-dv64",
     "score-grads=store score-grad-warp-stores=true"),
    ("bf16-grad-gqa-bidir",
     "score-grads=store score-grad-warp-stores=true tma-stores=false"),
    # stmatrix-staging: staged rows written by stmatrix (the forward's O,
    # dK/dV and dS, the atomic dQ's dS, the warp-specialised kernel's).
    ("bf16-d128-exclusive", "mma=wgmma warps=4 stmatrix-staging=true"),
    ("f16-grad-causal-d128-dv64",
     "score-grads=store stmatrix-staging=true score-grad-warp-stores=true "
     "tma-stores=false"),
    ("bf16-grad-gqa-bidir", "deterministic=false backward-schedule=classic "
     "stmatrix-staging=true"),
    ("bf16-grad-gqa-bidir", "backward-schedule=ws stmatrix-staging=true"),
    # interleaved-dq: the dK/dV and dq_stored blocks in one launch, claims
    # and flags in grad_sync (with the default tma-stores, all three
    # outputs' maps); with tma-stores=false too.
    ("f16-grad-causal-d128-dv64", "score-grads=store interleaved-dq=true"),
    ("bf16-grad-gqa-bidir",
     "score-grads=store interleaved-dq=true interleaved-dq-lag=0 "
     "interleaved-dq-stages=2 tma-stores=false"),
    # forward-schedule=ws: a TMA producer warp and consumer warpgroups.
    ("bf16-d128-exclusive", "forward-schedule=ws warps=8"),
    ("bf16-bidir-intervals", "forward-schedule=ws warps=8 stages=2"),
    ("f16-d64-local-lse", "forward-schedule=ws"),
    ("bf16-d128-exclusive", "forward-schedule=ws-overlap"),
    ("bf16-d128-exclusive", "forward-schedule=ws-overlap warps=8"),
    ("f16-d64-local-lse", "forward-schedule=ws-overlap stages=3"),
    # forward-schedule=ws-pingpong: the two consumer warpgroups take turns.
    ("bf16-d128-exclusive", "forward-schedule=ws-pingpong warps=8"),
    ("f16-d64-local-lse", "forward-schedule=ws-pingpong warps=8"),
    ("bf16-bidir-intervals", "forward-schedule=ws-pingpong warps=8 stages=2"),
    # split-keys: partial stores and the combine kernel.
    ("bf16-decode-nq-ne-nk", "split-keys=4"),
    ("f32-d64-gqa-lse", "split-keys=3 warps=2"),
    # zero-tail-with-items = true: each zero tail written by the blocks of
    # the items with keys (forward; dK/dV and dq_stored).
    ("bf16-d128-exclusive", "mma=wgmma warps=4 zero-tail-with-items=true"),
    ("f16-grad-causal-d128-dv64", "score-grads=store zero-tail-with-items=true"),
    # zero-tail-spread = true: the tail's own blocks spread in the launch
    # order (forward; dK/dV and dq_stored).
    ("bf16-d128-exclusive", "mma=wgmma warps=4 zero-tail-spread=true"),
    ("f16-grad-causal-d128-dv64", "score-grads=store zero-tail-spread=true"),
]

_ESCAPE = re.compile(r"\\(\\|[0-9A-Fa-f]{2})")


def extract_ptx(ir: str) -> str:
    """The PTX string of the module's gpu.binary (format=isa)."""
    match = re.search(r'assembly = "((?:[^"\\]|\\.)*)"', ir)
    if not match:
        raise ValueError("no gpu.binary object in the output")
    return _ESCAPE.sub(
        lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1), 16)),
        match.group(1))


def case_key(layer: str, options: str) -> str:
    return f"{layer} [{options}]"


def compile_case(spa_opt: str, layer: str, options: str) -> str:
    path = os.path.join(INPUTS, layer + ".mlir")
    proc = subprocess.run(
        [spa_opt, path, f"--spa-to-nvvm=format=isa {options}"],
        capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{case_key(layer, options)}: spa-opt failed:\n"
                           f"{proc.stderr}")
    return extract_ptx(proc.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spa-opt", required=True)
    ap.add_argument("--update", action="store_true",
                    help="rewrite ptx-regression.sha256")
    ap.add_argument("--dump", help="also write each PTX into this folder")
    args = ap.parse_args()

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        ptx = list(pool.map(lambda c: compile_case(args.spa_opt, *c), CASES))
    hashes = {case_key(*c): hashlib.sha256(p.encode()).hexdigest()
              for c, p in zip(CASES, ptx)}
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
        for index, p in enumerate(ptx):
            with open(os.path.join(args.dump, f"case{index:02d}.ptx"), "w") as f:
                f.write(p)
    if args.update:
        with open(GOLDEN, "w") as f:
            for key, digest in hashes.items():
                f.write(f"{digest}  {key}\n")
        print(f"wrote {len(hashes)} hashes to {GOLDEN}")
        return 0
    golden = {}
    with open(GOLDEN) as f:
        for line in f:
            digest, key = line.rstrip("\n").split("  ", 1)
            golden[key] = digest
    failures = [key for key in hashes if golden.get(key) != hashes[key]]
    missing = [key for key in golden if key not in hashes]
    for key in failures:
        print(f"PTX changed: {key}")
    for key in missing:
        print(f"case no longer compiled: {key}")
    if failures or missing:
        print("A structural change must keep the PTX byte-identical; an "
              "intended change reruns this script with --update.")
        return 1
    print(f"{len(hashes)} kernels byte-identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
