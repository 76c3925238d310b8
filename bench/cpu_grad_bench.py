#!/usr/bin/env python3
"""spa's CPU training step (forward + gradients) against PyTorch's CPU SDPA.

For each sequence length and policy, times one forward and one backward of
spa's JIT-compiled CPU functions (`spa.compile(LayerSpec(...),
target="cpu", backward=True)`, f32) in two forms of the gradient: the
vector form (VectorAttentionGrad.cpp, the default) and the reference linalg
form (`vector_lanes=0`, which also turns the forward into its linalg form,
so the table also times the vector forward alone), and PyTorch's
`scaled_dot_product_attention(is_causal=True)` forward + backward
(autograd) on the same inputs, at the default thread counts. Times are the
median wall clock of repeated calls after a warm-up call (cpu_bench.py's
helper). The vector form's gradients are checked against the float64
reference (test/lib/spa_reference) on every run.

    PYTHONPATH=build/python_packages:python:test/lib .venv/bin/python \\
        bench/cpu_grad_bench.py --json bench/results/cpu-grad.json \\
        --plot docs/images/cpu_grad_bench.png
"""
import argparse
import datetime
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_bench import cpu_name, median_ms  # noqa: E402

TOLERANCE = 1e-4  # f32 gradients against float64, per-tensor relative


def main():
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seq-lens", default="512,1024,2048")
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--policies", default="local_plus_band,exclusive_equal")
    parser.add_argument("--linalg-max-n", type=int, default=1024,
                        help="time the linalg form up to this length")
    parser.add_argument("--budget-s", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json")
    parser.add_argument("--plot")
    args = parser.parse_args()

    import spa
    import spa_reference as ref
    import torch
    import torch.nn.functional as F

    rows = []
    rng = np.random.default_rng(args.seed)
    h, d = args.heads, args.head_dim
    for n in [int(x) for x in args.seq_lens.split(",")]:
        q, k, v, dout = (rng.standard_normal((1, h, n, d)).astype(np.float32)
                         for _ in range(4))
        tq, tk, tv = (torch.from_numpy(x).requires_grad_() for x in (q, k, v))
        tdout = torch.from_numpy(dout)

        def sdpa_step():
            for t in (tq, tk, tv):
                t.grad = None
            F.scaled_dot_product_attention(tq, tk, tv,
                                           is_causal=True).backward(tdout)

        sdpa_ms, _ = median_ms(sdpa_step, 1, 3, args.budget_s)
        for policy in args.policies.split(","):
            spec = spa.LayerSpec(heads=h, kv_heads=h, seq_len=n, query_len=n,
                                 head_dim=d, value_dim=d, dtype="f32",
                                 policy=policy)
            row = dict(n=n, policy=policy, sdpa_ms=sdpa_ms)
            forms = [("vector", {})]
            if n <= args.linalg_max_n:
                forms.append(("linalg", dict(vector_lanes=0)))
            for form, options in forms:
                forward, backward = spa.compile(spec, target="cpu",
                                                backward=True, **options)
                out, lse = forward(q, k, v)
                fwd_ms, _ = median_ms(lambda: forward(q, k, v), 1, 3,
                                      args.budget_s)
                bwd_ms, _ = median_ms(
                    lambda: backward(q, k, v, out, lse, dout), 1, 3,
                    args.budget_s)
                row[f"{form}_fwd_ms"] = fwd_ms
                row[f"{form}_bwd_ms"] = bwd_ms
                if form == "vector":
                    table = ref.band_table(policy, n, h, "causal")
                    want = ref.attention_grad_reference(q, k, v, dout, table,
                                                        "causal")
                    got = backward(q, k, v, out, lse, dout)
                    err = max(
                        float(np.abs(np.asarray(g, np.float64) - w).max()
                              / max(1.0, np.abs(w).max()))
                        for g, w in zip(got, want))
                    row["vector_grad_error"] = err
                    assert err <= TOLERANCE, (n, policy, err)
            row["vector_step_vs_sdpa"] = (row["vector_fwd_ms"] +
                                          row["vector_bwd_ms"]) / sdpa_ms
            rows.append(row)
            print(json.dumps(row), flush=True)

    print(f"\n{cpu_name()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, B=1 H={h} D={d} f32, "
          f"{datetime.date.today()}\n")
    print("| N | policy | spa fwd (vector) | spa bwd (vector) | spa bwd "
          "(linalg) | spa fwd+bwd / SDPA | SDPA causal fwd+bwd |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        linalg = (f"{r['linalg_bwd_ms']:.1f}" if "linalg_bwd_ms" in r
                  else "-")
        print(f"| {r['n']} | {r['policy']} | {r['vector_fwd_ms']:.1f} | "
              f"{r['vector_bwd_ms']:.1f} | {linalg} | "
              f"{r['vector_step_vs_sdpa']:.2f}x | {r['sdpa_ms']:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(cpu=cpu_name(), torch=torch.__version__,
                           threads=torch.get_num_threads(),
                           date=str(datetime.date.today()), heads=h,
                           head_dim=d, rows=rows), f, indent=1)
    if args.plot:
        plot(rows, args.plot, h, d)


def plot(rows, path, heads, head_dim):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = [f"{r['policy']}\nN={r['n']}" for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(rows)), 4))
    width = 0.27
    ax.bar(x - width, [r["vector_fwd_ms"] + r["vector_bwd_ms"] for r in rows],
           width, label="spa fwd+bwd (vector gradient)", color="#2f6fb0")
    ax.bar(x, [r.get("linalg_fwd_ms", np.nan) + r.get("linalg_bwd_ms", np.nan)
               for r in rows], width, label="spa fwd+bwd (linalg form)",
           color="#9bbad9")
    ax.bar(x + width, [r["sdpa_ms"] for r in rows], width,
           label="PyTorch SDPA causal fwd+bwd", color="#c9772f")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("ms (lower is better)")
    ax.set_yscale("log")
    ax.set_title(f"CPU training step, B=1 H={heads} D={head_dim} f32")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
