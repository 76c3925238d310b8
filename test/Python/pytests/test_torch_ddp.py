"""spa.torch.attention under DistributedDataParallel: a tiny attention
model trained a few steps in two CPU processes (gloo), each on half the
batch, ends with the same parameters and gradients as one process on the
whole batch."""

import os
import socket

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

STEPS, BATCH, N, DIM, HEADS = 3, 4, 24, 32, 4
BANDS = [[(0, 4)], [(4, 10)], [], [(0, 1), (10, 24)]]


class TinyModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(DIM, 3 * DIM)
        self.proj = torch.nn.Linear(DIM, DIM)

    def forward(self, x):
        import spa.torch as st
        b, n, _ = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, HEADS, DIM // HEADS).permute(
            2, 0, 3, 1, 4)
        out = st.attention(q, k, v, bands=BANDS)
        return self.proj(out.transpose(1, 2).reshape(b, n, DIM))


def data():
    gen = torch.Generator().manual_seed(0)
    return (torch.randn(STEPS, BATCH, N, DIM, generator=gen),
            torch.randn(STEPS, BATCH, N, DIM, generator=gen))


def train(model, xs, ys, wrap=lambda m: m):
    net = wrap(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in zip(xs, ys):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()
    return {name: (p.detach().clone(), p.grad.clone())
            for name, p in model.named_parameters()}


def _worker(rank, world, port, path):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = TinyModel()
        xs, ys = data()
        half = BATCH // world
        part = slice(rank * half, (rank + 1) * half)
        result = train(model, xs[:, part], ys[:, part],
                       lambda m: torch.nn.parallel.DistributedDataParallel(m))
        if rank == 0:
            torch.save(result, path)
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_gradients_match_single_process(tmp_path):
    path = str(tmp_path / "ddp.pt")
    mp.spawn(_worker, args=(2, _free_port(), path), nprocs=2, join=True)
    ddp = torch.load(path)
    torch.manual_seed(0)
    single = train(TinyModel(), *data())
    assert ddp.keys() == single.keys()
    for name in single:
        for a, b in zip(ddp[name], single[name]):
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-6), name
