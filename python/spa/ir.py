"""Parse, print and transform MLIR modules with the spa dialect, running any
registered pass or pipeline by name (the same registry as spa-opt)."""

import re
from typing import List

from . import _spa_native as _native


class MLIRError(Exception):
    """MLIR diagnostics, one per line: `<location>: error: <message>`."""

    def __init__(self, message: str):
        super().__init__(message)
        self.diagnostics: List[str] = message.splitlines()

    @property
    def locations(self) -> List[str]:
        """The `loc(...)` of each error diagnostic."""
        return [m.group(1) for line in self.diagnostics
                if (m := re.match(r"(loc\(.*?\)|\S+:\d+:\d+): error:", line))]


_default_context = None


def _context():
    global _default_context
    if _default_context is None:
        _default_context = _native.make_context()
    return _default_context


class Module:
    """An MLIR module owned by the package's MLIR context."""

    def __init__(self, native):
        self._native = native

    def __str__(self) -> str:
        return str(self._native)

    def clone(self) -> "Module":
        return Module(self._native.clone())

    def verify(self) -> None:
        try:
            self._native.verify()
        except _native.NativeMLIRError as e:
            raise MLIRError(str(e)) from None

    def public_functions(self) -> List[str]:
        """Names of the module's public `func.func`s, in order."""
        return re.findall(r"^\s*func\.func\s+(?:public\s+)?@([\w$.]+)\(",
                          str(self), re.M)

    def check_entry(self, entry: str, caller: str) -> None:
        """A located MLIRError unless `entry` is a public function."""
        names = self.public_functions()
        if entry not in names:
            raise MLIRError(
                f"<module>:1:1: error: {caller}: no public function "
                f"@{entry} in the module (public functions: "
                f"{', '.join('@' + n for n in names) or 'none'}); pass "
                "entry=")

    def run_pipeline(self, pipeline: str) -> "Module":
        """Runs a textual pipeline in place, e.g. `"spa-balance-bands"` or
        `"builtin.module(spa-to-llvm-cpu{tile-q=16})"`; returns self."""
        try:
            self._native.run_pipeline(pipeline)
        except _native.NativeMLIRError as e:
            raise MLIRError(str(e)) from None
        return self


def parse(text: str, filename: str = "<string>") -> Module:
    """Parses and verifies `text`; raises MLIRError with locations."""
    try:
        return Module(_native.Module.parse(_context(), text, filename))
    except _native.NativeMLIRError as e:
        raise MLIRError(str(e)) from None


def module_from(source, caller: str, *, backward: bool = False) -> Module:
    """A Module of the caller's own from a LayerSpec (its IR; with the
    gradient function too when `backward`), a Module (a clone) or MLIR
    text; anything else is a TypeError naming `caller`."""
    from .layer import LayerSpec
    if isinstance(source, LayerSpec):
        return parse(source.to_mlir(backward=backward), f"<{source.name}>")
    if isinstance(source, Module):
        return source.clone()
    if isinstance(source, str):
        return parse(source)
    raise TypeError(f"{caller} takes a LayerSpec, a spa.ir.Module or MLIR "
                    "text")


def parse_file(path: str) -> Module:
    with open(path) as f:
        return parse(f.read(), path)
