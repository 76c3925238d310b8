#!/usr/bin/env python3
"""Trains one GPT-style decoder three ways in one run, same initialisation
and data: dense causal SDPA, FlexAttention with the authors'
`local_plus_band` mask, and spa (`spa.torch.attention`) with the same
bands, at each sequence length. Reports per method tokens/s (steady state),
the attention share of the step time, peak memory and the loss curve;
writes OUT/train_gpt.json and OUT/train_gpt.png.

CPU (CI; tiny defaults: 2 layers, 4 heads, d=64, N=128, 5 steps, f32;
FlexAttention has no backward on CPU and is reported as skipped):

    PYTHONPATH=build/python_packages:python .venv/bin/python \\
        examples/train_gpt.py --device cpu --out /tmp/train_gpt

GPU (defaults: 8 layers, 16 heads, d=1024, N=4096 and 16384, 200 steps,
bf16 autocast); spa's kernels come from the kernel cache, precompiled
where the compiler is: see bench/train_device.sh, which lists them with

    python examples/train_gpt.py --device cuda --list-kernels

The bands: the authors' closed-form mask (bench/baselines.py) is the
FlexAttention mask_mod; spa gets the table `spa.torch.bands_from_mask_mod`
proves equal to it, and where the compiler is importable that table is
checked to be the one spa's `local_plus_band` policy plans.

Timing: tokens/s over the steps after `--warmup` (compiles and autotuning
stay out), synchronised at both ends. The attention share is
layers x (one attention call, forward + backward, timed alone at the
step's shapes: bench_ms on CUDA, a median of wall-clock runs on CPU)
divided by the step time. Peak memory: torch.cuda.max_memory_allocated
over the training steps of that method (CUDA only).
"""

import argparse
import copy
import dataclasses
import json
import math
import os
import statistics
import sys
import time
import traceback
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "bench"))
# Last: a build's python_packages (with the compiler) on PYTHONPATH wins
# over the source tree's spa (enough to load precompiled kernels).
sys.path.append(os.path.join(ROOT, "python"))

import gpt_data  # noqa: E402
from baselines import closed_form_mask_mod, forward_backward  # noqa: E402
from gpt_model import GPT, Rotary, config_from_args  # noqa: E402

METHODS = ("sdpa", "flex", "spa")
POLICY = "local_plus_band"
TARGET_GPU = "cuda:sm_90a"  # the H200; precompiled kernels are per chip

# Per-device defaults: (layers, heads, dim, seq_lens, steps, tokens/step,
# lr, timing warm-up steps).
DEFAULTS = {
    "cuda": dict(layers=8, heads=16, dim=1024, seq_lens=[4096, 16384],
                 steps=200, tokens_per_step=32768, lr=6e-4, warmup=10),
    "cpu": dict(layers=2, heads=4, dim=64, seq_lens=[128], steps=5,
                tokens_per_step=512, lr=3e-3, warmup=1),
}


class Unsupported(Exception):
    """A method this device/PyTorch cannot train; reported as skipped."""


# ---------------------------------------------------------------- options

