"""Process-group setup and the parallel wrappings of examples/gpt_model.GPT
for examples/train_distributed.py (one process per GPU, or per CPU process
under gloo, launched by torchrun):

- ddp:  torch.nn.parallel.DistributedDataParallel; each rank a slice of the
        batch.
- fsdp: FSDP2, torch.distributed.fsdp.fully_shard on every block, then the
        root; each rank a slice of the batch.
- tp:   head-parallel (tensor-parallel) attention on a 1-D DeviceMesh: the
        q, k and v projections column-parallel by heads, the output
        projection row-parallel (and the MLP likewise: fc column-, out
        row-parallel), with torch.distributed.tensor.parallel; each rank
        runs spa.torch.attention on its own heads with its slice of the band
        table (spa.torch.shard_bands). Every rank sees the whole batch.

NVLink multicast stays off in every process (multicast_off, before the
process group exists): NCCL_NVLS_ENABLE=0, TORCH_SYMM_MEM_DISABLE_MULTICAST=1,
NVSHMEM_DISABLE_NVLS=1.
"""

import os
import sys
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch
import torch.distributed as dist
from torch import nn

MODES = ("ddp", "fsdp", "tp")
MULTICAST_OFF = {"NCCL_NVLS_ENABLE": "0",
                 "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1",
                 "NVSHMEM_DISABLE_NVLS": "1"}


def multicast_off(environ=None) -> Dict[str, str]:
    """Sets the variables that keep NVLink multicast off (read by NCCL,
    torch's symmetric memory and NVSHMEM when they start, so this must run
    before the process group exists); a different value already set is
    overridden, with a warning. Returns what was set."""
    environ = os.environ if environ is None else environ
    for name, value in MULTICAST_OFF.items():
        old = environ.get(name)
        if old is not None and old != value:
            print(f"gpt_parallel: {name}={old} overridden to {value} "
                  "(NVLink multicast stays off)", file=sys.stderr)
        environ[name] = value
    return {name: environ[name] for name in MULTICAST_OFF}


@dataclass
class Dist:
    """This process's place in the job."""
    rank: int
    world: int
    local_rank: int
    device: torch.device
    backend: str
    mesh: object  # torch.distributed.device_mesh.DeviceMesh, 1-D

    def all_mean(self, value: torch.Tensor) -> torch.Tensor:
        """The mean of `value` over the ranks."""
        value = value.detach().clone()
        dist.all_reduce(value)
        return value / self.world


def init(device: Optional[str] = None) -> Dist:
    """Joins the job torchrun started: nccl on CUDA (one GPU per local
    rank), gloo on the CPU."""
    multicast_off()
    missing = [v for v in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                           "MASTER_PORT") if v not in os.environ]
    if missing:
        raise SystemExit(f"{' '.join(missing)} not set: launch with "
                         "torchrun --nproc-per-node N "
                         f"{os.path.basename(sys.argv[0])} ...")
    local_rank = int(os.environ["LOCAL_RANK"])
    kind = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if kind == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise SystemExit(f"local rank {local_rank} has no GPU (this "
                             f"host has {torch.cuda.device_count()})")
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
        dist.init_process_group("nccl", device_id=dev)
    elif kind == "cpu":
        dev = torch.device("cpu")
        dist.init_process_group("gloo")
    else:
        raise SystemExit(f"--device must be cpu or cuda, got {kind}")
    from torch.distributed.device_mesh import init_device_mesh
    world = dist.get_world_size()
    mesh = init_device_mesh(dev.type, (world,))
    return Dist(dist.get_rank(), world, local_rank, dev,
                dist.get_backend(), mesh)


def batch_slice(batch: int, rank: int, world: int) -> slice:
    """Rank `rank`'s part of a global batch (data-parallel modes)."""
    if batch % world:
        raise ValueError(f"the global batch {batch} does not split evenly "
                         f"over {world} ranks")
    part = batch // world
    return slice(rank * part, (rank + 1) * part)


# -------------------------------------------------------- tensor parallel

class SplitQKV(nn.Module):
    """A Block's fused qkv projection as three Linears `q`, `k`, `v`, so
    that each can be column-sharded by heads; `forward` returns their
    concatenation, as the fused one does (under tensor parallelism: of the
    rank's heads)."""

    def __init__(self, fused: nn.Linear, heads: int, kv_heads: int,
                 head_dim: int):
        super().__init__()
        sizes = [heads * head_dim, kv_heads * head_dim, kv_heads * head_dim]
        if fused.bias is not None or fused.out_features != sum(sizes):
            raise ValueError("SplitQKV: expected a bias-free Linear with "
                             f"{sum(sizes)} outputs")
        for name, w in zip("qkv", fused.weight.detach().split(sizes)):
            layer = nn.Linear(fused.in_features, w.shape[0], bias=False,
                              device=w.device, dtype=w.dtype)
            with torch.no_grad():
                layer.weight.copy_(w)
            setattr(self, name, layer)

    def forward(self, x):
        return torch.cat([self.q(x), self.k(x), self.v(x)], dim=-1)


