"""Host code calling out to attention runners, through MLIR's C interface.

A module compiled by `spa.compile(module, target="cuda:...", entry=...)`
is host code (everything but the attention, compiled for the CPU) that
calls one declared function per outlined attention op. Its calls arrive
here as `_mlir_ciface_<name>(result*, arg descriptor*...)`: each memref
descriptor is `{allocated, aligned, offset, sizes[r], strides[r]}` (8-byte
fields); a single result is written through the first pointer, several as
consecutive descriptors there.

`CallTable` turns such calls into Python calls of the runner in force
(`runner(name, arrays) -> tuple of arrays`), checking what the runner
returns against the function's signature. Results are written into
malloc'd buffers: the host code owns call results and frees them with
`free`. A runner that raises cannot raise through C: its error is kept,
the host receives zero-filled results of the right shape, and the error is
raised when the host returns (`CallTable.run`).

`SharedHost` runs host code saved as a shared library
(`CudaModule.save`) with the same calling convention, without MLIR.

Pure Python (NumPy, ctypes): no MLIR needed.
"""

import ctypes
import threading
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..arguments import check_count, check_dtype, check_shape, label

try:  # bf16 arrays in NumPy come from ml_dtypes
    import ml_dtypes
    _BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a dependency
    _BF16 = None

NUMPY_DTYPES = {"f32": np.dtype(np.float32), "f16": np.dtype(np.float16),
                "bf16": _BF16}

# (kind, shape): an argument or result as the compiler reports it; None in
# a shape is a dynamic dimension.
Signature = Tuple[str, Tuple[Optional[int], ...]]
Runner = Callable[[str, Tuple[np.ndarray, ...]], Sequence[np.ndarray]]

_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.free.restype = None
_libc.free.argtypes = [ctypes.c_void_p]


def numpy_dtype(kind: str) -> np.dtype:
    dtype = NUMPY_DTYPES[kind]
    if dtype is None:
        raise TypeError("bf16 needs the ml_dtypes package")
    return dtype


def _words(address: int, count: int):
    return (ctypes.c_int64 * count).from_address(address)


def read_descriptor(address: int, kind: str, rank: int) -> np.ndarray:
    """A copy of the array a memref descriptor at `address` describes."""
    w = _words(address, 3 + 2 * rank)
    dtype = numpy_dtype(kind)
    shape = tuple(w[3 + i] for i in range(rank))
    strides = tuple(w[3 + rank + i] * dtype.itemsize for i in range(rank))
    if 0 in shape:
        return np.zeros(shape, dtype)
    # Bytes from the first element to one past the last.
    extent = dtype.itemsize * (1 + sum((n - 1) * s // dtype.itemsize
                                       for n, s in zip(shape, strides)))
    start = w[1] + w[2] * dtype.itemsize
    raw = (ctypes.c_char * extent).from_address(start)
    flat = np.frombuffer(raw, dtype=dtype)
    return np.lib.stride_tricks.as_strided(flat, shape, strides).copy()


def write_descriptor(address: int, array: np.ndarray) -> None:
    """Fills the descriptor at `address` with a malloc'd contiguous copy of
    `array` (the host code frees it)."""
    array = np.ascontiguousarray(array)
    rank = array.ndim
    pointer = _libc.malloc(max(array.nbytes, 1))
    if not pointer:
        raise MemoryError(f"malloc({array.nbytes}) failed")
    ctypes.memmove(pointer, array.ctypes.data, array.nbytes)
    w = _words(address, 3 + 2 * rank)
    w[0] = w[1] = pointer
    w[2] = 0
    stride = 1
    for i in reversed(range(rank)):
        w[3 + i] = array.shape[i]
        w[3 + rank + i] = stride
        stride *= array.shape[i]


def check_results(name: str, results: Sequence[Signature], got,
                  shapes: Sequence[Tuple[int, ...]]) -> List:
    """The runner's answer for @name as a list, checked against `results`
    and the shapes its inputs (`shapes`) imply."""
    if isinstance(got, np.ndarray) or not isinstance(got, (tuple, list)):
        got = [got]
    check_count(f"the runner's answer for @{name}", len(results), len(got),
                "results")
    checked = []
    for index, ((kind, _), shape, array) in enumerate(
            zip(results, expected_shapes(results, shapes), got)):
        array = np.asarray(array)
        where = f"@{name} result #{index}"
        check_shape(where, shape, array.shape)
        check_dtype(where, kind, numpy_dtype(kind).name, array.dtype.name)
        checked.append(array)
    return checked


def _descriptor_shape(address: int, rank: int) -> Tuple[int, ...]:
    return tuple(_words(address, 3 + rank)[3:3 + rank])


def expected_shapes(results: Sequence[Signature],
                    shapes: Sequence[Tuple[int, ...]]) -> List[Tuple]:
    """The concrete shapes the host expects of an outlined call's results,
    given its inputs' shapes: a dynamic dimension (B, N) takes the size of
    the input the op shapes that result after (spa.attention: the query;
    spa.attention_grad, 6 inputs: result i is shaped like input i). Host
    code is sized by these, so a runner must match them exactly."""
    concrete = []
    for index, (_, shape) in enumerate(results):
        source = shapes[index if len(shapes) == 6 else 0] if shapes else ()
        concrete.append(tuple(
            d if d is not None else (source[i] if i < len(source) else 0)
            for i, d in enumerate(shape)))
    return concrete


