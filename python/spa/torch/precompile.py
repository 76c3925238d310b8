"""Fills spa.torch's kernel cache ahead of time, where the compiler is, for
a machine that has PyTorch but no MLIR (a GPU machine):

    PYTHONPATH=build/python_packages python -m spa.torch.precompile \\
        --target cuda:sm_90a --batch 2 --heads 16 --seq-len 4096 \\
        --head-dim 64 --dtype bf16 --policy local_plus_band

Writes into the cache directory (SPA_CACHE_DIR, else $XDG_CACHE_HOME/spa or
~/.cache/spa; or --cache-dir), which is then copied to the other machine.
A missing kernel there is an error that prints the exact command for its
configuration. `--configs FILE` takes a JSON list of objects with the same
option names (underscores for dashes) to build many at once. `--strides`
(CUDA) compiles for strided q, k, v views (spa.torch reads such views in
place, spa/torch/layouts.py); `python examples/train_gpt.py --list-kernels`
writes the entries a training run needs.
"""

import argparse
import dataclasses
import json
import os
import sys
import time

from .arguments import (DEFAULT_POLICY, MODES, check_bands, check_choice,
                        check_scale)
from .config import KernelConfig

DTYPES = ("f32", "f16", "bf16")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m spa.torch.precompile",
        description="Compile spa.torch kernels into the kernel cache.")
    p.add_argument("--target", default="cuda:sm_90a",
                   help="cuda:sm_80 .. cuda:sm_90a, or cpu (checks that the "
                        "configuration compiles; CPU code is not stored)")
    p.add_argument("--batch", type=int)
    p.add_argument("--heads", type=int, help="query heads (Hq)")
    p.add_argument("--kv-heads", type=int, help="key/value heads (default "
                                                "--heads)")
    p.add_argument("--seq-len", type=int, help="keys (Nk)")
    p.add_argument("--query-len", type=int, help="queries (default "
                                                 "--seq-len)")
    p.add_argument("--head-dim", type=int)
    p.add_argument("--value-dim", type=int, help="default --head-dim")
    p.add_argument("--dtype", choices=DTYPES)
    p.add_argument("--mode", choices=MODES, default="causal")
    p.add_argument("--policy", help=f"band policy (default {DEFAULT_POLICY} "
                                    "when --bands is not given)")
    p.add_argument("--bands", help="explicit table as JSON: "
                                   "[[[lo, hi], ...], ...] one list per head")
    p.add_argument("--window", type=int)
    p.add_argument("--scale", type=float, help="default 1/sqrt(head dim)")
    p.add_argument("--strides", help="CUDA: element strides of q, k and v "
                                     "as JSON [[4 ints], [4 ints], [4 ints]]"
                                     " (the views the kernels read in place;"
                                     " default contiguous)")
    p.add_argument("--configs", help="JSON file: a list of objects with "
                                     "these options")
    p.add_argument("--cache-dir", help="instead of SPA_CACHE_DIR / the "
                                       "user cache directory")
    return p


_REQUIRED = ("batch", "heads", "seq_len", "head_dim", "dtype")


def config_from(options: dict) -> KernelConfig:
    """A KernelConfig from option values (argparse's or a --configs
    entry), checked like spa.torch.attention's arguments."""
    missing = [n for n in _REQUIRED if options.get(n) is None]
    if missing:
        raise ValueError("missing " + ", ".join(
            "--" + n.replace("_", "-") for n in missing))
    heads = options["heads"]
    bands = options.get("bands")
    if isinstance(bands, str):
        bands = json.loads(bands)
    if bands is not None:
        bands = [[tuple(pair) for pair in head] for head in bands]
        check_bands(bands, heads)
    policy, flat, window = check_choice(options.get("policy"), bands,
                                        options.get("mode") or "causal",
                                        options.get("window"), heads)
    head_dim = options["head_dim"]
    scale = check_scale(options.get("scale"), head_dim)
    seq_len = options["seq_len"]
    target = options.get("target") or "cuda:sm_90a"
    if options["dtype"] not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}")
    config = KernelConfig(
        target=target, batch=options["batch"], heads=heads,
        kv_heads=options.get("kv_heads") or heads,
        query_len=(seq_len if options.get("query_len") is None
                   else options["query_len"]),
        key_len=seq_len, head_dim=head_dim,
        value_dim=options.get("value_dim") or head_dim,
        dtype=options["dtype"], mode=options.get("mode") or "causal",
        policy=policy, bands=tuple(flat), window=window, scale=scale)
    for name in ("batch", "heads", "kv_heads", "query_len", "key_len",
                 "head_dim", "value_dim"):
        if getattr(config, name) < 1:
            raise ValueError(f"{name} must be at least 1")
    if config.heads % config.kv_heads:
        raise ValueError("heads must be a multiple of kv_heads")
    strides = options.get("strides")
    if strides is not None:
        config = dataclasses.replace(config,
                                     strides=_strides(config, strides))
    return config


