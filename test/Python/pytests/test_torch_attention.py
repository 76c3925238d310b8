"""spa.torch.attention on CPU tensors: outputs, log-sum-exp and gradients
against a float64 PyTorch reference (test/lib/torch_reference.py, written
from the definition), argument errors, opcheck, torch.compile(fullgraph)
without graph breaks, torch.export.

Cases cover GQA, Nq != Nk both ways (Nq > Nk: rows without keys), empty
heads, N = 1, odd N, Dv != D, bidirectional, policies and tables,
f32/f16/bf16. Each case compiles one CPU module (forward + gradient).
"""

import math
import zlib

import pytest

torch = pytest.importorskip("torch")

import spa.torch as st  # noqa: E402
import spa_reference  # noqa: E402
import torch_reference as tref  # noqa: E402

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
# max |x - ref| / (1 + max |ref|); the reference sees the same rounded
# inputs. The gradient reads out rounded to the element type (Delta), so
# f16/bf16 carry that rounding (see test_attention_grad.py).
TOL = {"f32": 2e-5, "f16": 5e-3, "bf16": 3e-2}


def err(x, ref):
    return ((x.double() - ref).abs().max() / (1 + ref.abs().max())).item()


def table_of(policy, bands, mode, heads, nq, nk):
    if bands is not None:
        return bands
    return spa_reference.band_table(policy, nk, heads, mode)


