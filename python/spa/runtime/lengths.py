"""Specialising a dynamic-length launch contract to one call's lengths.

A forward kernel compiled with a dynamic sequence length (`seq_len=None`)
serves every query and key length. Its launch.json entry says what depends
on the lengths instead of holding it:

- buffer arguments: -1 in `shape` at the sequence dimension, `length`
  naming the length argument that gives it, `strides` null (contiguous);
- `length` arguments (`query_len`, `key_len`): kernel parameters passed
  by value, the size of dimension `dim` of buffer `of`;
- the `bounds` constant: `policy` (name, mode, window) instead of `values`,
  evaluated here in the closed form `spa.band_bounds` computes inside a
  compiled module (`runtime_bands`, pure Python: the GPU machine has no
  compiler);
- `grid`: [-1, 1, 1] and `grid_items` (batch, heads, rows of a query tile,
  and for a persistent kernel `max_blocks`): one block per (batch, head,
  query tile), at most `max_blocks`; the kernel orders the items in closed
  form, so no work list travels;
- tensor maps: -1 in `dims` and `strides_bytes` where they follow a length.

`specialize(metadata, lengths)` returns the static contract of one
(query_len, key_len): what the static path (spa.runtime.cuda,
spa.runtime.launcher) launches. Pure Python,
so it is tested without a GPU and runs where the compiler does not.
"""

import copy
from typing import Dict, List, Sequence, Tuple

from ..layer import contiguous_strides

BUFFER_KINDS = ("input", "output", "scratch")
LENGTH_KIND = "length"
DYNAMIC = -1
I32_MAX = 2**31 - 1


def is_dynamic(metadata: Dict) -> bool:
    """True when some kernel of the artifact takes its lengths at run time."""
    return any(arg.get("kind") == LENGTH_KIND
               for kernel in metadata.get("kernels", [])
               for arg in kernel.get("args", []))


def length_args(kernel: Dict) -> List[Dict]:
    return [a for a in kernel["args"] if a.get("kind") == LENGTH_KIND]


def call_lengths(kernel: Dict, inputs: Sequence[Dict],
                 tensors: Sequence) -> Dict[str, int]:
    """The value of each length argument of `kernel` for one call:
    `inputs` are the op's input specs in call order, `tensors` the call's
    inputs (anything with `.shape`)."""
    index = {spec["name"]: i for i, spec in enumerate(inputs)}
    lengths = {}
    for arg in length_args(kernel):
        of = arg.get("of")
        if of not in index:
            raise ValueError(f"{kernel['name']}: length '{arg['name']}' is "
                             f"of {of!r}, which is not an input of the op")
        shape = tuple(tensors[index[of]].shape)
        dim = int(arg["dim"])
        if dim >= len(shape):
            raise ValueError(f"{kernel['name']}: length '{arg['name']}' is "
                             f"dimension {dim} of {of}, which has shape "
                             f"{shape}")
        lengths[arg["name"]] = int(shape[dim])
    return lengths