def _ints(text: str) -> List[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default=None,
                   help="cpu or cuda (default: cuda if available)")
    p.add_argument("--steps", type=int, help="training steps per method")
    p.add_argument("--seq-lens", type=_ints, help="comma-separated lengths")
    p.add_argument("--layers", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--kv-heads", type=int, help="default --heads (GQA if "
                                                "fewer)")
    p.add_argument("--dim", type=int, help="model width")
    p.add_argument("--vocab", type=int, default=512)
    p.add_argument("--batch", type=_ints,
                   help="batch per sequence length (one value for all, or "
                        "one per --seq-lens); default tokens-per-step / N")
    p.add_argument("--tokens-per-step", type=int)
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated subset of {','.join(METHODS)}")
    p.add_argument("--dtype", choices=("auto", "f32", "bf16"),
                   default="auto", help="auto: bf16 autocast on cuda, f32 "
                                        "on cpu (spa's GPU gradient has no "
                                        "f32 kernel)")
    p.add_argument("--lr", type=float)
    p.add_argument("--warmup", type=int,
                   help="steps excluded from the tokens/s timing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="train_gpt_out",
                   help="directory for train_gpt.json and train_gpt.png")
    p.add_argument("--list-kernels", action="store_true",
                   help="print the spa.torch.precompile configurations "
                        "(JSON list, for --configs) this run needs, and "
                        "exit; needs no GPU")
    p.add_argument("--no-attention-timing", action="store_true",
                   help="skip the separate attention fwd+bwd timing")
    return p


def resolve(args) -> argparse.Namespace:
    """Fills per-device defaults; checks the options."""
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(args.device).type
    except RuntimeError:
        kind = None
    if kind not in DEFAULTS:
        raise SystemExit(f"--device must be cpu or cuda, got {args.device}")
    for name, value in DEFAULTS[kind].items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    args.kv_heads = args.kv_heads or args.heads
    if args.dtype == "auto":
        args.dtype = "bf16" if kind == "cuda" else "f32"
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in args.methods if m not in METHODS]
    if bad:
        raise SystemExit(f"--methods: unknown {bad}; choose from {METHODS}")
    if not args.seq_lens or min(args.seq_lens) < 1:
        raise SystemExit(f"--seq-lens must be positive, got {args.seq_lens}")
    if args.batch is None:
        args.batch = [max(1, args.tokens_per_step // n)
                      for n in args.seq_lens]
    elif len(args.batch) == 1:
        args.batch = args.batch * len(args.seq_lens)
    elif len(args.batch) != len(args.seq_lens):
        raise SystemExit("--batch: give one value or one per --seq-lens")
    sizes = dict(layers=args.layers, heads=args.heads,
                 kv_heads=args.kv_heads, dim=args.dim, vocab=args.vocab)
    sizes.update({f"batch[{i}]": b for i, b in enumerate(args.batch)})
    args.model = config_from_args(args, sizes)
    return args


# ------------------------------------------------------------------ bands

def band_table(heads: int, n: int, log=print, device=None) -> Dict:
    """The authors' local_plus_band mask_mod and the spa table proved equal
    to it (evaluated on `device`: a GPU proves N = 16384 in well under a
    second, two CPU cores take about 50 s); checked against spa's own policy
    plan where the compiler is."""
    import spa.torch as st
    mask_mod = closed_form_mask_mod(POLICY, heads, n)
    start = time.time()
    table = st.bands_from_mask_mod(mask_mod, heads, n, device=device)
    proof_s = time.time() - start
    try:
        from spa.bands import plan
        planned = [[tuple(iv) for iv in head]
                   for head in plan(POLICY, n, heads).heads]
    except ImportError:
        check = ("not checked against the policy here (no compiler); "
                 "--list-kernels checked it where the kernels were built, "
                 "and the kernel cache is keyed by the table")
    else:
        if planned != table:
            raise RuntimeError(
                f"the mask_mod's table differs from spa's {POLICY} plan at "
                f"H={heads}, N={n}: {table} vs {planned}")
        check = f"equal to spa.bands.plan({POLICY!r})"
    log(f"N={n}: bands proved from the mask_mod in {proof_s:.1f} s, {check}")
    return dict(mask_mod=mask_mod, table=table, check=check,
                proof_s=proof_s)


def model_layout_qkv(batch: int, n: int, heads: int, kv_heads: int,
                     hd: int, dtype, device, generator=None):
    """q, k, v (and dout) with the strides the model's attention call has:
    q and k token-major views of the rotary embedding's [B, N, H, D]
    output, v a slice of the fused qkv projection [B, N, (Hq + 2 Hkv) D]
    (gpt_model.Block), dout token-major like the gradient of
    `y.transpose(1, 2).reshape(b, n, h * d)`."""
    def rand(*shape):
        if device.type == "meta":
            return torch.empty(*shape, dtype=dtype, device=device)
        return torch.randn(*shape, dtype=dtype, device=device,
                           generator=generator)
    q = rand(batch, n, heads, hd).transpose(1, 2)
    k = rand(batch, n, kv_heads, hd).transpose(1, 2)
    qkv = rand(batch, n, (heads + 2 * kv_heads) * hd)
    v = qkv[..., (heads + kv_heads) * hd:].view(
        batch, n, kv_heads, hd).transpose(1, 2)
    dout = rand(batch, n, heads, hd).transpose(1, 2)
    return q, k, v, dout


def traced_configs(args, n: int, batch: int, table, log=print) -> List:
    """The spa.torch kernel configurations of one training step at length
    n, from the model's real call pattern, without a GPU: the model runs
    forward and backward on the meta device (no memory; for the bf16 run,
    bf16 weights stand in for autocast's bf16 projections, which give the
    same layouts), and its attention computes each call's KernelConfig as
    spa.torch does on the target (KernelConfig.from_tensors: shapes, dtype,
    bands, and the q/k/v strides the kernels read in place), returning out
    and the gradients in spa's layouts. Also the standalone attention
    timing's call (attention_ms, the same layouts). Returns the distinct
    configurations, in first-call order."""
    from spa.torch.arguments import TORCH_TO_IR, check_scale, encode_bands
    from spa.torch.config import KernelConfig
    from spa.arguments import same_strides
    from spa.torch.layouts import empty
    target = "cpu" if torch.device(args.device).type == "cpu" else TARGET_GPU
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    hd = args.model.head_dim
    flat, scale = encode_bands(table), check_scale(None, hd)
    calls: Dict = {}  # config -> [calls, dout copies]

    def config_of(q, k, v):
        config = KernelConfig.from_tensors(target, q, k, v,
                                           TORCH_TO_IR[q.dtype], flat, "",
                                           "causal", -1, scale)
        calls.setdefault(config, [0, 0])
        return config

    class Traced(torch.autograd.Function):
        @staticmethod
        def forward(ctx, q, k, v):
            ctx.config = config_of(q, k, v)
            calls[ctx.config][0] += 1
            ctx.layouts, ctx.shapes = ctx.config.layouts(), (q, k, v)
            b, h, m, _ = q.shape
            return empty(q, (b, h, m, v.shape[3]), ctx.layouts.output)

        @staticmethod
        def backward(ctx, dout):
            lay, (q, k, v) = ctx.layouts, ctx.shapes
            if not same_strides(tuple(dout.shape), lay.output_grad,
                                dout.stride()):
                calls[ctx.config][1] += 1  # spa.torch copies dout
            return (empty(q, q.shape, lay.query_grad),
                    empty(k, k.shape, lay.key_grad),
                    empty(v, v.shape, lay.value_grad))

    meta = torch.device("meta")
    with meta:
        model = GPT(args.model).to(dtype)
    # Its rotary tables start on the CPU (and move to the tokens' device).
    model.rotary = Rotary(args.model.head_dim, args.model.rope_base)
    tokens = torch.zeros(batch, n, dtype=torch.long, device=meta)
    model.loss(tokens, tokens, Traced.apply).backward()
    if not args.no_attention_timing:
        config_of(*model_layout_qkv(batch, n, args.heads, args.kv_heads, hd,
                                    dtype, meta)[:3])
    for config, (count, copies) in calls.items():
        log(f"N={n}: {count} attention call(s) per step with "
            f"{config.describe()}" +
            (f"; dout copied into out's layout {copies} time(s)" if copies
             else ""))
    return list(calls)


def kernel_configs(args, log=print) -> List[dict]:
    """spa.torch.precompile entries for every spa call of the run (traced
    from the model, traced_configs): per sequence length, every layer makes
    the same call."""
    entries = []
    for n, b in zip(args.seq_lens, args.batch):
        bands = band_table(args.heads, n, log)["table"]
        configs = traced_configs(args, n, b, bands, log)
        for i, config in enumerate(configs):
            entry = dict(
                name=f"train_gpt_n{n}" + (f"_{i}" if i else ""),
                target=config.target, batch=config.batch,
                heads=config.heads, kv_heads=config.kv_heads,
                seq_len=config.key_len, head_dim=config.head_dim,
                dtype=config.dtype, mode=config.mode,
                bands=[[list(iv) for iv in head] for head in bands])
            if config.strides:
                entry["strides"] = [list(config.strides[i:i + 4])
                                    for i in (0, 4, 8)]
            entries.append(entry)
    return entries


# ------------------------------------------------------------- attentions

def make_attention(method: str, args, bands: Dict, n: int,
                   device: torch.device) -> Callable:
    gqa = args.heads != args.kv_heads
    if method == "sdpa":
        def sdpa(q, k, v):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                  enable_gqa=gqa)
        return sdpa
    if method == "flex":
        if device.type != "cuda":
            raise Unsupported("FlexAttention has no backward on CPU in "
                              f"torch {torch.__version__}")
        from torch.nn.attention.flex_attention import (create_block_mask,
                                                       flex_attention)
        block_mask = create_block_mask(bands["mask_mod"], None, args.heads,
                                       n, n, device=device, _compile=True)
        compiled = torch.compile(flex_attention, dynamic=False)

        def flex(q, k, v):
            return compiled(q, k, v, block_mask=block_mask, enable_gqa=gqa)
        return flex
    if method == "spa":
        import spa.torch as st
        return st.BandedAttention(bands=bands["table"])
    raise ValueError(method)


