#!/usr/bin/env python3
"""The main job's CPU baseline: the example layer through spa's CPU path next
to PyTorch's CPU `scaled_dot_product_attention(is_causal=True)` on the same
inputs, in one process (median wall clock after a warm-up call).

    PYTHONPATH=build/python_packages .venv/bin/python examples/cpu_sdpa.py \
        examples/layer.mlir --entry layer

Without PyTorch it says so and exits 0 (the baseline is optional).
bench/cpu_bench.py is the full benchmark (several lengths and policies).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np


def median_ms(fn, reps):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("layer", help="an MLIR file with one spa layer")
    parser.add_argument("--entry", default="layer")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(f"(skipped: PyTorch is not importable here: {e})")
        return 0
    import spa

    with open(args.layer) as f:
        fn = spa.compile(f.read(), target="cpu", entry=args.entry)
    shapes = [shape for _, shape in fn.arguments]
    if [dt for dt, _ in fn.arguments] != ["f32"] * 3:
        print(f"(skipped: the baseline takes an f32 layer, got "
              f"{fn.arguments})")
        return 0
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal(s, dtype=np.float32) for s in shapes)
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
    gqa = tq.shape[1] != tk.shape[1]

    def sdpa():
        with torch.inference_mode():
            return F.scaled_dot_product_attention(tq, tk, tv, is_causal=True,
                                                  enable_gqa=gqa)

    spa_ms = median_ms(lambda: fn(q, k, v), args.repeat)
    sdpa_ms = median_ms(sdpa, args.repeat)
    print(f"q {tuple(shapes[0])}, k/v {tuple(shapes[1])}, f32, median of "
          f"{args.repeat} calls after a warm-up, one process")
    # spa's work items run on the OpenMP runtime's default thread count.
    spa_threads = os.environ.get("OMP_NUM_THREADS") or os.cpu_count()
    spa_label = f"spa, spa-to-llvm-cpu ({spa_threads} threads)"
    sdpa_label = (f"PyTorch {torch.__version__} SDPA is_causal=True "
                  f"({torch.get_num_threads()} threads)")
    width = max(len(spa_label), len(sdpa_label))
    print(f"  {spa_label:{width}s} {spa_ms:9.1f} ms")
    print(f"  {sdpa_label:{width}s} {sdpa_ms:9.1f} ms")
    print(f"  spa / SDPA = {spa_ms / sdpa_ms:.2f}x (issue #16's target for "
          f"local_plus_band: <= 0.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
