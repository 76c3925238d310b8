"""Structure-aware inputs for fuzz_spa.py: fuzzer bytes -> (MLIR text, pass
pipelines).

The bytes are read as a sequence of choices (atheris.FuzzedDataProvider),
so that libFuzzer's byte mutations become structural ones: another size,
another policy, another pass option, one more text mutation. A case is

- a layer written by spa.layer.layer_mlir (shapes, dtypes, bands given by a
  policy with its parameters or by an explicit table, scale, log-sum-exp),
- or a chunk of the dialect's own tests (test/Dialect/Spa, test/Conversion:
  valid and invalid ops, memref forms, band_bounds),
- then 0-4 token-level text mutations (a number, a policy, a mode, an
  element type, a dimension made dynamic, a token deleted or repeated),
- and pipelines over spa's passes with fuzzed options: balance, bound
  expansion, the CPU lowering (convert-spa-to-linalg, at times all of
  spa-to-llvm-cpu), the GPU kernel front half (bufferize +
  convert-spa-to-gpu) and, rarely (it costs ~0.2 s), spa-to-nvvm to PTX.

Sizes come from lists of edge values (0, 1, powers of two and their
neighbours, 2**31, 2**63 - 1) more often than uniformly, as bugs live there.
"""

import glob
import os
import re
from dataclasses import dataclass, field
from typing import List

from spa.bands import POLICIES
from spa.layer import DTYPES, layer_mlir

SRC_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

SMALL = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65,
         80, 96, 100, 127, 128, 129, 200, 255, 256, 257, 300, 511, 512]
LARGE = [1000, 1023, 1024, 1025, 2048, 4095, 4096, 4099, 8192, 16384, 65536]
HUGE = [2**31 - 1, 2**31, 2**32 + 1, 2**40, 2**62, 2**63 - 1]
HEADS = [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 32, 64, 128]
HEAD_DIMS = [1, 2, 4, 8, 16, 24, 32, 40, 48, 64, 80, 96, 128, 192, 256, 512]
SCALES = [0.125, 1.0, 1e-05, 0.0883883476, 1e-300, 1e+300, 5e-324, 3.5]
MODES = ["causal", "bidirectional"]
ELEMENT_TYPES = ["f32", "f16", "bf16", "f64", "i32", "f8E4M3FN", "index",
                 "i1"]
POLICY_WORDS = list(POLICIES) + ["explicit", "striped", ""]
CHIPS = ["sm_90a", "sm_80", "sm_86", "sm_89", "sm_90", "sm_70", "sm_100a"]
MMAS = ["auto", "mma.sync", "wgmma"]
BUFFERIZE = ("one-shot-bufferize{bufferize-function-boundaries "
             "function-boundary-type-conversion=identity-layout-map}")


@dataclass
class Case:
    text: str
    pipelines: List[str] = field(default_factory=list)
    origin: str = ""

    def __str__(self) -> str:
        passes = "\n".join(f"  {p}" for p in self.pipelines)
        return (f"// origin: {self.origin}\n// pipelines, in order:\n"
                f"{passes}\n{self.text}")


def _seed_chunks() -> List[str]:
    """The dialect tests split at `// -----`, RUN/CHECK lines dropped."""
    chunks = []
    patterns = ["test/Dialect/Spa/**/*.mlir", "test/Conversion/**/*.mlir"]
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(SRC_ROOT, pattern),
                                     recursive=True)):
            with open(path) as f:
                text = f.read()
            for chunk in text.split("// -----"):
                lines = [l for l in chunk.splitlines()
                         if not re.match(r"\s*//\s*(RUN|CHECK|[A-Z0-9-]+:)",
                                         l)]
                chunk = "\n".join(lines).strip()
                if "spa." in chunk:
                    chunks.append(chunk + "\n")
    return chunks


SEEDS = _seed_chunks()


def size(fdp, allow_huge: bool = True) -> int:
    kind = fdp.ConsumeIntInRange(0, 15)
    if kind < 9:
        return fdp.PickValueInList(SMALL)
    if kind < 12:
        return fdp.PickValueInList(LARGE)
    if kind < 14 or not allow_huge:
        return fdp.ConsumeIntInRange(0, 5000)
    return fdp.PickValueInList(HUGE)


def option_int(fdp) -> int:
    """A pass option value: mostly sensible, at times 0, negative or huge."""
    kind = fdp.ConsumeIntInRange(0, 7)
    if kind < 5:
        return fdp.PickValueInList([1, 4, 8, 16, 32, 64, 128, 256])
    if kind == 5:
        return fdp.PickValueInList([0, -1, -64, 3, 7, 1000])
    if kind == 6:
        return fdp.ConsumeIntInRange(-5, 600)
    return fdp.PickValueInList(HUGE)


