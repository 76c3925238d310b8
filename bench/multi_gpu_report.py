#!/usr/bin/env python3
"""Summary of a bench/train_multi_gpu.sh run: one Markdown table row per
launch (OUT/train_distributed_<mode>_w<world>.json) with the global
tokens/s, its ratio to the 1-GPU run of the same global batch (ddp_w1),
the peak memory of the fullest GPU, the final loss and the largest
difference of a step's loss from the 1-GPU run's.

    python bench/multi_gpu_report.py OUT > OUT/summary.md
"""

import glob
import json
import os
import sys


def rows(directory: str):
    runs = {}
    for path in sorted(glob.glob(os.path.join(directory,
                                              "train_distributed_*.json"))):
        name = os.path.basename(path)[len("train_distributed_"):-5]
        with open(path) as f:
            runs[name] = json.load(f)
    base = runs.get("ddp_w1", {}).get("result")
    out = []
    for name, report in runs.items():
        cfg, res = report["config"], report["result"]
        row = dict(run=name, mode=cfg["mode"], world=cfg["world"],
                   batch=cfg["batch"], seq_len=cfg["seq_len"],
                   tokens_per_s=res["tokens_per_s"], step_ms=res["step_ms"],
                   peak_gib=res.get("peak_mem_gib_max_rank"),
                   final_loss=res["losses"][-1])
        if base is not None:
            row["scaling"] = res["tokens_per_s"] / base["tokens_per_s"]
            row["max_loss_diff"] = max(
                abs(a - b) for a, b in zip(res["losses"], base["losses"]))
        out.append(row)
    return out


def markdown(table) -> str:
    def fmt(v, spec):
        return "-" if v is None else format(v, spec)
    lines = ["| run | GPUs | batch x N | tokens/s | vs 1 GPU | step ms | "
             "peak GiB | final loss | max loss diff vs 1 GPU |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        lines.append(
            f"| {r['run']} | {r['world']} | {r['batch']} x {r['seq_len']} | "
            f"{r['tokens_per_s']:,.0f} | {fmt(r.get('scaling'), '.2f')}x | "
            f"{r['step_ms']:.1f} | {fmt(r['peak_gib'], '.1f')} | "
            f"{r['final_loss']:.4f} | {fmt(r.get('max_loss_diff'), '.4f')} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    table = rows(argv[0])
    if not table:
        print(f"no train_distributed_*.json in {argv[0]}", file=sys.stderr)
        return 1
    print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
