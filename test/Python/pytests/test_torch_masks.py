"""spa.torch.bands_from_mask_mod: FlexAttention mask_mods -> band tables.

Positive cases are the authors' masks written as mask_mods (local window
plus band, exclusive bands; SPEC.md section 1) and compared with the
closed-form tables of spa_reference; negative cases each break one
requirement and must name the head and a breaking (q, kv) pair.
"""

import re

import pytest

torch = pytest.importorskip("torch")

import spa.torch as st  # noqa: E402
import spa_reference  # noqa: E402


def band_starts(n, heads):
    """S_h and W_h of SPEC.md's policies (W_h = floor(N/H) + [h < N mod H])."""
    wb, r = divmod(n, heads)
    widths = torch.tensor([wb + (h < r) for h in range(heads)])
    starts = torch.tensor([h * wb + min(h, r) for h in range(heads)])
    return starts, widths


def local_plus_band_mask(n, heads):
    starts, widths = band_starts(n, heads)

    def mask_mod(b, h, q_idx, kv_idx):
        d = q_idx - kv_idx
        local = (d >= 0) & (d < widths[h] + 1)
        band = (d >= starts[h]) & (d < starts[h] + widths[h])
        return local | band
    return mask_mod


def exclusive_mask(n, heads):
    starts, widths = band_starts(n, heads)

    def mask_mod(b, h, q_idx, kv_idx):
        causal = q_idx >= kv_idx
        return causal & (q_idx - kv_idx >= starts[h]) & (
            q_idx - kv_idx < starts[h] + widths[h])
    return mask_mod


@pytest.mark.parametrize("n, heads", [(64, 8), (1000, 16), (77, 5)])
def test_authors_masks(n, heads):
    for policy, make in (("local_plus_band", local_plus_band_mask),
                         ("exclusive_equal", exclusive_mask)):
        got = st.bands_from_mask_mod(make(n, heads), heads, n)
        assert got == spa_reference.band_table(policy, n, heads), policy


def test_device_argument():
    """The proof runs where `device` says (train_gpt passes the GPU); the
    table does not depend on it, and the mask's index tensors live there."""
    n, heads = 300, 6
    seen = set()

    def recording(b, h, q_idx, kv_idx):
        seen.add(q_idx.device.type)
        return local_plus_band_mask(n, heads)(b, h, q_idx, kv_idx)
    got = st.bands_from_mask_mod(recording, heads, n, device="cpu")
    assert got == spa_reference.band_table("local_plus_band", n, heads)
    assert seen == {"cpu"}
    got = st.bands_from_mask_mod(recording, heads, n,
                                 device=torch.device("cpu"))
    assert got == spa_reference.band_table("local_plus_band", n, heads)