def _explicit_table(fdp, heads: int):
    """Mostly a valid table (sorted, disjoint, non-empty intervals per
    head), at times anything: the verifier's rules are under test too."""
    count = heads if fdp.ConsumeIntInRange(0, 5) else size(fdp, False) % 9
    valid = fdp.ConsumeIntInRange(0, 3) != 0
    table = []
    for _ in range(min(count, 64)):
        head, lo = [], 0
        for _ in range(fdp.ConsumeIntInRange(0 if not valid else 1, 3)):
            if valid:
                lo += size(fdp, False)
                hi = lo + 1 + size(fdp, False)
            else:
                lo = size(fdp)
                hi = lo + size(fdp) if fdp.ConsumeBool() else size(fdp)
            head.append((lo, hi))
            lo = hi
        table.append(head)
    return table


def generated_layer(fdp) -> str:
    heads = fdp.PickValueInList(HEADS)
    if fdp.ConsumeIntInRange(0, 9):
        kv_heads = fdp.PickValueInList([d for d in HEADS if heads % d == 0])
    else:
        kv_heads = fdp.PickValueInList(HEADS)
    head_dim = fdp.PickValueInList(HEAD_DIMS)
    value_dim = head_dim if fdp.ConsumeIntInRange(0, 3) else \
        fdp.PickValueInList(HEAD_DIMS)
    key_len = None if fdp.ConsumeIntInRange(0, 6) == 0 else size(fdp)
    if fdp.ConsumeIntInRange(0, 3):
        query_len = key_len
    else:
        query_len = None if fdp.ConsumeBool() else size(fdp)
    batch = fdp.PickValueInList([1, 1, 2, 3, 0, None])
    dtype = fdp.PickValueInList(list(DTYPES))
    mode = fdp.PickValueInList(MODES)
    window = tile = None
    if fdp.ConsumeIntInRange(0, 4):
        bands = fdp.PickValueInList(POLICY_WORDS[:len(POLICIES)])
        # A parameter of another policy is a verifier error: rarely.
        if bands == "sliding_window" or fdp.ConsumeIntInRange(0, 15) == 0:
            window = fdp.PickValueInList([None, 0, 1, 4, 64, -5]) \
                if fdp.ConsumeBool() else size(fdp)
        if bands == "tile_balanced" and fdp.ConsumeBool() or \
                fdp.ConsumeIntInRange(0, 15) == 0:
            tile = (option_int(fdp), option_int(fdp))
    else:
        bands = _explicit_table(fdp, heads)
    scale = None
    if fdp.ConsumeIntInRange(0, 3) == 0:
        scale = fdp.PickValueInList(SCALES)
    return layer_mlir(batch=batch, heads=heads, kv_heads=kv_heads,
                      query_len=query_len, key_len=key_len,
                      head_dim=head_dim, value_dim=value_dim, dtype=dtype,
                      mode=mode, bands=bands, window=window, tile=tile,
                      scale=scale, with_lse=fdp.ConsumeBool())


_TOKEN = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?|-?\d+|[A-Za-z_][\w.$]*|"
                    r"\S")


def mutate(fdp, text: str) -> str:
    """One token-level mutation that keeps most of the structure."""
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    if not tokens:
        return text
    start, end, token = tokens[fdp.ConsumeIntInRange(0, len(tokens) - 1)]
    kind = fdp.ConsumeIntInRange(0, 9)
    if re.fullmatch(r"-?\d+", token) and kind < 6:
        new = str(size(fdp)) if kind < 4 else fdp.PickValueInList(
            ["-1", "0", "?", str(int(token) + 1), str(int(token) - 1)])
    elif re.fullmatch(r"-?\d+\.\d+.*", token) and kind < 6:
        new = fdp.PickValueInList(["0.0", "-1.0", "1.0e-300", "1.0e+300",
                                   "0x7FF8000000000000", "1", "4.9e-324"])
    elif token in POLICY_WORDS and kind < 6:
        new = fdp.PickValueInList(POLICY_WORDS)
    elif token in MODES and kind < 6:
        new = fdp.PickValueInList(MODES + ["causal_only"])
    elif re.search(r"x(f32|f16|bf16)$", token) and kind < 6:
        new = token.rsplit("x", 1)[0] + "x" + fdp.PickValueInList(
            ELEMENT_TYPES)
    elif token == "?" and kind < 6:
        new = str(size(fdp))
    elif kind < 8:
        new = ""  # delete the token
    else:
        new = token + fdp.PickValueInList([token, ", ", " ", "x", ":"])
    return text[:start] + new + text[end:]


