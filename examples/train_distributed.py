#!/usr/bin/env python3
"""Trains examples/gpt_model.GPT with spa's attention (the authors'
local_plus_band bands, as examples/train_gpt.py) over several processes,
one per GPU (NCCL) or per CPU process (gloo), launched by torchrun:

    torchrun --nproc-per-node 2 examples/train_distributed.py --mode ddp
    torchrun --nproc-per-node 2 examples/train_distributed.py --mode fsdp
    torchrun --nproc-per-node 2 examples/train_distributed.py --mode tp

--mode ddp / fsdp split the global --batch over the ranks; tp shards the
heads (and the MLP) over the ranks, each seeing the whole batch; see
examples/gpt_parallel.py. NVLink multicast is kept off in every process.

Reports the loss of every step (the mean over the ranks' batches: the
global batch's loss) and tokens/s of the global batch after --warmup
steps; rank 0 writes OUT/train_distributed_<mode>.json. --save-state FILE
also stores the step-0 logits of rank 0's batch and the final parameters
and gradients, gathered in full and named as in the unwrapped model (the
CI test compares them with one process on the whole batch).

CPU (CI; tiny defaults: 2 layers, 4 heads, d=64, N=128, batch 4, 5 steps,
f32). GPU defaults: 8 layers, 16 heads, d=1024, N=8192, 4 sequences per
rank (ddp, fsdp) or 4 in all (tp), 50 steps, bf16 autocast; spa's kernels
come from the kernel cache, filled where the compiler is for each rank's
configuration (tp ranks need one per head shard): bench/train_multi_gpu.sh,
which lists them with

    python examples/train_distributed.py --device cuda --mode tp --world 2 \\
        --list-kernels
"""

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from typing import Dict, List

import torch
import torch.distributed as dist
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gpt_data  # noqa: E402
import gpt_parallel as gp  # noqa: E402
import train_gpt as tg  # noqa: E402  (bands, kernel target; sets sys.path)
from gpt_model import GPT, config_from_args  # noqa: E402

