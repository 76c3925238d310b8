"""Models through torch-mlir and IREE (docs/integrations.md).

A small transformer block (q/k/v projections, spa.torch.attention, output
projection) goes through both flows:
  torch-mlir:  spa.torch_mlir.import_module -> spa.compile(target="cpu")
  IREE:        the same module -> spa.iree.compile(target="llvm-cpu")
and must match eager PyTorch to 1e-4 (f32) and an independent float64
NumPy computation of the block (spa_reference.attention for the
attention). Layers straight through IREE are checked against the float64
reference over odd sizes (N = 1, Nq != Nk, GQA, empty heads, rows without
keys, Dv != D, bidirectional; f16 and bf16). Errors: a custom op spa cannot lower, a
missing entry function, both located.
"""

import importlib.util
import re
import zlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
# Only looked up: torch-mlir's own LLVM must not load into this process
# (spa.torch_mlir runs it in a child process; see its docstring).
if importlib.util.find_spec("torch_mlir") is None:
    pytest.skip("torch-mlir is not installed", allow_module_level=True)
pytest.importorskip("iree.compiler")
pytest.importorskip("iree.runtime")

import spa  # noqa: E402
import spa.iree  # noqa: E402
import spa.torch  # noqa: E402
import spa.torch_mlir  # noqa: E402
import spa_reference  # noqa: E402
from torch_block import Block  # noqa: E402

TOL = 1e-4


def rel(got, ref) -> float:
    return spa_reference.max_rel_error(np.asarray(got, np.float64), ref)


BLOCKS = [
    # id, batch, N, d, Hq, Hkv, D, Dv, attention arguments
    ("gqa_odd_n_lpb", 1, 37, 32, 4, 2, 8, 8, dict(policy="local_plus_band")),
    ("table_empty_head_dv", 2, 19, 24, 4, 4, 8, 12,
     dict(bands=[[(0, 3)], [(3, 9)], [], [(9, 19)]], scale=0.3)),
    ("bidirectional", 1, 70, 16, 2, 1, 16, 16,
     dict(policy="exclusive_equal", mode="bidirectional")),
]


@pytest.fixture(scope="module", params=BLOCKS, ids=[b[0] for b in BLOCKS])
def block(request):
    name, batch, n, d, hq, hk, dh, dv, attention = request.param
    torch.manual_seed(zlib.crc32(name.encode()))
    model = Block(d, hq, hk, dh, dv, **attention).eval()
    x = torch.randn(batch, n, d)
    module = spa.torch_mlir.import_module(model, x)
    with torch.no_grad():
        eager = model(x).numpy()
    return model, x, module, eager


def test_import_has_spa_attention_in_main(block):
    _, _, module, _ = block
    text = str(module)
    assert "func.func @main(" in text
    assert text.count("spa.attention") >= 1
    assert not re.search(r"\bcall @", text)
    # No torch ops left (weights keep torch's names in dense_resource).
    assert not re.search(r"(^|\s)(torch|torch_c|tm_tensor)\.\w", text)