def pipelines(fdp) -> List[str]:
    def opts(*items, flags=()):
        chosen = [f"{name}={value}" for name, value in items
                  if fdp.ConsumeIntInRange(0, 2) == 0]
        chosen += [flag for flag in flags if fdp.ConsumeIntInRange(0, 9) == 0]
        return "{" + " ".join(chosen) + "}" if chosen else ""

    def balance():
        return "spa-balance-bands" + opts(
            ("policy", fdp.PickValueInList(list(POLICIES))),
            ("tile-q", option_int(fdp)), ("tile-k", option_int(fdp)),
            ("num-sms", option_int(fdp)), flags=("report",))

    def linalg():
        return "convert-spa-to-linalg" + opts(
            ("tile-q", option_int(fdp)), ("tile-k", option_int(fdp)))

    def gpu_options():
        # Every option of convert-spa-to-gpu (option_fields.py keeps the
        # list in Passes.td), mostly valid values and some out of range:
        # their combinations must each compile or fail with a diagnostic.
        return [("warps", fdp.PickValueInList([1, 2, 4, 8, 0, 3, 16])),
                ("tile-k", fdp.PickValueInList([16, 32, 64, 128, 0, 8, 48,
                                                256])),
                ("mma", fdp.PickValueInList(MMAS)),
                ("stages", fdp.ConsumeIntInRange(-1, 5)),
                ("chip", fdp.PickValueInList(CHIPS)),
                ("deterministic", fdp.PickValueInList(["true", "false"])),
                ("tma", fdp.PickValueInList(["true", "false"])),
                ("backward-schedule",
                 fdp.PickValueInList(["auto", "ws", "classic"])),
                ("score-grads",
                 fdp.PickValueInList(["auto", "recompute", "store"])),
                ("score-grad-layout",
                 fdp.PickValueInList(["auto", "padded", "compact"])),
                ("stored-dq-rows",
                 fdp.PickValueInList([0, 64, 128, 96, -1])),
                ("score-grad-prefetch",
                 fdp.PickValueInList([0, 1, 4, 16, 17, -1])),
                ("successor-prefetch",
                 fdp.PickValueInList([0, 1, 32, 65536, 65537, -1])),
                ("shared-stream-lse",
                 fdp.PickValueInList(["auto", "false", "true"])),
                ("shared-stream-delta",
                 fdp.PickValueInList(["auto", "false", "true"])),
                ("zero-tail-items",
                 fdp.PickValueInList([0, 1, 8, 64, 65, -1])),
                ("zero-tail-with-items",
                 fdp.PickValueInList(["auto", "false", "true"])),
                ("zero-tail-spread",
                 fdp.PickValueInList(["auto", "false", "true"])),
                ("wave-stagger-ns",
                 fdp.PickValueInList([0, -1, 1, 700, 10000, 10001, -2])),
                ("forward-schedule",
                 fdp.PickValueInList(["auto", "overlap", "serial", "ws",
                                      "ws-overlap", "ws-pingpong"])),
                ("split-keys", fdp.PickValueInList([1, 2, 4, 0, 65, -3])),
                ("blocks-per-sm", fdp.ConsumeIntInRange(-1, 5))]

    def gpu():
        return f"{BUFFERIZE},convert-spa-to-gpu" + opts(*gpu_options())

    def module(*passes):
        return "builtin.module(" + ",".join(passes) + ")"

    choice = fdp.ConsumeIntInRange(0, 19)
    if choice < 7:  # the CPU lowering, pass by pass
        return [module(balance()), module("spa-expand-band-bounds"),
                module(linalg())]
    if choice < 13:  # the GPU kernel generator's front half
        return [module(balance()), module(gpu())]
    if choice < 15:  # passes out of order or alone: must fail cleanly
        passes = [balance(), "spa-expand-band-bounds", linalg(), gpu()]
        order = [passes[fdp.ConsumeIntInRange(0, 3)]
                 for _ in range(fdp.ConsumeIntInRange(1, 3))]
        return [module(*order)]
    if choice < 17:
        return [module("spa-to-llvm-cpu" + opts(
            ("tile-q", option_int(fdp)), ("tile-k", option_int(fdp)),
            ("policy", fdp.PickValueInList(list(POLICIES)))))]
    if choice < 19:
        return [module(balance())]
    items = [("format", "isa")] + gpu_options()
    text = "{" + " ".join(f"{n}={v}" for n, v in items) + "}"
    return [module("spa-to-nvvm" + text)]


def case(fdp) -> Case:
    source = fdp.ConsumeIntInRange(0, 2)
    if source == 1 and SEEDS:
        index = fdp.ConsumeIntInRange(0, len(SEEDS) - 1)
        text, origin = SEEDS[index], f"test chunk {index}"
    else:
        text, origin = generated_layer(fdp), "generated layer"
    mutations = fdp.ConsumeIntInRange(0, 4) if source else 0
    for _ in range(mutations):
        text = mutate(fdp, text)
    return Case(text, pipelines(fdp), f"{origin}, {mutations} mutations")
