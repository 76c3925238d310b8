"""The kernel cache: compiled code per KernelConfig, in memory (CPU JIT
functions, loaded CUDA kernels) and on disk (CUDA artifacts).

Disk layout, under `cache_dir()`:

    kernels/<config key>/<compiler id>/{kernel.cubin, kernel.ptx,
                                        launch.json, config.json}

The config key hashes everything the caller chooses (KernelConfig.key);
the compiler id is spa's version plus a hash of the native compiler module,
so a rebuilt compiler never reuses another build's code. Where the compiler
is importable a missing entry is compiled and stored; where it is not (a
GPU machine with PyTorch but no MLIR) the entry is loaded from the config
key's newest build, and a missing one is a `MissingKernelError` naming the
precompile command that builds it.
"""

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from typing import Callable, Dict, Optional

from .config import KernelConfig

ENV_CACHE_DIR = "SPA_CACHE_DIR"


class MissingKernelError(RuntimeError):
    """No compiled kernel for a configuration, and no compiler here."""


def cache_dir() -> str:
    """$SPA_CACHE_DIR, else $XDG_CACHE_HOME/spa, else ~/.cache/spa."""
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "spa")


_compiler_id: Optional[str] = None
_compiler_checked = False
_lock = threading.Lock()


def compiler_id() -> Optional[str]:
    """`<version>-<hash of _spa_native>`, or None where the compiler cannot
    be imported. Computed once per process."""
    global _compiler_id, _compiler_checked
    with _lock:
        if not _compiler_checked:
            _compiler_checked = True
            try:
                from .. import _spa_native as native
            except ImportError:
                native = None
            if native is not None:
                digest = hashlib.sha256()
                with open(native.__file__, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
                _compiler_id = f"{native.__version__}-{digest.hexdigest()[:16]}"
        return _compiler_id


def have_compiler() -> bool:
    return compiler_id() is not None


def entry_dir(config: KernelConfig, compiler: str) -> str:
    return os.path.join(cache_dir(), "kernels", config.key(), compiler)


def _newest_build(config: KernelConfig) -> Optional[str]:
    """The config's most recently stored build, whatever compiler made it."""
    root = os.path.join(cache_dir(), "kernels", config.key())
    try:
        builds = [os.path.join(root, name) for name in os.listdir(root)]
    except FileNotFoundError:
        return None
    builds = [b for b in builds
              if os.path.exists(os.path.join(b, "config.json"))]
    return max(builds, key=os.path.getmtime) if builds else None


def missing_kernel(config: KernelConfig) -> MissingKernelError:
    moved = (f"SPA_CACHE_DIR={cache_dir()} " if os.environ.get(
        ENV_CACHE_DIR) else "")
    return MissingKernelError(
        f"no compiled spa kernel for {config.describe()} in the cache "
        f"{cache_dir()}, and the spa compiler (spa._spa_native) is not "
        "importable here to build it. Build it where the compiler is, then "
        "copy the cache directory here (or point SPA_CACHE_DIR at it):\n"
        f"    {moved}PYTHONPATH=build/python_packages "
        f"{config.precompile_command()}")


def load_or_build_artifact(config: KernelConfig,
                           build: Callable[[KernelConfig], object]):
    """The CUDA artifact of `config` from disk, or built by `build(config)`
    (which needs the compiler) and stored. Returns (artifact, directory)."""
    from ..runtime.cuda import CudaArtifact
    compiler = compiler_id()
    if compiler is None:
        directory = _newest_build(config)
        if directory is None:
            raise missing_kernel(config)
        return CudaArtifact.load(directory), directory
    directory = entry_dir(config, compiler)
    if os.path.exists(os.path.join(directory, "config.json")):
        return CudaArtifact.load(directory), directory
    artifact = build(config)
    store_artifact(config, compiler, artifact)
    return artifact, directory


def store_artifact(config: KernelConfig, compiler: str, artifact) -> str:
    """Writes the entry into a temporary directory and renames it in place,
    so a reader (another process, another rank) never sees half of one."""
    directory = entry_dir(config, compiler)
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tmp-", dir=parent)
    try:
        artifact.save(staging)
        with open(os.path.join(staging, "config.json"), "w") as f:
            json.dump({"config": config.__dict__, "compiler": compiler,
                       "created": time.time(),
                       "precompile": config.precompile_command()}, f,
                      indent=1)
        try:
            os.rename(staging, directory)
        except OSError:
            # Another process stored the same entry first: keep theirs.
            if not os.path.exists(os.path.join(directory, "config.json")):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


class MemoryCache:
    """Thread-safe memoization of `make(key)`; each key is built once."""

    def __init__(self):
        self._items: Dict = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key, make: Callable):
        with self._lock:
            if key in self._items:
                self.hits += 1
                return self._items[key]
            self.misses += 1
            value = make(key)
            self._items[key] = value
            return value

    def clear(self):
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self):
        return len(self._items)