@pytest.mark.parametrize("device, error, message", [
    ("meta", ValueError, "device 'meta' holds no values: the proof "
     "evaluates the mask; pass 'cpu' or a GPU"),
    ("nonsense", ValueError, "device 'nonsense' is not a device"),
    (1.5, TypeError, "device must be a torch.device, a string or an index, "
     "got float"),
    (True, TypeError, "got bool"),
])
def test_bad_device_argument(device, error, message):
    mask = local_plus_band_mask(40, 4)
    with pytest.raises(error, match=re.escape(message)):
        st.bands_from_mask_mod(mask, 4, 40, device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_device_without_a_gpu():
    with pytest.raises(ValueError, match=r"device 'cuda': no CUDA device "
                       r"here .*pass 'cpu'"):
        st.bands_from_mask_mod(local_plus_band_mask(40, 4), 4, 40,
                               device="cuda")


def test_scalar_style_mask_runs_under_vmap():
    """torch.where / comparisons on 0-d tensors with a head lookup that
    does not broadcast (.item-free, but indexes a Python list by h): run
    under torch.vmap as FlexAttention does."""
    widths = torch.tensor([2, 5])

    def mask_mod(b, h, q_idx, kv_idx):
        w = torch.index_select(widths, 0, h.reshape(1)).reshape(())
        return (q_idx >= kv_idx) & (q_idx - kv_idx < w)
    assert st.bands_from_mask_mod(mask_mod, 2, 12) == [[(0, 2)], [(0, 5)]]


def test_query_len_and_bidirectional():
    def sliding(b, h, q_idx, kv_idx):
        return (q_idx - kv_idx).abs() <= 2 + h
    got = st.bands_from_mask_mod(sliding, 2, 10, mode="bidirectional")
    assert got == [[(0, 3)], [(0, 4)]]
    # FlexAttention indexes queries from 0: with Nq < Nk, q_idx >= kv_idx is
    # the top-left causal mask, at spa distance d = q + 6 - kv >= 6.
    got = st.bands_from_mask_mod(lambda b, h, q, kv: q >= kv, 1, 10,
                                 query_len=4)
    assert got == [[(6, 10)]]
    # An empty head.
    got = st.bands_from_mask_mod(lambda b, h, q, kv: (q >= kv) & (h == 0),
                                 2, 6)
    assert got == [[(0, 6)], []]


def test_not_a_function_of_the_distance():
    def sink(b, h, q_idx, kv_idx):  # attention sinks: keys 0..3 always
        return (q_idx >= kv_idx) & ((kv_idx < 4) | (q_idx - kv_idx < 3 + h))
    with pytest.raises(ValueError, match=(
            r"mask_mod depends on more than the head and the distance: "
            r"head 0, \(q=\d+, kv=\d+\) gives True but \(q=\d+, kv=\d+\) "
            r"at the same distance \d+ gives False")):
        st.bands_from_mask_mod(sink, 2, 32)

    def block_causal(b, h, q_idx, kv_idx):  # breaks only on one head
        return torch.where(h == 1, q_idx // 4 >= kv_idx // 4, q_idx >= kv_idx)
    with pytest.raises(ValueError, match=r"head 1, \(q="):
        st.bands_from_mask_mod(block_causal, 2, 16)


def test_noncausal_and_asymmetric_masks():
    with pytest.raises(ValueError, match=(
            r"admits a key after its query: head 1, \(q=\d+, kv=\d+\) at "
            r"distance -1 < 0")):
        st.bands_from_mask_mod(lambda b, h, q, kv: (q - kv + h >= 0), 2, 8)
    with pytest.raises(ValueError, match=(
            r"not symmetric in the distance: head 0, .* at distance 2 gives "
            r"True but .* at distance -2 gives False")):
        st.bands_from_mask_mod(lambda b, h, q, kv: (q - kv < 3) & (q - kv > -2),
                               1, 8, mode="bidirectional")


def test_bad_arguments():
    with pytest.raises(TypeError, match="mask_mod must be callable"):
        st.bands_from_mask_mod(3, 1, 4)
    with pytest.raises(ValueError, match="heads must be at least 1"):
        st.bands_from_mask_mod(lambda b, h, q, kv: q >= kv, 0, 4)
    with pytest.raises(TypeError, match="seq_len must be an int"):
        st.bands_from_mask_mod(lambda b, h, q, kv: q >= kv, 1, 4.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        st.bands_from_mask_mod(lambda b, h, q, kv: q >= kv, 1, 4, mode="x")
    with pytest.raises(ValueError, match="must return a bool tensor"):
        st.bands_from_mask_mod(lambda b, h, q, kv: q - kv, 1, 4)

    def control_flow(b, h, q, kv):
        return torch.tensor(True) if q >= kv else torch.tensor(False)
    with pytest.raises(ValueError, match="could not be evaluated"):
        st.bands_from_mask_mod(control_flow, 1, 4)


def test_module_from_mask_mod():
    layer = st.BandedAttention.from_mask_mod(local_plus_band_mask(40, 4), 4,
                                             40)
    assert layer.bands == spa_reference.band_table("local_plus_band", 40, 4)
