"""examples/train_distributed.py under torchrun with two gloo CPU
processes, each mode against one process training the same unsharded model
on the same global batch (f32, tiny GPT with grouped-query attention:
4 query heads, 2 k/v heads, N=40, not a multiple of any tile):

- ddp, fsdp (each rank half the batch): the loss of every step, rank 0's
  step-0 logits, and the final parameters and gradients (gathered in full)
  equal the single process's;
- tp (heads sharded: each rank 2 query heads, 1 k/v head, its slice of the
  band table): the same, on the whole batch.

The single-process reference is written here (torch's clip_grad_norm_, not
the example's DTensor-aware one); it shares only the model, the data, the
bands and the optimizer settings with the example. Also: every launch has
NVLink multicast off (NCCL_NVLS_ENABLE=1 passed in is overridden), and
--list-kernels lists per-shard kernels for tp.
"""

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
EXAMPLES = os.path.join(ROOT, "examples")
sys.path.insert(0, EXAMPLES)

import gpt_data  # noqa: E402
import gpt_parallel as gp  # noqa: E402
import spa.torch as st  # noqa: E402
import train_distributed as td  # noqa: E402
import train_gpt as tg  # noqa: E402
from gpt_model import GPT  # noqa: E402

TINY = ["--device", "cpu", "--layers", "2", "--heads", "4", "--kv-heads",
        "2", "--dim", "32", "--seq-len", "40", "--vocab", "64", "--batch",
        "4", "--steps", "3", "--warmup", "1"]


def launch(mode: str, tmp_path, world: int = 2):
    """torchrun --nproc-per-node world; returns (report, saved state)."""
    state = tmp_path / f"{mode}.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1",
               NCCL_NVLS_ENABLE="1")  # must be overridden to 0
    env.pop("TORCH_SYMM_MEM_DISABLE_MULTICAST", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={world}",
           os.path.join(EXAMPLES, "train_distributed.py"), "--mode", mode,
           *TINY, "--out", str(tmp_path), "--save-state", str(state)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(tmp_path / f"train_distributed_{mode}.json") as f:
        report = json.load(f)
    return report, torch.load(state)


@pytest.fixture(scope="module")
def reference():
    """One process, the unsharded model, the whole batch."""
    args = td.resolve(td.parser().parse_args(["--mode", "ddp", *TINY]), 1)
    torch.manual_seed(args.seed)
    model = GPT(args.model)
    bands = tg.band_table(args.heads, args.seq_len, lambda *a: None)["table"]
    attention = st.BandedAttention(bands=bands)
    inputs, targets = gpt_data.batches(args.seed, args.steps, args.batch,
                                       args.seq_len, args.vocab)
    with torch.no_grad():
        logits0 = model(inputs[0], attention)
    opt, sched = td.optimizer(model, args)
    losses = []
    for step in range(args.steps):
        opt.zero_grad(set_to_none=True)
        loss = td.loss_of(model, inputs[step], targets[step], attention)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    state = {n: (p.detach().clone(), p.grad.clone())
             for n, p in model.named_parameters()}
    return dict(losses=losses, logits0=logits0, state=state, bands=bands)


def close(a, b, rtol, atol_scale):
    """|a - b| <= rtol |b| + atol_scale max|b| elementwise."""
    atol = atol_scale * b.abs().max().item()
    return torch.allclose(a, b, rtol=rtol, atol=atol), (
        (a - b).abs().max().item())


@pytest.mark.parametrize("mode", gp.MODES)
def test_matches_single_process(mode, reference, tmp_path):
    report, saved = launch(mode, tmp_path)
    cfg, res = report["config"], report["result"]
    assert (cfg["mode"], cfg["world"], cfg["backend"]) == (mode, 2, "gloo")
    assert cfg["multicast_env"] == gp.MULTICAST_OFF
    assert cfg["bands"] == [[list(iv) for iv in h]
                            for h in reference["bands"]]
    assert res["tokens_per_s"] > 0 and res["loss_finite"]
    assert res["losses"] == saved["losses"]
    assert torch.allclose(torch.tensor(res["losses"]),
                          torch.tensor(reference["losses"]),
                          rtol=1e-5, atol=0), (res["losses"],
                                               reference["losses"])
    # Rank 0's logits: half the batch (ddp, fsdp) or all of it (tp).
    logits = saved["logits0"]
    assert logits.shape[0] == (4 if mode == "tp" else 2)
    ok, err = close(logits, reference["logits0"][:logits.shape[0]],
                    1e-5, 1e-5)
    assert ok, ("logits", err)
    state = saved["state"]
    assert state.keys() == reference["state"].keys()
    for name, (w_ref, g_ref) in reference["state"].items():
        w, g = state[name]
        assert w.shape == w_ref.shape and g.shape == g_ref.shape, name
        ok, err = close(g, g_ref, 1e-4, 1e-5)
        assert ok, (name, "gradient", err)
        # Adam turns tiny gradient differences into steps of up to ~lr:
        # parameters agree to a small fraction of one step.
        ok, err = close(w, w_ref, 1e-5, 2e-4)
        assert ok, (name, "parameter", err)


def test_list_kernels_per_rank(capsys):
    """tp: one kernel configuration per head shard (its heads, its k/v
    heads, its slice of the table); ddp: one for all ranks (half batch)."""
    assert td.main(["--mode", "tp", "--world", "2", "--list-kernels",
                    *TINY]) == 0
    tp = json.loads(capsys.readouterr().out)
    assert [(e["heads"], e["kv_heads"], e["batch"]) for e in tp] == [
        (2, 1, 4), (2, 1, 4)]
    full = tg.band_table(4, 40, lambda *a: None)["table"]
    assert [h for e in tp for h in e["bands"]] == [
        [list(iv) for iv in h] for h in full]
    from spa.torch.precompile import config_from
    for entry in tp:
        config_from(entry)  # valid precompile entries
    assert td.main(["--mode", "ddp", "--world", "2", "--list-kernels",
                    *TINY]) == 0
    (ddp,) = json.loads(capsys.readouterr().out)
    assert (ddp["heads"], ddp["kv_heads"], ddp["batch"]) == (4, 2, 2)


def test_multicast_off_overrides():
    env = {"NCCL_NVLS_ENABLE": "1", "OTHER": "x"}
    assert gp.multicast_off(env) == gp.MULTICAST_OFF
    assert env == dict(gp.MULTICAST_OFF, OTHER="x")


def test_bad_layouts_are_clear_errors(monkeypatch):
    with pytest.raises(SystemExit, match="kv_heads .3. to be a multiple"):
        td.resolve(td.parser().parse_args(
            ["--mode", "tp", "--device", "cpu", "--heads", "6",
             "--kv-heads", "3", "--dim", "48"]), 2)
    with pytest.raises(SystemExit, match="global batch 3 does not split"):
        td.resolve(td.parser().parse_args(
            ["--mode", "ddp", "--device", "cpu", "--batch", "3"]), 2)
    for name in gp.MULTICAST_OFF:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(SystemExit, match="not set: launch with "
                                         "torchrun"):
        gp.init("cpu")