CASES = [
    # id, dtype, B, Hq, Hkv, Nq, Nk, D, Dv, mode, policy, bands
    ("f32_gqa_empty_head_dv", "f32", 1, 4, 2, 37, 37, 16, 8, "causal",
     None, [[(0, 5)], [], [(3, 9), (20, 40)], [(0, 1), (2, 3)]]),
    ("f32_bidir_nq_lt_nk", "f32", 2, 2, 2, 20, 45, 8, 8, "bidirectional",
     None, [[(0, 4)], [(4, 30)]]),
    ("f32_rows_without_keys", "f32", 1, 2, 1, 30, 12, 8, 16, "causal",
     "exclusive_equal", None),
    ("f16_n1", "f16", 1, 2, 2, 1, 1, 16, 16, "causal", None,
     [[(0, 1)], []]),
    ("bf16_gqa_lpb_odd", "bf16", 2, 4, 1, 70, 70, 32, 32, "causal",
     "local_plus_band", None),
    ("f32_gapped_half", "f32", 1, 8, 8, 33, 33, 8, 8, "causal",
     "gapped_half", None),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_forward_and_gradients_match_float64(case):
    (_, dtype, b, hq, hk, nq, nk, d, dv, mode, policy, bands) = case
    gen = torch.Generator().manual_seed(zlib.crc32(case[0].encode()))
    dt = DTYPES[dtype]
    q = torch.randn(b, hq, nq, d, generator=gen).to(dt).requires_grad_()
    k = torch.randn(b, hk, nk, d, generator=gen).to(dt).requires_grad_()
    v = torch.randn(b, hk, nk, dv, generator=gen).to(dt).requires_grad_()
    dout = torch.randn(b, hq, nq, dv, generator=gen).to(dt)
    out, lse = st.attention(q, k, v, policy=policy, bands=bands, mode=mode,
                            return_lse=True)
    assert out.dtype == dt and out.shape == (b, hq, nq, dv)
    assert lse.dtype == torch.float32 and lse.shape == (b, hq, nq)
    out.backward(dout)

    table = table_of(policy, bands, mode, hq, nq, nk)
    q64, k64, v64 = (t.detach().double().requires_grad_() for t in (q, k, v))
    ref_out, ref_lse = tref.attention(q64, k64, v64, table, mode)
    ref_out.backward(dout.double())

    tol = TOL[dtype]
    assert err(out, ref_out) < tol
    finite = torch.isfinite(ref_lse)
    assert torch.equal(torch.isfinite(lse), finite)  # -inf: no keys
    assert (out[~finite.expand(b, hq, nq)] == 0).all()
    assert err(lse[finite], ref_lse[finite]) < tol
    for got, ref in ((q.grad, q64.grad), (k.grad, k64.grad),
                     (v.grad, v64.grad)):
        assert got.dtype == dt
        assert err(got, ref) < tol


def test_lse_is_differentiable():
    """A loss on lse too: its gradient reaches q and k (P dlse terms)."""
    gen = torch.Generator().manual_seed(7)
    table = [[(0, 6)], [], [(2, 9), (12, 30)]]
    q = torch.randn(2, 3, 25, 8, generator=gen, requires_grad=True)
    k = torch.randn(2, 3, 25, 8, generator=gen, requires_grad=True)
    v = torch.randn(2, 3, 25, 4, generator=gen, requires_grad=True)
    w = torch.randn(2, 3, 25, generator=gen)
    dout = torch.randn(2, 3, 25, 4, generator=gen)

    def loss(out, lse):
        lse = torch.where(torch.isfinite(lse), lse, torch.zeros_like(lse))
        return (out * dout).sum() + (lse * w).sum()

    loss(*st.attention(q, k, v, bands=table, return_lse=True)).backward()
    q64, k64, v64 = (t.detach().double().requires_grad_() for t in (q, k, v))
    loss(*tref.attention(q64, k64, v64, table)).backward()
    for got, ref in ((q.grad, q64.grad), (k.grad, k64.grad),
                     (v.grad, v64.grad)):
        assert err(got, ref) < 2e-5


def test_scale_and_noncontiguous_inputs():
    gen = torch.Generator().manual_seed(3)
    # [B, N, H, D] transposed to [B, H, N, D]: strided, as in most models.
    q = torch.randn(1, 19, 2, 8, generator=gen).transpose(1, 2)
    k = torch.randn(1, 19, 2, 8, generator=gen).transpose(1, 2)
    v = torch.randn(1, 19, 2, 8, generator=gen).transpose(1, 2)
    table = [[(0, 4)], [(4, 19)]]
    out = st.attention(q, k, v, bands=table, scale=0.3)
    ref, _ = tref.attention(q, k, v, table, scale=0.3)
    assert err(out, ref) < 2e-5


def test_nan_propagates_to_the_rows_it_reaches():
    q = torch.randn(1, 1, 8, 4)
    k = torch.randn(1, 1, 8, 4)
    v = torch.randn(1, 1, 8, 4)
    k[0, 0, 2, 1] = float("nan")
    out = st.attention(q, k, v, bands=[[(0, 2)]])
    # Key 2 is reached by queries 2 and 3 (distances 0 and 1) only.
    rows = torch.isnan(out[0, 0]).any(-1)
    assert rows.tolist() == [False, False, True, True, False, False, False,
                             False]


def test_empty_sizes_need_no_kernel():
    q = torch.randn(0, 2, 5, 4, requires_grad=True)
    k = torch.randn(0, 2, 5, 4)
    out, lse = st.attention(q, k, k, return_lse=True)
    assert out.shape == (0, 2, 5, 4) and lse.shape == (0, 2, 5)
    q = torch.randn(1, 2, 3, 4, requires_grad=True)
    k = torch.randn(1, 2, 0, 4, requires_grad=True)
    out, lse = st.attention(q, k, k, return_lse=True)
    assert (out == 0).all() and (lse == float("-inf")).all()
    out.sum().backward()
    assert (q.grad == 0).all()


def _qkv(**shapes):
    b, h, hk, n, d = (shapes.get(x, y) for x, y in
                      (("b", 1), ("h", 2), ("hk", 2), ("n", 4), ("d", 8)))
    return (torch.randn(b, h, n, d), torch.randn(b, hk, n, d),
            torch.randn(b, hk, n, d))


@pytest.mark.parametrize("call, error, message", [
    (lambda q, k, v: st.attention(q.numpy(), k, v), TypeError,
     r"q must be a torch.Tensor"),
    (lambda q, k, v: st.attention(q.double(), k, v), TypeError,
     r"q must be float32, float16 or bfloat16, got torch.float64"),
    (lambda q, k, v: st.attention(q, k.half(), v), TypeError,
     r"k has dtype torch.float16 but q has torch.float32"),
    (lambda q, k, v: st.attention(q[0], k, v), ValueError,
     r"q must be 4-D \[B, Hq, Nq, D\], got shape \(2, 4, 8\)"),
    (lambda q, k, v: st.attention(q, k[:, :, :3], v), ValueError,
     r"k has 3 keys but v has 4"),
    (lambda q, k, v: st.attention(q, k[..., :4], v), ValueError,
     r"k has head dim 4 but q has 8"),
    (lambda q, k, v: st.attention(torch.randn(1, 3, 4, 8), k, v),
     ValueError, r"q's 3 heads are not a multiple of k's 2"),
    (lambda q, k, v: st.attention(q, k, v, policy="nope"), ValueError,
     r"policy must be one of exclusive_equal, .*, got 'nope'"),
    (lambda q, k, v: st.attention(q, k, v, policy="gapped_half",
                                  bands=[[], []]), ValueError,
     r"give policy or bands, not both"),
    (lambda q, k, v: st.attention(q, k, v, bands=[[(0, 2)]]), ValueError,
     r"bands has 1 heads but q has 2"),
    (lambda q, k, v: st.attention(q, k, v, bands=[[(3, 3)], []]),
     ValueError, r"bands\[0\]\[0\] = \(3, 3\) is empty"),
    (lambda q, k, v: st.attention(q, k, v, bands=[[(0, 4), (2, 6)], []]),
     ValueError, r"bands\[0\]: intervals \(0, 4\) and \(2, 6\) overlap"),
    (lambda q, k, v: st.attention(q, k, v, bands=[[(-1, 2)], []]),
     ValueError, r"bands\[0\]\[0\] = \(-1, 2\): bounds must lie"),
    (lambda q, k, v: st.attention(q, k, v, bands=[[(0.5, 2)], []]),
     TypeError, r"bands\[0\]\[0\] must be a pair of ints"),
    (lambda q, k, v: st.attention(q, k, v, bands="abc"), TypeError,
     r"bands must be a list"),
    (lambda q, k, v: st.attention(q, k, v, mode="sideways"), ValueError,
     r"mode must be one of \('causal', 'bidirectional'\)"),
    (lambda q, k, v: st.attention(q, k, v, window=0), ValueError,
     r"window must be at least 1, got 0"),
    (lambda q, k, v: st.attention(q, k, v, bands=[[], []], window=3),
     ValueError, r"window applies to a policy"),
    (lambda q, k, v: st.attention(q, k, v, scale=-1.0), ValueError,
     r"scale must be positive and finite, got -1.0"),
    (lambda q, k, v: st.attention(q, k, v, scale="x"), TypeError,
     r"scale must be a float"),
    (lambda q, k, v: st.attention(q, k, v, return_lse=1), TypeError,
     r"return_lse must be a bool"),
    (lambda q, k, v: st.attention(q, k, v.to("meta")), ValueError,
     r"v is on meta but q is on cpu"),
])
def test_argument_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call(*_qkv())


def _op_args():
    gen = torch.Generator().manual_seed(11)
    q = torch.randn(1, 2, 9, 8, generator=gen, requires_grad=True)
    k = torch.randn(1, 1, 9, 8, generator=gen, requires_grad=True)
    v = torch.randn(1, 1, 9, 4, generator=gen, requires_grad=True)
    flat = [2, 1, 0, 3, 2, 1, 2, 4, 9]
    return q, k, v, flat


def test_opcheck():
    q, k, v, flat = _op_args()
    for lse_grad in (False, True):
        torch.library.opcheck(torch.ops.spa.attention.default,
                              (q, k, v, flat, "", "causal", -1,
                               1 / math.sqrt(8), lse_grad))
    torch.library.opcheck(torch.ops.spa.attention.default,
                          (q, k, v, [], "exclusive_equal", "bidirectional",
                           -1, 0.5, False))
    out, lse = torch.ops.spa.attention(q, k, v, flat, "", "causal", -1,
                                       0.25, True)
    dout = torch.randn_like(out)
    torch.library.opcheck(torch.ops.spa.attention_backward.default,
                          (dout, torch.randn_like(lse), q.detach(),
                           k.detach(), v.detach(), out.detach(),
                           lse.detach(), flat, "", "causal", -1, 0.25))


def test_torch_compile_fullgraph_without_graph_breaks():
    from torch._dynamo.utils import counters
    q, k, v, _ = _op_args()
    table = [[(0, 3)], [(1, 2), (4, 9)]]

    def layer(q, k, v):
        out, lse = st.attention(q * 2, k, v, bands=table, return_lse=True)
        return out.sum() + torch.where(torch.isfinite(lse), lse, 0).sum()

    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(layer, fullgraph=True, backend="aot_eager")
    got = compiled(q, k, v)
    grads = torch.autograd.grad(got, (q, k, v))
    assert not counters["graph_break"], dict(counters["graph_break"])
    expected = layer(q, k, v)
    ref_grads = torch.autograd.grad(expected, (q, k, v))
    assert torch.allclose(got, expected)
    for a, b in zip(grads, ref_grads):
        assert torch.allclose(a, b)
    # A module with a policy, called at two lengths: one graph per shape,
    # still no break.
    module = st.BandedAttention(policy="exclusive_equal")
    compiled = torch.compile(module, fullgraph=True, backend="aot_eager")
    for n in (16, 23):
        x = torch.randn(1, 2, n, 8)
        assert torch.allclose(compiled(x, x, x), module(x, x, x))
    assert not counters["graph_break"]


def test_torch_export():
    q, k, v, _ = _op_args()

    class Layer(torch.nn.Module):
        def forward(self, q, k, v):
            return st.attention(q, k, v, policy="local_plus_band")

    with torch.no_grad():
        program = torch.export.export(Layer(), (q, k, v))
    targets = [node.target for node in program.graph.nodes]
    assert torch.ops.spa.attention.default in targets
    assert torch.equal(program.module()(q, k, v), Layer()(q, k, v))


def test_banded_attention_module():
    q, k, v, _ = _op_args()
    layer = st.BandedAttention(bands=[[(0, 3)], [(3, 9)]], scale=0.5)
    assert "bands=2 heads" in repr(layer)
    expected = st.attention(q, k, v, bands=[[(0, 3)], [(3, 9)]], scale=0.5)
    assert torch.equal(layer(q, k, v), expected)
    with pytest.raises(ValueError, match="give policy or bands"):
        st.BandedAttention(policy="gapped_half", bands=[[]])
