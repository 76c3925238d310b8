#!/usr/bin/env python3
"""Per-block timelines of the serial forward (issue #14): where its time
goes between blocks.

Needs kernels built with the scratch timeline hooks
(bench/timeline_scratch_patch.py, SPA_TIMELINE=1): thread 0 of every block
stamps the global timer into the (then unwritten) log-sum-exp output.

    # here, on the scratch branch's build:
    SPA_TIMELINE=1 PYTHONPATH=build/python_packages .venv/bin/python \\
        bench/forward_timeline.py prepare --out .device/tl/layers
    # there (bench/gpu_forward_timeline_device.sh):
    python3 bench/forward_timeline.py run --dir layers --out $OUT/timeline.json
    # here: the summary and the plots
    python3 bench/forward_timeline.py report timeline.json --plot docs/images/x.png

For each layer, after warm-up, `--calls` calls each after the L2 flush
bench_ms uses (256 MiB zeroed); the call with the median span is kept.
The report: the kernel's span, how many blocks are resident over time,
each item's wall time split into start-to-mainloop-end and epilogue, the
tail (from the last item with keys starting to the end), the drain of the
items with keys (their final partial wave and the slot time it leaves
empty) and the zero tail's phase (its first block's start to the end).
"""
import argparse
import json
import os
import statistics
import sys

LAYERS = [
    # name, B, H, N, D, policy, options
    ("ee_b2_h16_n8192_d128", 2, 16, 8192, 128, "exclusive_equal", {}),
    ("ee_b2_h16_n8192_d128_nostagger", 2, 16, 8192, 128, "exclusive_equal",
     {"wave_stagger_ns": 0}),
    ("pb_b2_h16_n8192_d128", 2, 16, 8192, 128, "pair_balanced", {}),
    ("tb_b2_h16_n8192_d128", 2, 16, 8192, 128, "tile_balanced", {}),
    ("lpb_b2_h16_n8192_d128_serial", 2, 16, 8192, 128, "local_plus_band",
     {"forward_schedule": "serial"}),
    ("ee_b4_h16_n4096_d64", 4, 16, 4096, 64, "exclusive_equal", {}),
    ("ee_b1_h32_n16384_d128", 1, 32, 16384, 128, "exclusive_equal", {}),
]


