#!/usr/bin/env python3
"""Plot of the warp-specialised dK/dV kernel (backward_schedule="ws")
against the classic one, per layer, from the sweep summary lines of
bench/gpu_grad_ws_device.sh and the seventh session's third device run
("sweep<name> <variant> fwd F bwd B {'preprocess': .., 'dkdv': .., ..}"):
docs/images/gpu_ws_dkdv_h200_2026-12-02.png.

    .venv/bin/python bench/plot_ws_ab.py OUT.png SUMMARY.txt [SUMMARY.txt ...]

A variant w4k64s[_tag] is the ws kernel, w4k64l the classic one; w4k64
is classic where it was compiled before auto took ws (D = 128, and the
sixth-session sweeps at D = 64), so each summary's labels are read as its
run compiled them: the classic reading of a layer is its w4k64l, else its
w4k64; its ws reading the last of w4k64s_skip3, w4k64s.
"""
import re
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

LAYERS = {  # sweep name -> label (B=2 H=16 bf16)
    "sweepA": "exclusive_equal\nN=8192 D=128",
    "sweep_pair_balanced": "pair_balanced\nN=8192 D=128",
    "sweep_tile_balanced": "tile_balanced\nN=8192 D=128",
    "sweep_local_plus_band": "local_plus_band\nN=8192 D=128",
    "sweep_ee64": "exclusive_equal\nN=8192 D=64",
    "sweep_pb64": "pair_balanced\nN=16384 D=64",
    "sweepB": "local_plus_band\nN=16384 D=64",
}


def read(paths):
    """{sweep: {variant: dkdv_ms}}"""
    rows = {}
    for path in paths:
        for line in open(path):
            m = re.match(r"(sweep\w*) (w4k64\w*) .*'dkdv': ([\d.]+)", line)
            if m:
                rows.setdefault(m.group(1), {})[m.group(2)] = float(m.group(3))
    return rows


def main():
    target, sources = sys.argv[1], sys.argv[2:]
    rows = read(sources)
    names = [n for n in LAYERS if n in rows]
    classic = [rows[n].get("w4k64l", rows[n].get("w4k64")) for n in names]
    ws = [rows[n].get("w4k64s_skip3", rows[n].get("w4k64s")) for n in names]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(11, 4.2))
    ax.bar(x - 0.2, classic, 0.4, label="classic (one warpgroup, 64 keys)",
           color="#999999")
    ax.bar(x + 0.2, ws, 0.4, label="warp-specialised (producer + 2 x 64 keys)",
           color="#3b75af")
    for i in range(len(x)):
        ax.text(x[i] + 0.2, ws[i], f"{100 * (ws[i] / classic[i] - 1):+.0f}%",
                ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [LAYERS[n] for n in names], fontsize=8)
    ax.set_ylabel("dK/dV kernel, ms (median, L2 flushed)")
    ax.set_title("dK/dV kernel: warp-specialised vs classic, H200, 2026-12-02 "
                 "(auto takes ws at D = 64)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    print("wrote", target)


if __name__ == "__main__":
    main()