# --------------------------------------------------------------- training

def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(model: GPT, init: Dict, attention: Callable, inputs, targets,
          args, device: torch.device) -> Dict:
    """Trains `model` from the state `init` on the step batches `inputs`,
    `targets` [steps, B, N] (on device). Returns losses and timings."""
    model.load_state_dict(init)
    model.train()
    fused = device.type == "cuda"
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr,
                            betas=(0.9, 0.95), weight_decay=0.1, fused=fused)
    ramp = max(1, min(20, args.steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / ramp))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16,
                              enabled=args.dtype == "bf16")
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    losses = []
    first_step_s = start = None
    t0 = time.perf_counter()
    for step in range(args.steps):
        if step == args.warmup:
            _sync(device)
            start = time.perf_counter()
        with autocast:
            loss = model.loss(inputs[step], targets[step], attention)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.detach())
        if step == 0:
            _sync(device)
            first_step_s = time.perf_counter() - t0
    _sync(device)
    elapsed = time.perf_counter() - start
    timed = args.steps - args.warmup
    tokens = inputs.shape[1] * inputs.shape[2]
    losses = torch.stack(losses).float().cpu().tolist()
    result = dict(
        losses=losses, loss_finite=all(map(math.isfinite, losses)),
        first_step_s=first_step_s, step_ms=1e3 * elapsed / timed,
        tokens_per_s=tokens * timed / elapsed,
        peak_mem_gib=(torch.cuda.max_memory_allocated(device) / 2**30
                      if device.type == "cuda" else None))
    del opt
    return result


