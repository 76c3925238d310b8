#!/usr/bin/env python3
"""Plot of the forward's time against the first wave's stagger (issue #14,
2026-12-06, third session): each point is one variant of a same-process
sweep (bench/grad_sweep.py), its forward time over the mean of the same
process's unstaggered variants. The probes were a scratch build (a
nanosleep by block index, slots (b / 132) % 3 of the first 396 blocks,
never committed); the option run is wave-stagger-ns as committed (auto
then 700 ns a key tile; 9 tiles at D = 128, 5 at D = 64 with 5 slots).

    python3 bench/plot_wave_stagger.py --out docs/images/gpu_wave_stagger_h100_2026-12-06.png
"""

import argparse
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")

# (label, sweep json, {variant: ns a slot of the forward})
SERIES = [
    ("D = 128 headline, probe 1",
     "gpu-2026-12-06-h100-lockstep-probe/st/grad_sweep.json",
     {"w4k64": 0, "w4k64_again": 0, "w4k64_s2000": 2000,
      "w4k64_s5000": 5000, "w4k64_s8000": 8000}),
    ("D = 128 headline, probe 2",
     "gpu-2026-12-06-h100-lockstep-probe/second/st/grad_sweep.json",
     {"w4k64": 0, "w4k64_again": 0, "w4k64_all": 6000}),
    ("D = 128 headline, wave-stagger-ns",
     "gpu-2026-12-06-h100-wave-stagger/sE/grad_sweep.json",
     {"w4k64v-1": 0, "w4k64": 6300, "w4k64v400": 3600, "w4k64v1000": 9000}),
    ("D = 128 B1 H32 N16384, wave-stagger-ns",
     "gpu-2026-12-06-h100-wave-stagger/sL/grad_sweep.json",
     {"w4k64v-1": 0, "w4k64": 6300}),
    ("D = 64 B4 H16 N4096, wave-stagger-ns",
     "gpu-2026-12-06-h100-wave-stagger/s64/grad_sweep.json",
     {"w4k64v-1": 0, "w4k64": 3500, "w4k64v400": 2000}),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for label, path, delays in SERIES:
        results = json.load(open(os.path.join(RESULTS, path)))["results"]
        fwd = {r["name"]: r["fwd_ms"] for r in results if r["name"] in delays}
        base = [t for n, t in fwd.items() if delays[n] == 0]
        ref = sum(base) / len(base)
        points = sorted((delays[n], t / ref) for n, t in fwd.items())
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-",
                label=label)
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_xlabel("sleep of slot 1 of the first wave (ns; slot 2 twice that)")
    ax.set_ylabel("forward time / unstaggered (same process)")
    ax.set_title("First wave started apart: serial forward, H100, 2026-12-06")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
