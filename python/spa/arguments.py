"""Checks of call arguments against a compiled function's signature.

The one place that words these errors, for the CPU JIT (NumPy arrays,
`spa.compiler.CpuFunction`) and the CUDA runtime (PyTorch tensors,
`spa.runtime.cuda.CudaLayer`). A wrong dtype is a TypeError, never a silent
cast: float64 into f32 drops precision without a word, int32 or complex
values change meaning, f32 into bf16 rounds. Every message names the
argument by index and name, with what was expected and what was given.

Pure Python without a torch import: tensors are read only through `.dtype`,
`.shape`, `.device`, `.stride()` and `.is_contiguous()`, so the CUDA
checks run (and are tested) on machines without a GPU.
"""

from typing import Optional, Sequence


def label(index: int, name: Optional[str]) -> str:
    """`argument #1 (key)`: how every message names an argument."""
    return f"argument #{index} ({name})" if name else f"argument #{index}"


def check_count(what: str, expected: int, given: int,
                noun: str = "arguments") -> None:
    if given != expected:
        raise TypeError(f"{what} takes {expected} {noun}, got {given}")


def check_shape(where: str, expected: Sequence[Optional[int]],
                given: Sequence[int]) -> None:
    """`expected` may hold None for a dynamic dimension."""
    given = tuple(given)
    if len(given) != len(expected) or any(
            e is not None and e != g for e, g in zip(expected, given)):
        raise ValueError(f"{where}: expected shape {tuple(expected)}, "
                         f"got {given}")


def check_dtype(where: str, kind: str, expected: str, given: str) -> None:
    """`kind` is the IR element type (f32, f16, bf16, i32); `expected` and
    `given` are the array library's dtype names."""
    if given != expected:
        raise TypeError(f"{where}: expected dtype {expected} ({kind}), got "
                        f"{given}; convert it explicitly (spa never casts "
                        "arguments)")


# IR element type -> torch dtype attribute (torch.bfloat16, ...).
TORCH_DTYPES = {"bf16": "bfloat16", "f16": "float16", "f32": "float32",
                "i32": "int32"}


def torch_dtype_name(kind: str) -> str:
    """The torch dtype of an IR element type as `str(dtype)` prints it."""
    return "torch." + TORCH_DTYPES[kind]


def check_tensor(index: int, spec: dict, tensor, device: str) -> None:
    """One CUDA kernel argument: `spec` is its launch.json entry (name,
    dtype, shape); `device` the layer's device as str ("cuda:0")."""
    where = label(index, spec.get("name"))
    for attribute in ("dtype", "shape", "device", "is_contiguous"):
        if not hasattr(tensor, attribute):
            raise TypeError(f"{where}: expected a torch.Tensor, got "
                            f"{type(tensor).__name__}")
    check_dtype(where, spec["dtype"], torch_dtype_name(spec["dtype"]),
                str(tensor.dtype))
    check_shape(where, spec["shape"], tensor.shape)
    if str(tensor.device) != device:
        raise ValueError(f"{where}: expected a tensor on {device}, got one on "
                         f"{tensor.device}; move it with .to('{device}')")
    check_layout(where, spec, tensor)


def same_strides(shape: Sequence[int], expected: Sequence[int],
                 given: Sequence[int]) -> bool:
    """Strides agree on every dimension longer than 1 (the others never
    move an address, and PyTorch reports them freely)."""
    return len(expected) == len(given) and all(
        size <= 1 or e == g for size, e, g in zip(shape, expected, given))


def check_layout(where: str, spec: dict, tensor) -> None:
    """The tensor's strides are the ones the kernel was compiled for
    (launch.json's `strides`; contiguous where an older artifact has none).
    The data pointer's alignment is checked per call by the layer."""
    expected = spec.get("strides")
    if expected is None or list(expected) == _row_major(spec["shape"]):
        if not tensor.is_contiguous():
            # The kernel indexes dense row-major buffers: any other stride
            # would read the wrong elements.
            raise ValueError(f"{where}: expected a contiguous tensor, got "
                             f"strides {tuple(tensor.stride())}; call "
                             ".contiguous()")
    elif not same_strides(tuple(tensor.shape), expected, tensor.stride()):
        # The kernel folds the strides into its addresses at compile time:
        # any other layout would read or write the wrong elements.
        raise ValueError(f"{where}: expected strides {tuple(expected)}, the "
                         "layout the kernel was compiled for, got "
                         f"{tuple(tensor.stride())}; copy it into that layout "
                         "(torch.empty_strided(shape, strides).copy_(t)) or "
                         "compile the layer for its strides")


def _row_major(shape: Sequence[int]) -> list:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(int(size), 1)
    return strides[::-1]


def check_tensors(what: str, noun: str, tensors: Sequence,
                  specs: Sequence[dict], device: str,
                  first_index: int = 0) -> None:
    """Every tensor of one call against its spec, in order; indices start at
    `first_index` (outputs follow the inputs in the kernel's arguments)."""
    check_count(what, len(specs), len(tensors), noun)
    for offset, (tensor, spec) in enumerate(zip(tensors, specs)):
        check_tensor(first_index + offset, spec, tensor, device)
