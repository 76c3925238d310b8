"""spa.torch's kernel cache and precompile CLI: in-memory CPU functions,
the on-disk CUDA artifact store (hit, miss, entries of another compiler
build, the missing-kernel error without a compiler), the cache directory's
environment variables, and `python -m spa.torch.precompile`."""

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

import spa  # noqa: E402
import spa.torch as st  # noqa: E402
from spa.runtime.cuda import ARTIFACT_FORMAT, CudaArtifact  # noqa: E402
from spa.torch import cache, cpu  # noqa: E402
from spa.torch.config import KernelConfig  # noqa: E402
from spa.torch.precompile import config_from  # noqa: E402


def config(**changes):
    fields = dict(target="cuda:sm_90a", batch=2, heads=4, kv_heads=2,
                  query_len=100, key_len=130, head_dim=64, value_dim=32,
                  dtype="bf16", mode="causal", policy="", scale=0.125,
                  bands=(4, 1, 0, 5, 0, 2, 1, 3, 9, 12, 1, 7, 130),
                  window=-1)
    fields.update(changes)
    return KernelConfig(**fields)


@pytest.fixture
def cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("SPA_CACHE_DIR", str(tmp_path / "c"))
    return tmp_path / "c"


def fake_builder(calls):
    def build(cfg):
        calls.append(cfg)
        return CudaArtifact(b"cubin:" + cfg.key().encode(), "ptx",
                            {"format": ARTIFACT_FORMAT,
                             "kernels": [{"name": "k", "op": 0}]})
    return build


def test_cache_dir_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("SPA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert st.cache_dir() == str(tmp_path / "xdg" / "spa")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert st.cache_dir() == os.path.join(os.path.expanduser("~"), ".cache",
                                          "spa")
    monkeypatch.setenv("SPA_CACHE_DIR", str(tmp_path / "moved"))
    assert st.cache_dir() == str(tmp_path / "moved")


def test_keys_cover_every_field():
    base = config()
    keys = {base.key()}
    for change in (dict(target="cuda:sm_80"), dict(batch=3),
                   dict(heads=8, bands=()), dict(kv_heads=4),
                   dict(query_len=101), dict(key_len=131),
                   dict(head_dim=128), dict(value_dim=64), dict(dtype="f16"),
                   dict(mode="bidirectional"), dict(policy="gapped_half"),
                   dict(bands=(4, 1, 0, 5, 0, 2, 1, 3, 9, 12, 1, 7, 131)),
                   dict(window=5), dict(scale=0.12500001),
                   dict(strides=(51200, 128, 512, 1, 16640, 64, 128, 1,
                                 58240, 32, 448, 1))):
        keys.add(config(**change).key())
    assert len(keys) == 16
    assert config().key() == base.key()


def test_contiguous_keys_did_not_move():
    """A contiguous configuration (strides ()) hashes as it did before
    strides were part of a configuration, so existing caches stay valid."""
    import hashlib
    from dataclasses import asdict
    from spa.layer import float_literal
    from spa.torch.config import CACHE_FORMAT
    cfg = config()
    fields = asdict(cfg)
    del fields["strides"]
    fields["scale"] = float_literal(cfg.scale)
    text = json.dumps([CACHE_FORMAT, fields], sort_keys=True)
    assert cfg.key() == hashlib.sha256(text.encode()).hexdigest()[:32]


