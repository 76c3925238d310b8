"""examples/train_gpt.py on the CPU (tiny model: 2 layers, 4 heads, d=64).

- The CLI trains SDPA and spa (FlexAttention has no backward on CPU: it
  must be reported as skipped, not crash): finite losses that fall, and a
  complete report.
- spa's loss at step 0 equals that of SDPA with an explicit boolean mask
  built here from the authors' local-plus-band formula (NumPy, independent
  of spa's tables) to 1e-4 in f32, same init and data; also at an odd
  length with grouped-query attention.
- --list-kernels lists exactly the kernel configurations the run builds
  (the precompile coverage of the GPU run), and for --device cuda the
  sm_90a / bf16 versions of them.
"""

import json
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "examples"))

import gpt_data  # noqa: E402
import spa.torch  # noqa: E402
import train_gpt as tg  # noqa: E402
from gpt_model import GPT  # noqa: E402
from spa.torch.precompile import config_from  # noqa: E402

TINY = ["--device", "cpu", "--layers", "2", "--heads", "4", "--dim", "64",
        "--seq-lens", "128", "--steps", "5"]


def authors_mask(heads: int, n: int) -> np.ndarray:
    """[H, n, n] bool: local window of W_h + 1 plus the band
    [S_h, S_h + W_h) of causal distances (W_h = floor(n/H) + [h < n mod H],
    S_h = h floor(n/H) + min(h, n mod H))."""
    wb, r = divmod(n, heads)
    d = np.arange(n)[:, None] - np.arange(n)[None, :]
    out = np.zeros((heads, n, n), dtype=bool)
    for h in range(heads):
        start, width = h * wb + min(h, r), wb + (h < r)
        out[h] = ((d >= 0) & (d < width + 1)) | (
            (d >= start) & (d < start + width))
    return out


def test_cli_trains_spa_and_sdpa(tmp_path):
    assert tg.main(TINY + ["--out", str(tmp_path)]) == 0
    report = json.load(open(tmp_path / "train_gpt.json"))
    (run,) = report["runs"]
    assert run["seq_len"] == 128 and run["batch"] == 4
    assert run["bands_check"].startswith("equal to spa.bands.plan")
    assert "CPU" in run["methods"]["flex"]["skipped"]
    for method in ("sdpa", "spa"):
        res = run["methods"][method]
        losses = res["losses"]
        assert len(losses) == 5 and res["loss_finite"]
        assert all(np.isfinite(losses)), (method, losses)
        # Falls from ln(vocab) ~ 6.24 within five steps.
        assert losses[-1] < losses[0] - 0.2, (method, losses)
        assert res["tokens_per_s"] > 0 and res["attention_share"] > 0
    assert run["comparison"]["spa_speedup_vs_sdpa"] > 0
    pytest.importorskip("matplotlib")
    assert (tmp_path / "train_gpt.png").stat().st_size > 0


@pytest.mark.parametrize("heads,kv_heads,n,dim", [(4, 4, 128, 64),
                                                  (4, 2, 97, 64)])
def test_step0_loss_equals_masked_sdpa(heads, kv_heads, n, dim):
    args = tg.resolve(tg.parser().parse_args([
        "--device", "cpu", "--layers", "2", "--heads", str(heads),
        "--kv-heads", str(kv_heads), "--dim", str(dim), "--seq-lens", str(n),
        "--steps", "2", "--batch", "3"]))
    cpu = torch.device("cpu")
    torch.manual_seed(3)
    model = GPT(args.model)
    # Attention weights far above GPT-2's 0.02, so that the attention (and
    # its mask) moves the loss by much more than the tolerance.
    init = {k: v * (20 if k.endswith(("qkv.weight", "proj.weight")) else 1)
            for k, v in model.state_dict().items()}
    inputs, targets = gpt_data.batches(7, args.steps, 3, n, args.vocab)
    mask = torch.from_numpy(authors_mask(heads, n))
    groups = heads // kv_heads

    def masked_sdpa(q, k, v):
        k, v = (t.repeat_interleave(groups, dim=1) for t in (k, v))
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    spa_attention = tg.make_attention("spa", args, tg.band_table(heads, n),
                                      n, cpu)
    got = tg.train(model, init, spa_attention, inputs, targets, args, cpu)
    want = tg.train(model, init, masked_sdpa, inputs, targets, args, cpu)
    assert abs(got["losses"][0] - want["losses"][0]) <= 1e-4, (got, want)
    # One AdamW step later (the gradients went through spa's backward).
    assert abs(got["losses"][1] - want["losses"][1]) <= 1e-3, (got, want)
    # And not trivially: dense causal attention gives another loss.
    dense = tg.train(model, init, tg.make_attention("sdpa", args, None, n,
                                                    cpu),
                     inputs, targets, args, cpu)
    assert abs(dense["losses"][0] - want["losses"][0]) > 1e-3