def _zeros(results: Sequence[Signature], shapes) -> List[np.ndarray]:
    """Stand-in results after a failed call (never seen by the caller: the
    error is raised when the host returns)."""
    return [np.zeros(shape, numpy_dtype(kind)) for (kind, _), shape in
            zip(results, expected_shapes(results, shapes))]


class CallTable:
    """The C functions a host module calls for its outlined attention ops,
    one per name, dispatching to the runner in force during `run`.

    `calls` maps each name to its (arguments, results) signatures;
    `addresses` maps `_mlir_ciface_<name>` to the C function's address (the
    JIT or a saved library binds them). Calls of `run` are serialised: the
    runner in force belongs to one call."""

    def __init__(self, calls: Dict[str, Tuple[Sequence[Signature],
                                              Sequence[Signature]]]):
        self.calls = dict(calls)
        self._lock = threading.Lock()
        self._runner: Optional[Runner] = None
        self._error: Optional[BaseException] = None
        self._functions = {}
        for name, (args, results) in self.calls.items():
            pointers = len(args) + (1 if results else 0)
            prototype = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * pointers)
            self._functions[name] = prototype(self._trampoline(name, args,
                                                               results))

    @property
    def addresses(self) -> Dict[str, int]:
        return {f"_mlir_ciface_{name}": ctypes.cast(fn, ctypes.c_void_p).value
                for name, fn in self._functions.items()}

    def function(self, name: str):
        return self._functions[name]

    def _trampoline(self, name, args, results):
        def call(*pointers):
            out = pointers[0] if results else None
            inputs = pointers[1:] if results else pointers
            shapes = [_descriptor_shape(p, len(shape))
                      for p, (_, shape) in zip(inputs, args)]
            try:
                if self._error is not None:
                    arrays = _zeros(results, shapes)  # an earlier call failed
                else:
                    operands = tuple(read_descriptor(p, kind, len(shape))
                                     for p, (kind, shape) in zip(inputs,
                                                                 args))
                    arrays = check_results(name, results,
                                           self._runner(name, operands),
                                           shapes)
            except BaseException as e:  # noqa: B902 - re-raised by run()
                self._error = e
                arrays = _zeros(results, shapes)
            offset = out
            for array in arrays:
                write_descriptor(offset, array)
                offset += 8 * (3 + 2 * array.ndim)
        return call

    def run(self, runner: Runner, host: Callable, *arrays):
        """`host(*arrays)` with `runner` answering the outlined calls; an
        error the runner raised is raised here, after the host returns."""
        with self._lock:
            self._runner, self._error = runner, None
            try:
                outputs = host(*arrays)
            finally:
                error, self._runner, self._error = self._error, None, None
            if error is not None:
                raise error
            return outputs


class SharedHost:
    """Host code saved as a shared library (`CudaModule.save`): calls
    `_mlir_ciface_<entry>` with NumPy arrays, after binding the outlined
    calls through the library's `spa_bind_<i>` setters."""

    def __init__(self, path: str, entry: str,
                 arguments: Sequence[Signature], results: Sequence[Signature],
                 bind: Dict[str, Tuple[int, object]]):
        self.library = ctypes.CDLL(path)
        self.entry = entry
        self.arguments = [(k, tuple(s)) for k, s in arguments]
        self.results = [(k, tuple(s)) for k, s in results]
        self._bound = []
        for name, (index, function) in bind.items():
            setter = getattr(self.library, f"spa_bind_{index}")
            setter.argtypes = [ctypes.c_void_p]
            setter(ctypes.cast(function, ctypes.c_void_p))
            self._bound.append(function)
        self._entry = getattr(self.library, f"_mlir_ciface_{entry}")
        self._entry.restype = None

    def __call__(self, *arrays):
        check_count(f"@{self.entry}", len(self.arguments), len(arrays))
        keep, pointers = [], []
        words = sum(3 + 2 * len(s) for _, s in self.results)
        out = (ctypes.c_int64 * max(words, 1))()
        if self.results:
            pointers.append(ctypes.addressof(out))
        for index, (array, (kind, shape)) in enumerate(
                zip(arrays, self.arguments)):
            where = label(index, None)
            array = np.asarray(array)
            check_shape(where, shape, array.shape)
            check_dtype(where, kind, numpy_dtype(kind).name,
                        array.dtype.name)
            array = np.ascontiguousarray(array)
            descriptor = (ctypes.c_int64 * (3 + 2 * array.ndim))()
            descriptor[0] = descriptor[1] = array.ctypes.data
            stride = 1
            for d in reversed(range(array.ndim)):
                descriptor[3 + d] = array.shape[d]
                descriptor[3 + array.ndim + d] = stride
                stride *= array.shape[d]
            keep += [array, descriptor]
            pointers.append(ctypes.addressof(descriptor))
        self._entry.argtypes = [ctypes.c_void_p] * len(pointers)
        self._entry(*pointers)
        outputs, offset = [], ctypes.addressof(out)
        for kind, shape in self.results:
            outputs.append(read_descriptor(offset, kind, len(shape)))
            _libc.free(_words(offset, 1)[0])
            offset += 8 * (3 + 2 * len(shape))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)