def test_disk_hit_miss_and_missing_kernel(cache_root, monkeypatch):
    calls = []
    monkeypatch.setattr(cache, "_compiler_checked", True)
    monkeypatch.setattr(cache, "_compiler_id", "0.1.0-aaaa")
    cfg = config()
    art, where = cache.load_or_build_artifact(cfg, fake_builder(calls))
    assert len(calls) == 1 and os.path.isdir(where)
    assert where.startswith(str(cache_root))
    again, _ = cache.load_or_build_artifact(cfg, fake_builder(calls))
    assert len(calls) == 1 and again.cubin == art.cubin  # hit
    saved = json.load(open(os.path.join(where, "config.json")))
    assert saved["compiler"] == "0.1.0-aaaa"
    # A rebuilt compiler never reuses another build's code.
    monkeypatch.setattr(cache, "_compiler_id", "0.1.0-bbbb")
    cache.load_or_build_artifact(cfg, fake_builder(calls))
    assert len(calls) == 2
    # Without a compiler: the newest build is loaded; a missing one is an
    # error naming the exact precompile command.
    monkeypatch.setattr(cache, "_compiler_id", None)
    loaded, _ = cache.load_or_build_artifact(cfg, fake_builder(calls))
    assert loaded.cubin == art.cubin and len(calls) == 2
    other = config(key_len=131)
    with pytest.raises(st.MissingKernelError) as info:
        cache.load_or_build_artifact(other, fake_builder(calls))
    message = str(info.value)
    assert other.precompile_command() in message
    assert f"SPA_CACHE_DIR={cache_root}" in message
    assert len(calls) == 2


@pytest.mark.parametrize("cfg", [
    config(),
    config(policy="sliding_window", bands=(), window=7, mode="bidirectional"),
    config(target="cpu", dtype="f32", scale=1 / 3),
    config(strides=(51200, 128, 512, 1, 16640, 64, 128, 1, 58240, 32, 448, 1)),
])
def test_precompile_command_round_trips(cfg):
    """The command the error prints builds exactly the missing config."""
    import shlex
    from spa.torch.precompile import _parser
    argv = shlex.split(cfg.precompile_command())[3:]
    options = vars(_parser().parse_args(argv))
    assert config_from(options) == cfg


def test_cpu_functions_are_cached_in_memory():
    cpu._functions.clear()
    x = torch.randn(1, 2, 11, 8)
    st.attention(x, x, x, bands=[[(0, 2)], [(2, 11)]])
    st.attention(x + 1, x, x, bands=[[(0, 2)], [(2, 11)]])
    assert (cpu._functions.misses, cpu._functions.hits) == (1, 1)
    st.attention(x, x, x, bands=[[(0, 3)], [(2, 11)]])  # another table
    assert cpu._functions.misses == 2


def _precompile(*args, env=None):
    return subprocess.run([sys.executable, "-m", "spa.torch.precompile",
                           *args], capture_output=True, text=True,
                          env=env, timeout=600)


def test_precompile_cli_errors():
    run = _precompile("--target", "cpu", "--batch", "1", "--heads", "3",
                      "--seq-len", "8", "--head-dim", "8", "--dtype", "f32",
                      "--bands", "[[[0,2]]]")
    assert run.returncode == 1
    assert "bands has 1 heads but q has 3" in run.stderr
    run = _precompile("--target", "cpu", "--heads", "3")
    assert run.returncode == 1 and "missing --batch" in run.stderr


