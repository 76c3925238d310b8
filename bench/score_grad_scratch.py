#!/usr/bin/env python3
"""The stored-dS scratch of every SPEC.md shape and policy (bf16, D = Dv =
128, the default options otherwise), padded against compact
(`score-grad-layout`, docs/gpu.md "Stored dS"), and what `score-grads=auto`
chooses with each: the sizes come from the compiler itself (the
`score_grad` scratch of the artifact's launch contract, through
`spa.compile(..., target="cuda:sm_90a")`), not from a model.
Prints a markdown table; --plot writes a bar chart with auto's 1 GiB line.

    PYTHONPATH=build/python_packages:python .venv/bin/python \\
        bench/score_grad_scratch.py --plot docs/images/score_grad_scratch.png
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import spa  # noqa: E402
from gpu_grad_prepare import module_text  # noqa: E402

SHAPES = [(2, 16, 8192), (1, 32, 16384)]
POLICIES = ["exclusive_equal", "pair_balanced", "tile_balanced",
            "local_plus_band"]
AUTO_LIMIT_MB = (1 << 30) / 1e6


def scratch_mb(text, **options):
    """The dS scratch of the compiled artifact (MB), or None where it
    recomputes (no score_grad argument)."""
    artifact = spa.compile(text, target="cuda:sm_90a", **options)
    for kernel in artifact.metadata["kernels"]:
        for arg in kernel["args"]:
            if arg["name"] == "score_grad":
                tiles, elements = arg["shape"]
                return tiles * elements * 2 / 1e6
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plot")
    args = ap.parse_args()
    rows = []
    for b, h, n in SHAPES:
        for policy in POLICIES:
            text = module_text(spa, dict(
                batch=b, heads=h, kv_heads=h, seq_len=n, query_len=n,
                head_dim=128, value_dim=128, dtype="bf16", policy=policy,
                mode="causal"))
            row = dict(name=f"{policy} B{b} H{h} N{n}")
            for layout in ("padded", "compact"):
                row[layout] = scratch_mb(text, score_grads="store",
                                         score_grad_layout=layout)
                row["auto_" + layout] = scratch_mb(
                    text, score_grad_layout=layout)
            rows.append(row)
            print(row, flush=True)
    print("\n| layer (bf16, D = 128) | padded MB | compact MB | auto, padded "
          "| auto, compact |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['padded']:.0f} | {r['compact']:.0f} | "
              f"{'store' if r['auto_padded'] else 'recompute'} | "
              f"{'store' if r['auto_compact'] else 'recompute'} |")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(10, 4.5))
        x = range(len(rows))
        ax.bar([i - 0.2 for i in x], [r["padded"] for r in rows], 0.4,
               label="padded (closed form)")
        ax.bar([i + 0.2 for i in x], [r["compact"] for r in rows], 0.4,
               label="compact (slot-base table)")
        ax.axhline(AUTO_LIMIT_MB, color="k", linestyle="--", linewidth=1,
                   label="score-grads=auto stores up to 1 GiB")
        ax.set_xticks(list(x))
        ax.set_xticklabels([r["name"].replace(" B", "\nB") for r in rows],
                           fontsize=7)
        ax.set_ylabel("dS scratch (MB)")
        ax.set_title("Stored dS scratch per SPEC row, bf16 D = 128 "
                     "(from the compiled artifacts)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print("wrote", args.plot)


if __name__ == "__main__":
    main()