def prepare(args):
    import spa
    if not os.environ.get("SPA_TIMELINE"):
        sys.exit("prepare needs SPA_TIMELINE=1 and the scratch build")
    os.makedirs(args.out, exist_ok=True)
    manifest = []
    for name, b, h, n, d, policy, options in LAYERS:
        spec = spa.LayerSpec(batch=b, heads=h, kv_heads=h, seq_len=n,
                             query_len=n, head_dim=d, value_dim=d,
                             dtype="bf16", policy=policy, mode="causal",
                             with_lse=True)
        artifact = spa.compile(spec, target=f"cuda:{args.chip}", **options)
        artifact.save(os.path.join(args.out, name))
        kernel = artifact.kernel
        manifest.append(dict(name=name, batch=b, heads=h, seq_len=n,
                             head_dim=d, policy=policy, options=options,
                             blocks=kernel["grid"][0]))
        print(name, kernel["grid"], flush=True)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def run(args):
    import torch
    from spa.runtime.cuda import CudaArtifact, CudaLayer
    with open(os.path.join(args.dir, "manifest.json")) as f:
        manifest = json.load(f)
    flush = torch.empty(256 * 2**20, dtype=torch.int8, device="cuda")
    results = []
    for layer in manifest:
        art = CudaLayer(CudaArtifact.load(os.path.join(args.dir, layer["name"])))
        b, h, n, d = (layer[key] for key in ("batch", "heads", "seq_len",
                                             "head_dim"))
        torch.manual_seed(0)
        q, k, v = (torch.randn(b, h, n, d, device="cuda", dtype=torch.bfloat16)
                   for _ in range(3))
        outputs = [torch.zeros(o["shape"], device="cuda",
                               dtype=torch.bfloat16 if o["dtype"] == "bf16"
                               else torch.float32) for o in art.outputs]
        blocks = layer["blocks"]
        calls = []
        for call in range(args.warmup + args.calls):
            outputs[1].zero_()
            flush.zero_()
            start, end = (torch.cuda.Event(enable_timing=True)
                          for _ in range(2))
            start.record()
            art(q, k, v, outputs=outputs)
            end.record()
            torch.cuda.synchronize()
            if call < args.warmup:
                continue
            raw = outputs[1].reshape(-1)[:8 * blocks].view(torch.int32)
            stamps = raw.reshape(blocks, 8).cpu().tolist()
            calls.append(dict(event_ms=start.elapsed_time(end),
                              stamps=stamps))
        calls.sort(key=lambda c: span_ns(c["stamps"]))
        kept = calls[len(calls) // 2]
        results.append(dict(layer, event_ms=kept["event_ms"],
                            spans_us=[span_ns(c["stamps"]) / 1e3
                                      for c in calls],
                            stamps=kept["stamps"]))
        print(layer["name"], f"span {span_ns(kept['stamps']) / 1e3:.1f} us",
              f"event {kept['event_ms'] * 1e3:.1f} us", flush=True)
    with open(args.out, "w") as f:
        json.dump(dict(device=torch.cuda.get_device_name(), layers=results), f)


def unwrap(stamps):
    """Rows (start, item start, mainloop end or None, end, sm, has_keys) in
    ns from the earliest block start (the timer's low 32 bits wrap)."""
    base = min(s[0] for s in stamps) & 0xFFFFFFFF
    rel = lambda t: ((t & 0xFFFFFFFF) - base) % 2**32
    rows = []
    for s in stamps:
        keys = s[5] == 1
        rows.append((rel(s[0]), rel(s[1]), rel(s[2]) if keys else None,
                     rel(s[3]), s[4], keys))
    return rows


def span_ns(stamps):
    rows = unwrap(stamps)
    return max(r[3] for r in rows)


def summarize(layer):
    rows = unwrap(layer["stamps"])
    span = max(r[3] for r in rows)
    keyed = [r for r in rows if r[5]]
    zero = [r for r in rows if not r[5]]
    sms = sorted({r[4] for r in rows})
    item = [r[3] - r[1] for r in keyed]
    main = [r[2] - r[1] for r in keyed]
    epi = [r[3] - r[2] for r in keyed]
    stagger = [r[1] - r[0] for r in rows]
    last_keyed_start = max(r[1] for r in keyed) if keyed else 0
    last_keyed_end = max(r[3] for r in keyed) if keyed else 0
    first_zero = min(r[0] for r in zero) if zero else span
    # Block-time integral: the resident blocks' share of SMs x span.
    busy = sum(r[3] - r[0] for r in rows)
    per_sm = {}
    for r in rows:
        per_sm.setdefault(r[4], []).append(r)
    sm_last = [max(x[3] for x in v) for v in per_sm.values()]
    # Average resident blocks an SM over [0, span], and over the last 10%.
    slots = max(len(v) for v in per_sm.values())
    drain_start, drain_idle = keyed_drain(keyed)
    return dict(
        name=layer["name"], event_us=layer["event_ms"] * 1e3,
        span_us=span / 1e3, blocks=len(rows), keyed=len(keyed),
        zero=len(zero), sms=len(sms),
        item_us_median=statistics.median(item) / 1e3 if item else 0,
        mainloop_us_median=statistics.median(main) / 1e3 if main else 0,
        epilogue_us_median=statistics.median(epi) / 1e3 if epi else 0,
        epilogue_share=sum(epi) / sum(item) if item else 0,
        stagger_us_total=sum(stagger) / 1e3,
        mean_resident=busy / span / len(sms),
        last_keyed_start_us=last_keyed_start / 1e3,
        last_keyed_end_us=last_keyed_end / 1e3,
        first_zero_start_us=first_zero / 1e3,
        sm_idle_at_end_us_mean=statistics.mean(span - t for t in sm_last) / 1e3,
        max_blocks_an_sm=slots,
        keyed_drain_us=(last_keyed_end - drain_start) / 1e3,
        keyed_drain_idle_pct=100 * drain_idle,
    )


def keyed_drain(keyed, steps=2000):
    """The final partial wave of the items with keys: from when fewer than
    90% of the slots they held at full occupancy (the median over the first
    80% of their phase) still hold one, in the second half of the phase, to
    the last one's end; and the slot time left empty there as a share of
    all item time (what a perfectly divisible work list could win back)."""
    if not keyed:
        return 0, 0.0
    end = max(r[3] for r in keyed)
    step = end / steps
    busy = [sum(1 for r in keyed if r[1] <= (i + 0.5) * step < r[3])
            for i in range(steps)]
    full = statistics.median(busy[steps // 20:steps * 4 // 5])
    drop = end
    idle = 0.0
    for i in range(steps - 1, steps // 2, -1):
        if busy[i] >= 0.9 * full:
            break
        drop = i * step
        idle += (full - busy[i]) * step
    return drop, idle / sum(r[3] - r[1] for r in keyed)


def resident_curve(rows, span, bins=400):
    edges = [span * i / bins for i in range(bins + 1)]
    curve = [0.0] * bins
    for r in rows:
        for i in range(bins):
            lo, hi = edges[i], edges[i + 1]
            overlap = min(hi, r[3]) - max(lo, r[0])
            if overlap > 0:
                curve[i] += overlap / (hi - lo)
    return [(edges[i] + edges[i + 1]) / 2e3 for i in range(bins)], curve


def report(args):
    with open(args.json) as f:
        data = json.load(f)
    print("device:", data["device"])
    summaries = [summarize(l) for l in data["layers"]]
    keys = list(summaries[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for s in summaries:
        print("| " + " | ".join(f"{s[k]:.2f}" if isinstance(s[k], float)
                                else str(s[k]) for k in keys) + " |")
    if not args.plot:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    layers = data["layers"]
    fig, axes = plt.subplots(len(layers), 2, figsize=(14, 2.6 * len(layers)),
                             squeeze=False)
    for row, layer in enumerate(layers):
        rows = unwrap(layer["stamps"])
        span = max(r[3] for r in rows)
        ax = axes[row][0]
        sms = sorted({r[4] for r in rows})
        lane = {}
        for r in sorted(rows, key=lambda r: r[0]):
            # Stack an SM's concurrent blocks in lanes.
            sm = r[4]
            ends = lane.setdefault(sm, [])
            for i, e in enumerate(ends):
                if e <= r[0]:
                    ends[i] = r[3]
                    slot = i
                    break
            else:
                ends.append(r[3])
                slot = len(ends) - 1
            y = sms.index(sm) + slot / 4
            if r[5]:
                ax.plot([r[1] / 1e3, r[2] / 1e3], [y, y], color="tab:blue",
                        lw=0.6)
                ax.plot([r[2] / 1e3, r[3] / 1e3], [y, y], color="tab:red",
                        lw=0.6)
            else:
                ax.plot([r[1] / 1e3, r[3] / 1e3], [y, y], color="tab:gray",
                        lw=0.6)
        ax.set_title(f"{layer['name']}: blocks by SM (blue mainloop, red "
                     "epilogue, grey zero rows)", fontsize=8)
        ax.set_xlabel("us")
        ax.set_ylabel("SM")
        ax = axes[row][1]
        x, curve = resident_curve(rows, span)
        ax.plot(x, [c / len(sms) for c in curve])
        keyed = [r for r in rows if r[5]]
        xk, ck = resident_curve(keyed, span)
        ax.plot(xk, [c / len(sms) for c in ck])
        ax.legend(["all blocks", "blocks with keys"], fontsize=7)
        ax.set_title("resident blocks an SM", fontsize=8)
        ax.set_xlabel("us")
    fig.suptitle(f"serial forward, per-block timeline ({data['device']})")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=110)
    print("wrote", args.plot)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--out", required=True)
    p.add_argument("--chip", default="sm_90a")
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--warmup", type=int, default=3)
    r.add_argument("--calls", type=int, default=9)
    s = sub.add_parser("report")
    s.add_argument("json")
    s.add_argument("--plot")
    args = parser.parse_args()
    {"prepare": prepare, "run": run, "report": report}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
