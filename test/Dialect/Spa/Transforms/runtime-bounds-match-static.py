# For every policy with a run-time form and many (N, H), the bounds that
# -spa-expand-band-bounds computes from a constant key length (folded by
# -canonicalize) must equal the table -spa-balance-bands writes statically.
# RUN: %python %s %spa_tools_dir/spa-opt
import re
import subprocess
import sys

from spa.layer import bands_attr, layer_mlir

SPA_OPT = sys.argv[1]
# (policy, window) pairs with a run-time form.
POLICIES = [
    ("exclusive_equal", None), ("local_plus_band", None), ("gapped_half", None),
    ("sliding_window", None), ("sliding_window", 0), ("sliding_window", 5),
    ("dense_causal", None),
]
SLOTS = {"local_plus_band": 2}
# n < h included: the distance-partitioning policies leave heads without
# keys there, statically and at run time alike.
CASES = [(n, h) for n in list(range(1, 41)) + [63, 64, 65, 1000, 1024, 4099]
         for h in (1, 2, 3, 5, 8, 16)]


def run(args, text):
    proc = subprocess.run([SPA_OPT] + args, input=text, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        sys.exit(f"spa-opt {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


static_funcs, runtime_funcs, keys = [], [], []
for kind, window in POLICIES:
    policy = bands_attr("causal", kind, window=window)
    for n, h in CASES:
        i = len(keys)
        keys.append((policy, n, h))
        static_funcs.append(layer_mlir(
            batch=1, heads=h, kv_heads=h, query_len=n, key_len=n, head_dim=4,
            value_dim=4, dtype="f32", mode="causal", bands=kind, window=window,
            with_lse=False, name=f"f{i}"))
        bt = f"tensor<{h}x{SLOTS.get(kind, 1)}x2xindex>"
        runtime_funcs.append(
            f"func.func @f{i}() -> {bt} {{\n  %n = arith.constant {n} : index\n"
            f"  %b = spa.band_bounds {policy} "
            f"key_len(%n) : {bt}\n  return %b : {bt}\n}}")

static_out = run(["-spa-balance-bands"], "\n".join(static_funcs))
runtime_out = run(["-spa-expand-band-bounds", "-canonicalize"],
                  "\n".join(runtime_funcs))

static_tables = re.findall(r"#spa\.bands<causal, (.*?)>\)", static_out)
assert len(static_tables) == len(keys), (len(static_tables), len(keys))


def parse_static(text):
    heads = re.findall(r"\[([^\]]*)\]", text)
    return [[tuple(map(int, iv.split(":"))) for iv in head.split(", ") if iv]
            for head in heads]


def parse_runtime(func_text, h):
    m = re.search(r"dense<(.*?)> : tensor", func_text)
    if m is None:  # splat or single value forms
        m = re.search(r"dense<(-?\d+)>", func_text)
    nums = list(map(int, re.findall(r"-?\d+", m.group(1))))
    if len(nums) == 1:
        nums = nums * (h * 2)
    slots = len(nums) // (2 * h)
    heads = []
    for head in range(h):
        ivs = []
        for s in range(slots):
            lo, hi = nums[2 * (head * slots + s): 2 * (head * slots + s) + 2]
            if lo < hi:
                ivs.append((lo, hi))
        heads.append(ivs)
    return heads


runtime_chunks = re.split(r"func\.func @f", runtime_out)[1:]
assert len(runtime_chunks) == len(keys)
failures = 0
for (policy, n, h), table, chunk in zip(keys, static_tables, runtime_chunks):
    expected = parse_static(table)
    actual = parse_runtime(chunk, h)
    if expected != actual:
        failures += 1
        if failures < 10:
            print(f"MISMATCH {policy} N={n} H={h}: static {expected} "
                  f"runtime {actual}")
print(f"compared {len(keys)} (policy, N, H) cases, {failures} mismatches")
sys.exit(1 if failures else 0)