def _listed(argv, capsys):
    assert tg.main(argv + ["--list-kernels"]) == 0
    return json.loads(capsys.readouterr().out)


def test_list_kernels_covers_the_run(tmp_path, capsys, monkeypatch):
    argv = TINY + ["--steps", "2", "--warmup", "1", "--methods", "spa",
                   "--seq-lens", "64,100", "--batch", "2,1",
                   "--no-attention-timing"]
    listed = {config_from(e) for e in _listed(argv, capsys)}
    built = set()
    real = spa.torch.cpu.forward

    def recording(config, q, k, v):
        built.add(config)
        return real(config, q, k, v)
    monkeypatch.setattr(spa.torch.cpu, "forward", recording)
    assert tg.main(argv + ["--out", str(tmp_path)]) == 0
    assert built == listed and len(built) == 2

    # The GPU run's list (made here, no GPU needed, from the model's calls
    # traced on the meta device): same shapes and bands, for sm_90a in
    # bf16, with the strides of the model's views (q, k token-major, v a
    # slice of the fused qkv projection), which spa reads in place.
    gpu = _listed([a if a != "cpu" else "cuda" for a in argv], capsys)
    assert [(e["target"], e["dtype"]) for e in gpu] == [
        ("cuda:sm_90a", "bf16")] * 2
    from spa.torch.layouts import normalised
    for e, (n, b) in zip(gpu, ((64, 2), (100, 1))):
        h, d = 4, 16
        shape = (b, h, n, d)  # B = 1: the batch stride is normalised
        assert e["strides"] == [
            list(normalised(shape, (n * h * d, d, h * d, 1)))] * 2 + [
            list(normalised(shape, (n * 3 * h * d, d, 3 * h * d, 1)))]
        assert config_from(e).strides  # a strided configuration
    as_cpu = {config_from(dict({k: v for k, v in e.items()
                                if k != "strides"}, target="cpu",
                               dtype="f32")) for e in gpu}
    assert as_cpu == listed


def test_list_kernels_matches_the_calls_spa_makes(capsys, monkeypatch):
    """The traced GPU configurations are the ones spa.torch computes from
    the model's real tensors: run the model on the CPU with spa's op
    computing its config for sm_90a (KernelConfig.from_tensors on the real
    q, k, v) and compare, forward and backward."""
    from spa.torch import plans
    argv = ["--device", "cuda", "--layers", "2", "--heads", "4", "--dim",
            "64", "--seq-lens", "48", "--batch", "2", "--dtype", "f32"]
    listed = {config_from(e) for e in _listed(argv, capsys)}
    args = tg.resolve(tg.parser().parse_args(argv))
    seen = set()
    real = plans._config

    def as_gpu(q, k, v, *rest):
        from spa.torch.config import KernelConfig
        seen.add(KernelConfig.from_tensors(
            tg.TARGET_GPU, q, k, v, "f32", *rest))
        return real(q, k, v, *rest)
    monkeypatch.setattr(plans, "_config", as_gpu)
    from spa.torch import fastpath
    plans.clear()  # no plan of an earlier test: every config is computed
    fastpath.clear()
    model = GPT(args.model)
    bands = tg.band_table(4, 48)
    tokens = torch.randint(0, args.vocab, (2, 48))
    attention = tg.make_attention("spa", args, bands, 48,
                                  torch.device("cpu"))
    model.loss(tokens, tokens, attention).backward()
    assert seen == listed and len(seen) == 1
    (cfg,) = seen
    assert cfg.strides[:4] == (48 * 64, 16, 64, 1)


def test_data_is_deterministic_and_shifted():
    a = gpt_data.batches(1, 3, 2, 50, 64)
    b = gpt_data.batches(1, 3, 2, 50, 64)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    inputs, targets = a
    assert torch.equal(inputs[..., 1:], targets[..., :-1])
    assert int(inputs.min()) >= 0 and int(inputs.max()) < 64


def test_a_failing_method_is_reported_and_the_others_run(tmp_path,
                                                         monkeypatch):
    def missing(**kwargs):
        raise spa.torch.MissingKernelError("no compiled spa kernel (test)")
    monkeypatch.setattr(spa.torch, "BandedAttention", missing)
    argv = TINY + ["--steps", "2", "--methods", "sdpa,spa",
                   "--no-attention-timing", "--out", str(tmp_path)]
    assert tg.main(argv) == 1
    (run,) = json.load(open(tmp_path / "train_gpt.json"))["runs"]
    assert run["methods"]["spa"] == {
        "error": "MissingKernelError: no compiled spa kernel (test)"}
    assert run["methods"]["sdpa"]["loss_finite"]