def test_precompile_cli_cpu(tmp_path):
    run = _precompile("--target", "cpu", "--batch", "1", "--heads", "2",
                      "--seq-len", "9", "--head-dim", "8", "--dtype", "bf16",
                      "--policy", "exclusive_equal", "--cache-dir",
                      str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "compiled (CPU code lives in memory only)" in run.stdout


@pytest.mark.skipif(
    not hasattr(__import__("spa.runtime.cuda").runtime.cuda, "op_launches"),
    reason="needs the GPU gradient kernels (branch gpu-grad)")
def test_precompile_cli_cuda_fills_the_cache(tmp_path):
    """Compiles forward and gradient kernels into --cache-dir; a process
    without the compiler then finds them (as the GPU machine does)."""
    configs = tmp_path / "configs.json"
    configs.write_text(json.dumps([
        {"target": "cuda:sm_90a", "batch": 1, "heads": 2, "kv_heads": 1,
         "seq_len": 40, "head_dim": 64, "dtype": "bf16",
         "policy": "exclusive_equal"}]))
    run = _precompile("--configs", str(configs), "--cache-dir",
                      str(tmp_path / "c"))
    assert run.returncode == 0, run.stderr
    entries = list((tmp_path / "c" / "kernels").glob("*/*/launch.json"))
    assert len(entries) == 1
    kernels = json.loads(entries[0].read_text())["kernels"]
    assert {k.get("op", 0) for k in kernels} == {0, 1}


def test_cpu_closed_form_policy_compiles_once_for_every_length():
    """A closed-form policy's table follows from the lengths at run time,
    so the CPU functions are compiled with dynamic Nq and Nk once and serve
    every length (a training loop over varying lengths compiles a layer
    once); each length's outputs and gradients still match the float64
    reference of that length's table. An explicit table or a balanced
    policy is planned for one length and compiles per length."""
    import spa_reference
    import torch_reference as tref
    cpu._functions.clear()
    gen = torch.Generator().manual_seed(3)
    for nq, nk in ((9, 9), (40, 40), (23, 31), (64, 17)):
        q = torch.randn(1, 4, nq, 8, generator=gen, requires_grad=True)
        k = torch.randn(1, 2, nk, 8, generator=gen, requires_grad=True)
        v = torch.randn(1, 2, nk, 4, generator=gen, requires_grad=True)
        dout = torch.randn(1, 4, nq, 4, generator=gen)
        out = st.attention(q, k, v, policy="local_plus_band")
        out.backward(dout)
        table = spa_reference.band_table("local_plus_band", nk, 4, "causal")
        q64, k64, v64 = (t.detach().double().requires_grad_()
                         for t in (q, k, v))
        ref, _ = tref.attention(q64, k64, v64, table, "causal")
        ref.backward(dout.double())
        for got, want in ((out, ref), (q.grad, q64.grad), (k.grad, k64.grad),
                          (v.grad, v64.grad)):
            assert ((got.double() - want).abs().max()
                    / (1 + want.abs().max())) < 2e-5, (nq, nk)
    assert cpu._functions.misses == 1
    for n in (12, 13):
        y = torch.randn(1, 2, n, 8)
        st.attention(y, y, y, policy="pair_balanced")
    assert cpu._functions.misses == 3
    compiled = cpu.compiled_config(config(target="cpu", policy="gapped_half",
                                          bands=()))
    assert (compiled.query_len, compiled.key_len) == (None, None)
    assert cpu.compiled_config(config(target="cpu")).key_len == 130
    # Fewer keys than query heads: a distance-partitioning policy leaves
    # heads without a band (SPEC 1), whose rows and gradients are zero, the
    # same through the dynamic functions (exclusive_equal) as through a
    # static plan (pair_balanced).
    for policy, misses in (("exclusive_equal", 4), ("pair_balanced", 5)):
        q = torch.randn(1, 4, 3, 8, generator=gen, requires_grad=True)
        kv = torch.randn(1, 4, 3, 8, generator=gen, requires_grad=True)
        dout = torch.randn(1, 4, 3, 8, generator=gen)
        out = st.attention(q, kv, kv, policy=policy)
        out.backward(dout)
        # One distance a head, the last head none, for both policies.
        table = spa_reference.band_table("exclusive_equal", 3, 4, "causal")
        assert table[3] == []
        q64, kv64 = (t.detach().double().requires_grad_() for t in (q, kv))
        ref, _ = tref.attention(q64, kv64, kv64, table, "causal")
        ref.backward(dout.double())
        assert not out[:, 3].any() and not q.grad[:, 3].any()
        for got, want in ((out, ref), (q.grad, q64.grad), (kv.grad, kv64.grad)):
            assert ((got.double() - want).abs().max()
                    / (1 + want.abs().max())) < 2e-5, policy
        assert cpu._functions.misses == misses, policy