def fresh_input(x, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(x.shape, generator=gen)


def test_torch_mlir_flow_matches_eager_and_float64(block):
    model, x, module, eager = block
    fn = spa.compile(module, target="cpu", entry="main")
    assert rel(fn(x.numpy()), eager) < TOL
    # A fresh input: the compiled module is not specialised to x.
    y = fresh_input(x, 1)
    assert rel(fn(y.numpy()), model.reference(y)) < TOL


def test_iree_flow_matches_eager_and_float64(block):
    model, x, module, eager = block
    fn = spa.iree.compile(module, target="llvm-cpu", entry="main")
    assert rel(fn(x.numpy()), eager) < TOL
    y = fresh_input(x, 2)
    with torch.no_grad():
        assert rel(fn(y.numpy()), model(y).numpy()) < TOL
    assert rel(fn(y.numpy()), model.reference(y)) < TOL


LAYERS = [
    # id, B, Hq, Hkv, Nq, Nk, D, Dv, mode, policy, bands
    ("n1", 1, 2, 2, 1, 1, 8, 8, "causal", None, [[(0, 1)], []]),
    ("gqa_empty_head_dv", 2, 4, 2, 37, 37, 16, 8, "causal", None,
     [[(0, 5)], [], [(3, 9), (20, 40)], [(0, 1), (2, 3)]]),
    ("rows_without_keys", 1, 2, 1, 30, 12, 8, 16, "causal",
     "exclusive_equal", None),
    ("nq_lt_nk_bidir", 1, 2, 2, 20, 45, 8, 8, "bidirectional", None,
     [[(0, 4)], [(4, 30)]]),
    ("odd_lpb_multi_tile", 1, 4, 1, 130, 130, 16, 16, "causal",
     "local_plus_band", None),
]


@pytest.mark.parametrize("case", LAYERS, ids=[c[0] for c in LAYERS])
def test_iree_layer_matches_float64(case):
    name, b, hq, hk, nq, nk, d, dv, mode, policy, bands = case
    spec = spa.LayerSpec(heads=hq, kv_heads=hk, seq_len=nk, query_len=nq,
                         head_dim=d, value_dim=dv, batch=b, mode=mode,
                         policy=policy or "local_plus_band", bands=bands)
    fn = spa.iree.compile(spec, tile_q=16, tile_k=16)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    q = rng.standard_normal((b, hq, nq, d), dtype=np.float32)
    k = rng.standard_normal((b, hk, nk, d), dtype=np.float32)
    v = rng.standard_normal((b, hk, nk, dv), dtype=np.float32)
    table = bands or spa_reference.band_table(policy, nk, hq, mode)
    ref_out, ref_lse = spa_reference.attention(q, k, v, table, mode)
    out, lse = fn(q, k, v)
    assert rel(out, ref_out) < TOL
    assert rel(lse, ref_lse) < TOL


@pytest.mark.parametrize("dtype,tol", [("f16", 5e-3), ("bf16", 3e-2)])
def test_iree_half_precision_matches_float64(dtype, tol):
    import ml_dtypes
    npdt = {"f16": np.float16, "bf16": ml_dtypes.bfloat16}[dtype]
    spec = spa.LayerSpec(heads=4, kv_heads=1, seq_len=70, head_dim=32,
                         dtype=dtype, policy="local_plus_band")
    fn = spa.iree.compile(spec, tile_q=16, tile_k=16)
    rng = np.random.default_rng(zlib.crc32(dtype.encode()))
    q = rng.standard_normal((1, 4, 70, 32)).astype(npdt)
    k = rng.standard_normal((1, 1, 70, 32)).astype(npdt)
    v = rng.standard_normal((1, 1, 70, 32)).astype(npdt)
    table = spa_reference.band_table("local_plus_band", 70, 4)
    ref_out, ref_lse = spa_reference.attention(q, k, v, table)
    out, lse = fn(q, k, v)
    assert out.dtype == npdt and lse.dtype == np.float32
    assert rel(out, ref_out) < tol
    assert rel(lse, ref_lse) < 1e-5


def test_iree_nan_propagates():
    spec = spa.LayerSpec(heads=2, seq_len=20, head_dim=8,
                         bands=[[(0, 4)], [(4, 20)]])
    fn = spa.iree.compile(spec, tile_q=16, tile_k=16)
    q = np.ones((1, 2, 20, 8), np.float32)
    k = q.copy()
    k[0, 0, 3, 0] = np.nan
    out, _ = fn(q, k, q)
    # Head 0 rows 3..6 reach key 3 (distances 0..3); no other row does.
    assert np.isnan(out[0, 0, 3:7]).all()
    assert not np.isnan(out[0, 0, :3]).any()
    assert not np.isnan(out[0, 0, 7:]).any()
    assert not np.isnan(out[0, 1]).any()


@torch.library.custom_op("spatest::twice", mutates_args=())
def twice(x: torch.Tensor) -> torch.Tensor:
    return 2 * x


@twice.register_fake
def _twice_fake(x):
    return torch.empty_like(x)


class WithOtherCustomOp(torch.nn.Module):
    def forward(self, x):
        q = x.view(1, 2, 8, 4)
        return twice(spa.torch.attention(q, q, q, policy="dense_causal"))


def test_other_custom_op_is_a_located_error():
    with pytest.raises(spa.MLIRError) as info:
        spa.torch_mlir.import_module(WithOtherCustomOp(), torch.randn(64))
    error = info.value
    assert "custom operator 'torch.spatest.twice' is not supported" in str(
        error)
    assert any("test_torch_mlir_iree.py" in loc for loc in error.locations)


class WithUnloweredAtenOp(torch.nn.Module):
    def forward(self, x):
        q = x.view(1, 2, 8, 4)
        a = spa.torch.attention(q, q, q, policy="dense_causal")
        return torch.cummax(a, 2)[0]  # torch-mlir has no op for it


class WithBadLinalgLowering(torch.nn.Module):
    def forward(self, x):
        q = x.view(1, 2, 8, 4)
        a = spa.torch.attention(q, q, q, policy="dense_causal")
        return torch.linalg.det(a[..., :4, :4])  # torch-mlir fails here


@pytest.mark.parametrize("model,message", [
    (WithUnloweredAtenOp, "operator 'torch.aten.cummax' has no lowering in "
     "torch-mlir"),
    (WithBadLinalgLowering, "(torch-mlir: lowering to linalg-on-tensors)"),
], ids=["aten_op_without_lowering", "torch_mlir_lowering_fails"])
def test_what_torch_mlir_cannot_lower_is_a_located_error(model, message):
    with pytest.raises(spa.MLIRError) as info:
        spa.torch_mlir.import_module(model(), torch.randn(64))
    assert message in str(info.value)
    assert any("test_torch_mlir_iree.py" in loc
               for loc in info.value.locations), str(info.value)


def test_missing_entry_is_a_located_error(block):
    _, _, module, _ = block
    with pytest.raises(spa.MLIRError) as info:
        spa.iree.compile(module, entry="forward")
    assert "no public function @forward" in str(info.value)
    assert "@main" in str(info.value)
    assert info.value.locations
    with pytest.raises(spa.MLIRError) as info:
        spa.compile(module, target="cpu", entry="forward")
    assert "spa.compile: no public function @forward" in str(info.value)
    assert info.value.locations