def runtime_bands(policy: str, key_len: int, heads: int,
                  window: int = -1) -> List[List[Tuple[int, int]]]:
    """The closed form `spa.band_bounds` computes (ExpandBandBounds.cpp),
    slot for slot: per head its [lo, hi) distance intervals, empty slots as
    (0, 0). Pure Python: the GPU machine runs it without the compiler.
    Head h owns the distances [start_h, start_h + width_h), the first
    key_len % heads heads one wider; its local window is [0, width_h + 1)."""
    if policy not in RUNTIME_POLICIES:
        raise ValueError(f"policy {policy!r} has no run-time form (one of "
                         f"{sorted(RUNTIME_POLICIES)}); compile with a "
                         "static sequence length")
    n = key_len
    base, remainder = divmod(n, heads)
    table = []
    for h in range(heads):
        width = base + (1 if h < remainder else 0)
        start = h * base + min(h, remainder)
        end = start + width
        local = min(width + 1, n)
        if policy == "exclusive_equal":
            table.append([(start, end)])
        elif policy == "gapped_half":
            table.append([(start, start + width // 2)])
        elif policy == "dense_causal":
            table.append([(0, n)])
        elif policy == "sliding_window":
            table.append([(0, min(window + 1, n) if window >= 0 else local)])
        else:  # local_plus_band: window and band merge when they touch
            merge = start <= local and start < end
            table.append([(0, max(local, end) if merge else local),
                          (0, 0) if merge else (start, end)])
    return table


RUNTIME_POLICIES = ("exclusive_equal", "gapped_half", "dense_causal",
                    "sliding_window", "local_plus_band")


def _bounds_values(kernel: Dict, arg: Dict, lengths: Dict[str, int]
                   ) -> List[int]:
    """The [Hq][slots][2] i32 table of the kernel's policy at these
    lengths (clipped to the i32 range, as the compiler clips it)."""
    policy = arg["policy"]
    heads, slots, _ = arg["shape"]
    table = runtime_bands(policy["name"], lengths["key_len"], heads,
                          int(policy.get("window", -1)))
    values = []
    for head, intervals in enumerate(table):
        if len(intervals) > slots:
            raise ValueError(
                f"{kernel['name']}: policy {policy['name']} gives head "
                f"{head} {len(intervals)} intervals; the kernel was "
                f"compiled for {slots}")
        for slot in range(slots):
            lo, hi = intervals[slot] if slot < len(intervals) else (0, 0)
            values += [min(lo, I32_MAX), min(hi, I32_MAX)]
    return values


def specialize_kernel(kernel: Dict, lengths: Dict[str, int]) -> Dict:
    """One launch.json kernel entry with its lengths filled in."""
    name = kernel["name"]
    for key in ("query_len", "key_len"):
        value = lengths.get(key)
        if value is not None and not 0 <= value <= I32_MAX:
            raise ValueError(f"{name}: {key} = {value} is outside [0, "
                             f"{I32_MAX}] (the kernel's tables are i32)")
    out = copy.deepcopy(kernel)
    items = out.pop("grid_items", None)
    if items is not None:
        rows = lengths[items["rows"]]
        tile = int(items["tile_rows"])
        count = int(items["batch"]) * int(items["heads"]) * (
            (rows + tile - 1) // tile)
        if count < 1:
            raise ValueError(f"{name}: no work items at {items['rows']} = "
                             f"{rows} (an empty query sequence)")
        # A persistent kernel's blocks loop over the items.
        if "max_blocks" in items:
            count = min(count, int(items["max_blocks"]))
        out["grid"] = [count] + list(out["grid"][1:])
    shapes = {}
    for arg in out["args"]:
        kind = arg.get("kind")
        if kind in BUFFER_KINDS or kind == "constant":
            if "length" in arg:
                arg["shape"] = [lengths[arg["length"]] if s == DYNAMIC else s
                                for s in arg["shape"]]
                arg["strides"] = list(contiguous_strides(arg["shape"]))
                del arg["length"]
            shapes[arg["name"]] = arg["shape"]
    for arg in out["args"]:
        kind = arg.get("kind")
        if kind == LENGTH_KIND:
            arg["kind"] = "scalar"
            arg["value"] = lengths[arg["name"]]
        elif kind == "constant" and "policy" in arg:
            arg["values"] = _bounds_values(out, arg, lengths)
            del arg["policy"]
        elif kind == "tensor_map" and (DYNAMIC in arg["dims"]
                                       or DYNAMIC in arg["strides_bytes"]):
            shape = shapes[arg["of"]]
            if 0 in shape:
                # A TMA map has no empty dimension (cuTensorMapEncodeTiled).
                raise ValueError(
                    f"{name}: {arg['of']} has shape {shape}: this kernel "
                    "loads its tiles by TMA, whose maps have no empty "
                    "dimension; pass non-empty sequences")
            element_bytes = {"bf16": 2, "f16": 2, "f32": 4}[arg["dtype"]]
            arg["dims"] = list(reversed(shape))
            arg["strides_bytes"] = [
                s * element_bytes
                for s in reversed(contiguous_strides(shape))][1:]
    return out


def specialize(metadata: Dict, lengths: Dict[str, int]) -> Dict:
    """The whole artifact's launch.json at one call's lengths."""
    out = dict(metadata)
    out["kernels"] = [specialize_kernel(k, lengths)
                      for k in metadata["kernels"]]
    return out