def parallelize_tp(model: nn.Module, d: Dist) -> nn.Module:
    """Shards every block of `model` (a GPT) by heads over d.mesh, in
    place. The rank's attention must then be told its heads' bands
    (tp_attention)."""
    from torch.distributed.tensor.parallel import (ColwiseParallel,
                                                   RowwiseParallel,
                                                   parallelize_module)

    import spa.torch as st
    cfg = model.cfg
    shard = st.shard_heads(cfg.heads, d.rank, d.world,
                           kv_heads=cfg.kv_heads)  # ValueError if uneven
    hidden = cfg.mlp_ratio * cfg.dim
    if hidden % d.world:
        raise ValueError(f"the MLP's {hidden} hidden units do not split "
                         f"evenly over {d.world} ranks")
    plan = {"qkv.q": ColwiseParallel(), "qkv.k": ColwiseParallel(),
            "qkv.v": ColwiseParallel(), "proj": RowwiseParallel(),
            "fc": ColwiseParallel(), "out": RowwiseParallel()}
    for block in model.blocks:
        block.qkv = SplitQKV(block.qkv, cfg.heads, cfg.kv_heads,
                             cfg.head_dim)
        block.heads, block.kv_heads = shard.heads, shard.kv_heads
        parallelize_module(block, d.mesh, plan)
    return model


def tp_attention(bands, d: Dist, kv_heads: int):
    """spa.torch attention on this rank's heads: its slice of `bands`."""
    import spa.torch as st
    return st.BandedAttention(bands=st.shard_bands(bands, d.rank, d.world,
                                                   kv_heads=kv_heads))


# ------------------------------------------------------------- wrapping

def wrap(model: nn.Module, mode: str, d: Dist) -> nn.Module:
    """The module to call for training (model itself for tp and fsdp,
    which change it in place; a DDP wrapper for ddp)."""
    if mode == "ddp":
        ids = [d.device.index] if d.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)
    if mode == "fsdp":
        from torch.distributed.fsdp import fully_shard
        for block in model.blocks:
            fully_shard(block, mesh=d.mesh)
        fully_shard(model, mesh=d.mesh)
        return model
    if mode == "tp":
        return parallelize_tp(model, d)
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def reshard(model: nn.Module):
    """After a forward without backward (evaluation) under fsdp: FSDP2
    keeps the root's parameters gathered after its forward (the backward
    would need them at once), so without a backward they stay gathered,
    and an optimizer built then would hold the gathered copies, not the
    shards (its updates would be lost at the next gather). No-op for the
    other modes."""
    from torch.distributed.fsdp import FSDPModule
    for m in model.modules():
        if isinstance(m, FSDPModule):
            m.reshard()


def _full(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    from torch.distributed.tensor import DTensor
    if t is None:
        return None
    if isinstance(t, DTensor):
        t = t.full_tensor()  # a collective: every rank calls it
    return t.detach().cpu().clone()


def full_state(model: nn.Module) -> Dict[str, Tuple[torch.Tensor,
                                                     Optional[torch.Tensor]]]:
    """{name: (parameter, gradient)} in full (gathered from every rank's
    shards), named as in the unwrapped GPT (SplitQKV's q, k, v joined back
    into qkv). A collective: every rank must call it."""
    named = {}
    for name, p in model.named_parameters():
        name = name.replace("_fsdp_wrapped_module.", "")
        if name.startswith("module."):  # DDP
            name = name[len("module."):]
        named[name] = (_full(p), _full(p.grad))
    joined = {}
    for name, value in named.items():
        stem, _, leaf = name.rpartition(".")
        owner, _, part = stem.rpartition(".")
        if owner.endswith(".qkv") and part in "qkv" and len(part) == 1:
            if part != "q":
                continue
            parts = [named[f"{owner}.{p}.{leaf}"] for p in "qkv"]
            grads = [g for _, g in parts]
            joined[f"{owner}.{leaf}"] = (
                torch.cat([w for w, _ in parts]),
                None if any(g is None for g in grads) else torch.cat(grads))
        else:
            joined[name] = value
    return joined