_ELEMENT_SIZE = {"f32": 4, "f16": 2, "bf16": 2}


def _strides(config: KernelConfig, given) -> tuple:
    """--strides as the configuration's flat q, k, v strides, checked as
    spa.torch would choose them: usable in place (else spa.torch copies
    the tensor and never asks for this configuration)."""
    from .layouts import plan_strides, usable_strides
    if isinstance(given, str):
        given = json.loads(given)
    if not config.target.startswith("cuda"):
        raise ValueError("--strides applies to cuda targets only")
    shapes = [(config.batch, config.heads, config.query_len,
               config.head_dim),
              (config.batch, config.kv_heads, config.key_len,
               config.head_dim),
              (config.batch, config.kv_heads, config.key_len,
               config.value_dim)]
    if (not isinstance(given, list) or len(given) != 3 or
            not all(isinstance(s, list) and len(s) == 4 and
                    all(isinstance(x, int) and not isinstance(x, bool)
                        for x in s) for s in given)):
        raise ValueError("--strides must be three lists of four ints (q, "
                         f"k, v), got {given!r}")
    for name, shape, s in zip("qkv", shapes, given):
        if usable_strides(shape, s, _ELEMENT_SIZE[config.dtype]) is None:
            raise ValueError(
                f"--strides: {name} strides {s} for shape {list(shape)} "
                "cannot be read in place (innermost stride 1, nonnegative, "
                "non-overlapping, other strides multiples of 16 bytes); "
                "spa.torch copies such a tensor into the contiguous layout")

    import torch
    dtype = {"f32": torch.float32, "f16": torch.float16,
             "bf16": torch.bfloat16}[config.dtype]
    return plan_strides(*(torch.empty_strided(shape, s, dtype=dtype,
                                              device="meta")
                          for shape, s in zip(shapes, given)))


def build(config: KernelConfig) -> str:
    """Compiles `config` into the cache (CUDA) or checks it compiles (CPU);
    returns what was done."""
    from . import cache
    if config.target == "cpu":
        from . import cpu
        cpu.functions(config)
        return "compiled (CPU code lives in memory only)"
    if not config.target.startswith("cuda:"):
        raise ValueError(f"target must be cpu or cuda:sm_XX, got "
                         f"{config.target!r}")
    compiler = cache.compiler_id()
    if compiler is None:
        raise RuntimeError("the spa compiler (spa._spa_native) is not "
                           "importable: run this with PYTHONPATH="
                           "build/python_packages in a spa build")
    from .cuda import _build
    _, directory = cache.load_or_build_artifact(config, _build)
    return directory


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.cache_dir:
        os.environ["SPA_CACHE_DIR"] = os.path.abspath(args.cache_dir)
    entries = []
    if args.configs:
        with open(args.configs) as f:
            entries = json.load(f)
        if not isinstance(entries, list):
            print("--configs: expected a JSON list", file=sys.stderr)
            return 2
    else:
        entries = [{k: v for k, v in vars(args).items()
                    if k not in ("configs", "cache_dir")}]
    for entry in entries:
        start = time.time()
        try:
            config = config_from(entry)
            where = build(config)
        except Exception as e:  # noqa: BLE001 - reported, exit code 1
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"{config.describe()}: {where} ({time.time() - start:.1f} s)",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