def attention_ms(attention: Callable, args, batch: int, n: int,
                 device: torch.device) -> float:
    """One attention call, forward + backward, alone at the step's shapes,
    dtype and layouts (ms)."""
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    gen = torch.Generator(device=device).manual_seed(1)
    # The layouts the model's call has (token-major views, v a slice of
    # the fused projection): what every method meets in training.
    q, k, v, dout = model_layout_qkv(batch, n, args.heads, args.kv_heads,
                                     args.model.head_dim, dtype, device, gen)
    q, k, v = (t.detach().requires_grad_() for t in (q, k, v))
    run = forward_backward(attention, q, k, v, dout)
    if device.type == "cuda":
        from spa.runtime.timing import bench_ms
        return bench_ms(run).median
    run()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run()
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def run_method(method: str, args, model: GPT, init: Dict, bands: Dict,
               inputs, targets, device: torch.device, log=print) -> Dict:
    """One method at one length: training, then the attention alone."""
    n, batch = inputs.shape[2], inputs.shape[1]
    attention = make_attention(method, args, bands, n, device)
    result = train(model, init, attention, inputs, targets, args, device)
    if not args.no_attention_timing:
        ms = attention_ms(attention, args, batch, n, device)
        result["attention_ms"] = ms
        result["attention_share"] = args.layers * ms / result["step_ms"]
    log(f"N={n} {method}: {result['tokens_per_s']:,.0f} tokens/s, "
        f"step {result['step_ms']:.1f} ms, attention "
        f"{100 * result.get('attention_share', float('nan')):.0f}%, "
        f"loss {result['losses'][0]:.3f} -> {result['losses'][-1]:.3f}"
        + (f", peak {result['peak_mem_gib']:.1f} GiB"
           if result["peak_mem_gib"] is not None else ""))
    return result