# Per-device defaults; batch is per rank for ddp/fsdp (global = x world)
# and global for tp.
DEFAULTS = {
    "cuda": dict(layers=8, heads=16, dim=1024, seq_len=8192, steps=50,
                 batch_per_rank=4, lr=6e-4, warmup=10),
    "cpu": dict(layers=2, heads=4, dim=64, seq_len=128, steps=5,
                batch_per_rank=2, lr=3e-3, warmup=1),
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mode", choices=gp.MODES, required=True)
    p.add_argument("--device", help="cpu or cuda (default: cuda if "
                                    "available)")
    p.add_argument("--steps", type=int)
    p.add_argument("--seq-len", type=int)
    p.add_argument("--layers", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--kv-heads", type=int, help="default --heads")
    p.add_argument("--dim", type=int)
    p.add_argument("--vocab", type=int, default=512)
    p.add_argument("--batch", type=int,
                   help="global batch (sequences per step); default "
                        "batch-per-rank x world for ddp/fsdp, "
                        "batch-per-rank for tp")
    p.add_argument("--dtype", choices=("auto", "f32", "bf16"),
                   default="auto", help="auto: bf16 autocast on cuda, f32 "
                                        "on cpu")
    p.add_argument("--lr", type=float)
    p.add_argument("--warmup", type=int,
                   help="steps excluded from the tokens/s timing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="train_distributed_out")
    p.add_argument("--save-state", metavar="FILE",
                   help="rank 0 saves step-0 logits, final parameters and "
                        "gradients (gathered) here")
    p.add_argument("--world", type=int,
                   help="world size for --list-kernels (default "
                        "$WORLD_SIZE or 1)")
    p.add_argument("--list-kernels", action="store_true",
                   help="print the spa.torch.precompile configurations of "
                        "every rank (JSON list) and exit; needs no GPU and "
                        "no torchrun")
    return p


def resolve(args, world: int) -> argparse.Namespace:
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device not in DEFAULTS:
        raise SystemExit(f"--device must be cpu or cuda, got {args.device}")
    for name, value in DEFAULTS[args.device].items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    args.kv_heads = args.kv_heads or args.heads
    if args.dtype == "auto":
        args.dtype = "bf16" if args.device == "cuda" else "f32"
    if args.batch is None:
        args.batch = args.batch_per_rank * (1 if args.mode == "tp"
                                            else world)
    sizes = dict(layers=args.layers, heads=args.heads, dim=args.dim,
                 kv_heads=args.kv_heads, vocab=args.vocab, batch=args.batch,
                 seq_len=args.seq_len)
    args.model = config_from_args(args, sizes)
    try:
        if args.mode == "tp":
            import spa.torch as st
            st.shard_heads(args.heads, 0, world, kv_heads=args.kv_heads)
        else:
            gp.batch_slice(args.batch, 0, world)
    except ValueError as e:
        raise SystemExit(f"--mode {args.mode}: {e}")
    return args


# ------------------------------------------------------------- kernels

def kernel_configs(args, world: int, log) -> List[dict]:
    """spa.torch.precompile entries for every rank's spa call (one call
    shape per rank: every layer makes the same), without duplicates."""
    import spa.torch as st
    target = "cpu" if args.device == "cpu" else tg.TARGET_GPU
    bands = tg.band_table(args.heads, args.seq_len, log)["table"]
    entries, seen = [], set()
    for rank in range(world):
        if args.mode == "tp":
            shard = st.shard_heads(args.heads, rank, world,
                                   kv_heads=args.kv_heads)
            table = st.shard_bands(bands, rank, world, kv_heads=args.kv_heads)
            batch, heads, kv = args.batch, shard.heads, shard.kv_heads
        else:
            part = gp.batch_slice(args.batch, rank, world)
            batch, heads, kv, table = (part.stop - part.start, args.heads,
                                       args.kv_heads, bands)
        entry = dict(
            name=f"train_distributed_{args.mode}_w{world}_r{rank}_"
                 f"n{args.seq_len}", target=target, batch=batch,
            heads=heads, kv_heads=kv, seq_len=args.seq_len,
            head_dim=args.model.head_dim, dtype=args.dtype, mode="causal",
            bands=[[list(iv) for iv in head] for head in table])
        key = json.dumps({k: v for k, v in entry.items() if k != "name"},
                         sort_keys=True)
        if key not in seen:
            seen.add(key)
            entries.append(entry)
    return entries


# ------------------------------------------------------------ training

def loss_of(net, tokens, targets, attention) -> torch.Tensor:
    """Mean cross-entropy of the batch; calls `net` itself (its forward
    hooks are DDP's and FSDP's communication)."""
    logits = net(tokens, attention)
    return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten())


def optimizer(model, args):
    """AdamW and the linear warm-up of train_gpt.py (the single-process
    reference uses the same)."""
    fused = torch.device(args.device).type == "cuda"
    # foreach=False: tp mixes DTensor and plain parameters in one list,
    # which foreach kernels do not take.
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr,
                            betas=(0.9, 0.95), weight_decay=0.1,
                            fused=fused and args.mode != "tp",
                            foreach=False if args.mode == "tp" else None)
    ramp = max(1, min(20, args.steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / ramp))
    return opt, sched


def clip_grad_norm(params, max_norm: float, group=None) -> torch.Tensor:
    """torch.nn.utils.clip_grad_norm_ for gradients that are sharded
    DTensors (fsdp, tp), replicated DTensors or plain tensors (replicated:
    ddp's, tp's unsharded layers) on a 1-D mesh: shards' squares summed over
    the ranks by one all-reduce, replicated ones counted once."""
    from torch.distributed.tensor import DTensor, Replicate
    grads = [p.grad for p in params if p.grad is not None]
    sharded, replicated, locals_ = [], [], []
    for g in grads:
        if isinstance(g, DTensor):
            local = g.to_local()
            (sharded if any(not isinstance(pl, Replicate)
                            for pl in g.placements) else replicated
             ).append(local)
            locals_.append(local)
        else:
            replicated.append(g)
            locals_.append(g)
    device = locals_[0].device
    zero = torch.zeros((), device=device, dtype=torch.float32)

    def squares(ts):
        return sum((t.float().pow(2).sum() for t in ts), zero)
    total = squares(sharded)
    if dist.is_initialized():
        dist.all_reduce(total, group=group)
    total = (total + squares(replicated)).sqrt()
    coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
    with torch.no_grad():
        for t in locals_:
            t.mul_(coef.to(t.dtype))
    return total


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(net, model, attention, inputs, targets, args, d: gp.Dist
          ) -> Dict:
    """`args.steps` steps on the rank's batches inputs/targets
    [steps, B, N]; the global losses and timings."""
    opt, sched = optimizer(model, args)
    autocast = torch.autocast(d.device.type, dtype=torch.bfloat16,
                              enabled=args.dtype == "bf16")
    if d.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(d.device)
    losses, first_step_s, start = [], None, None
    t0 = time.perf_counter()
    for step in range(args.steps):
        if step == args.warmup:
            _sync(d.device)
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with autocast:
            loss = loss_of(net, inputs[step], targets[step], attention)
        loss.backward()
        clip_grad_norm(list(model.parameters()), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.detach())
        if step == 0:
            _sync(d.device)
            first_step_s = time.perf_counter() - t0
    _sync(d.device)
    elapsed = time.perf_counter() - start
    losses = torch.stack(losses).float()
    if args.mode != "tp":  # tp ranks compute the same loss already
        losses = d.all_mean(losses)
    timed = args.steps - args.warmup
    peak = None
    if d.device.type == "cuda":
        peak = torch.tensor(float(torch.cuda.max_memory_allocated(d.device)),
                            device=d.device)
        dist.all_reduce(peak, op=dist.ReduceOp.MAX)
        peak = peak.item() / 2**30
    losses = losses.cpu().tolist()
    return dict(losses=losses, loss_finite=all(map(math.isfinite, losses)),
                first_step_s=first_step_s, step_ms=1e3 * elapsed / timed,
                tokens_per_s=args.batch * args.seq_len * timed / elapsed,
                peak_mem_gib_max_rank=peak)


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    log = (lambda *a: print(*a, file=sys.stderr, flush=True))
    if args.list_kernels:
        world = args.world or int(os.environ.get("WORLD_SIZE", "1"))
        resolve(args, world)
        entries = kernel_configs(args, world, log)
        print("[\n" + ",\n".join(json.dumps(e) for e in entries) + "\n]")
        return 0
    d = gp.init(args.device)
    try:
        status = run(args, d, log)
        # Every rank done before any tears its connections down: otherwise
        # gloo may abort a rank whose peer closed first (seen under load).
        dist.barrier()
        return status
    finally:
        dist.destroy_process_group()


def run(args, d: gp.Dist, log) -> int:
    resolve(args, d.world)
    say = log if d.rank == 0 else (lambda *a: None)
    env = {name: os.environ.get(name) for name in gp.MULTICAST_OFF}
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.manual_seed(args.seed)
    model = GPT(args.model)  # initialised on the CPU: the same everywhere
    model.to(d.device)
    bands = tg.band_table(args.heads, args.seq_len, say,
                          device=d.device)["table"]
    inputs, targets = gpt_data.batches(args.seed, args.steps, args.batch,
                                       args.seq_len, args.vocab)
    if args.mode == "tp":
        attention = gp.tp_attention(bands, d, args.kv_heads)
    else:
        import spa.torch as st
        attention = st.BandedAttention(bands=bands)
        part = gp.batch_slice(args.batch, d.rank, d.world)
        inputs, targets = inputs[:, part], targets[:, part]
    inputs, targets = inputs.to(d.device), targets.to(d.device)
    net = gp.wrap(model, args.mode, d)
    say(f"{args.mode} on {d.world} x {d.device.type} ({d.backend}): "
        f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M "
        f"parameters, global batch {args.batch} x {args.seq_len}, "
        f"{args.dtype}; multicast env {env}")
    logits0 = None
    if args.save_state:
        with torch.no_grad(), torch.autocast(
                d.device.type, dtype=torch.bfloat16,
                enabled=args.dtype == "bf16"):
            logits0 = net(inputs[0], attention).float().cpu()
        gp.reshard(model)
    result = train(net, model, attention, inputs, targets, args, d)
    say(f"{args.mode}: {result['tokens_per_s']:,.0f} tokens/s (global), "
        f"step {result['step_ms']:.1f} ms, losses "
        + " ".join(f"{x:.4f}" for x in result["losses"]))
    state = gp.full_state(model) if args.save_state else None
    if d.rank == 0:
        report = dict(
            config=dict(
                mode=args.mode, world=d.world, backend=d.backend,
                device=d.device.type, device_name=(
                    torch.cuda.get_device_name(d.device)
                    if d.device.type == "cuda" else "cpu"),
                torch=torch.__version__, dtype=args.dtype,
                model=dataclasses.asdict(args.model), batch=args.batch,
                seq_len=args.seq_len, steps=args.steps, warmup=args.warmup,
                lr=args.lr, seed=args.seed, policy=tg.POLICY, bands=bands,
                multicast_env=env),
            result=result)
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, f"train_distributed_{args.mode}.json")
        with open(path, "w") as f:
            json.dump(report, f, indent=1)
        say(f"wrote {path}")
        if args.save_state:
            torch.save(dict(state=state, logits0=logits0,
                            losses=result["losses"]), args.save_state)
    return 0 if result["loss_finite"] else 1


if __name__ == "__main__":
    status = main()
    # Everything is written and the process group is gone; skip the
    # interpreter's teardown: there gloo occasionally aborts a rank
    # ("terminate called without an active exception": a C++ thread still
    # joinable in a static destructor; about 1 run in 12 on a loaded 2-core
    # machine), which turned finished runs into failures.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