def run_length(args, model: GPT, init: Dict, n: int, batch: int,
               device: torch.device, log=print) -> Dict:
    """Every method at one sequence length, same init and data."""
    bands = band_table(args.heads, n, log, device=device)
    inputs, targets = gpt_data.batches(args.seed, args.steps, batch, n,
                                       args.vocab)
    inputs, targets = inputs.to(device), targets.to(device)
    methods = {}
    for method in args.methods:
        try:
            methods[method] = run_method(method, args, model, init, bands,
                                         inputs, targets, device, log)
        except Unsupported as e:
            log(f"N={n} {method}: skipped ({e})")
            methods[method] = dict(skipped=str(e))
        except Exception as e:  # noqa: BLE001 - the other methods still run
            # (a missing kernel, out of memory, a compile error): recorded,
            # and the exit code says so.
            log(f"N={n} {method}: FAILED\n{traceback.format_exc()}")
            methods[method] = dict(error=f"{type(e).__name__}: {e}")
            model.zero_grad(set_to_none=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return dict(seq_len=n, batch=batch, tokens_per_step=batch * n,
                bands=bands["table"], bands_check=bands["check"],
                mask_proof_s=bands["proof_s"], methods=methods,
                comparison=compare(methods))


def compare(methods: Dict) -> Dict:
    """spa's speed-ups, and how far apart the spa and Flex loss curves are
    (same mask: they should agree within bf16 noise)."""
    out = {}
    spa = methods.get("spa", {})
    for other in ("flex", "sdpa"):
        o = methods.get(other, {})
        if "tokens_per_s" in spa and "tokens_per_s" in o:
            out[f"spa_speedup_vs_{other}"] = (spa["tokens_per_s"] /
                                              o["tokens_per_s"])
    if "losses" in spa and "losses" in methods.get("flex", {}):
        a, b = spa["losses"], methods["flex"]["losses"]
        out["spa_flex_max_loss_diff"] = max(abs(x - y) for x, y in zip(a, b))
        tail = max(1, len(a) // 10)
        out["spa_flex_final_loss_diff"] = abs(
            sum(a[-tail:]) / tail - sum(b[-tail:]) / tail)
    return out


def main(argv=None) -> int:
    args = resolve(parser().parse_args(argv))
    log = (lambda *a: print(*a, file=sys.stderr, flush=True))
    if args.list_kernels:
        entries = kernel_configs(args, log)  # one per line: greppable
        print("[\n" + ",\n".join(json.dumps(e) for e in entries) + "\n]")
        return 0
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(args.seed)
    model = GPT(args.model)  # initialised on the CPU: the same everywhere
    init = copy.deepcopy(model.state_dict())
    model.to(device)
    log(f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M "
        f"parameters on {device}, {args.dtype}, methods {args.methods}")
    config = dict(
        device=args.device, device_name=(
            torch.cuda.get_device_name(device) if device.type == "cuda"
            else "cpu"), torch=torch.__version__, dtype=args.dtype,
        model=dataclasses.asdict(args.model), steps=args.steps,
        warmup=args.warmup, lr=args.lr, seed=args.seed, policy=POLICY,
        methods=args.methods,
        parameters=sum(p.numel() for p in model.parameters()))
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "train_gpt.json")
    runs = []
    for n, b in zip(args.seq_lens, args.batch):
        runs.append(run_length(args, model, init, n, b, device, log))
        # After every length: a run cut short keeps what it measured.
        with open(path, "w") as f:
            json.dump(dict(config=config, runs=runs), f, indent=1)
        log(f"wrote {path}")
    report = dict(config=config, runs=runs)
    try:
        import gpt_plot
        log(f"wrote {gpt_plot.plot(report, args.out)}")
    except ImportError as e:  # matplotlib absent: plot later from the JSON
        log(f"no plot ({e}); run python examples/gpt_plot.py {path}")
    failed = [(r["seq_len"], m) for r in runs
              for m, res in r["methods"].items()
              if "error" in res or not res.get("loss_finite", True)]
    if failed:
        log(f"failed or non-finite losses: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
