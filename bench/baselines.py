"""The baselines spa is timed against, built the same way for every script
(SPEC.md section 3), on the GPU machine:

- dense causal SDPA (`F.scaled_dot_product_attention(is_causal=True)`, its
  default backend);
- FlexAttention with the same band mask, `torch.compile(flex_attention,
  dynamic=False)` (a user who cares about speed compiles per shape), the
  block mask built once outside any timing; optionally its FLASH backend
  (`kernel_options={"BACKEND": "FLASH"}`) where this PyTorch has it;
- FlashAttention-4 dense causal (`flash-attn-4` from PyPI) where it is
  installed.

The band masks are the authors' closed forms for `exclusive_equal` and
`local_plus_band`, and a per-head table lookup for any other table; each
closed form is checked against the table once per shape.
"""

from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import torch._dynamo
import torch.nn.functional as F

# Every layer builds its own block mask: allow the recompiles instead of
# letting create_block_mask fall back to eager mode (64 GiB at N = 16384).
torch._dynamo.config.recompile_limit = 64
torch._dynamo.config.accumulated_recompile_limit = 1024

Bands = Sequence[Sequence[Tuple[int, int]]]


def band_mask(heads: Bands, mode: str, nq: int, nk: int, device,
              rows=None) -> torch.Tensor:
    """[len(heads), len(rows), nk] admissibility of query rows `rows`
    (default all Nq) under the band table `heads` (positions p = i + Nk -
    Nq; the float64 references of the check scripts mask with it)."""
    if rows is None:
        rows = torch.arange(nq, device=device)
    pos = rows.to(torch.int64)[:, None] + (nk - nq)
    dist = pos - torch.arange(nk, device=device)[None, :]
    if mode == "bidirectional":
        dist = dist.abs()
    masks = []
    for intervals in heads:
        m = torch.zeros_like(dist, dtype=torch.bool)
        for lo, hi in intervals:
            m |= (dist >= lo) & (dist < hi)
        masks.append(m)
    return torch.stack(masks)


def table_mask_mod(bands: Bands, mode: str, offset: int):
    """mask_mod(b, h, q_idx, kv_idx) of any band table (positions
    p = q_idx + offset, offset = Nk - Nq)."""
    heads = len(bands)
    slots = max(1, max(len(h) for h in bands))
    lo = torch.zeros(heads, slots, dtype=torch.int64, device="cuda")
    hi = torch.zeros(heads, slots, dtype=torch.int64, device="cuda")
    for h, intervals in enumerate(bands):
        for s, (a, b) in enumerate(intervals):
            lo[h, s], hi[h, s] = a, b

    def mask_mod(b, h, q_idx, kv_idx):
        dist = q_idx + offset - kv_idx
        if mode == "bidirectional":
            dist = dist.abs()
        ok = (dist >= lo[h, 0]) & (dist < hi[h, 0])
        for s in range(1, slots):
            ok = ok | ((dist >= lo[h, s]) & (dist < hi[h, s]))
        return ok
    return mask_mod


def closed_form_mask_mod(policy: str, heads: int, n: int):
    """The authors' mask for `policy` at N keys (causal, Nq == Nk), or
    None where we only have the table."""
    wb, r = divmod(n, heads)

    def band(h):
        start = h * wb + torch.minimum(h, torch.tensor(r, device=h.device))
        width = wb + (h < r).to(h.dtype)
        return start, width

    def exclusive_equal(b, h, q_idx, kv_idx):
        dist = q_idx - kv_idx
        start, width = band(h)
        return (dist >= start) & (dist < start + width)

    def local_plus_band(b, h, q_idx, kv_idx):
        dist = q_idx - kv_idx
        start, width = band(h)
        return ((dist >= 0) & (dist < width + 1)) | (
            (dist >= start) & (dist < start + width))

    return {"exclusive_equal": exclusive_equal,
            "local_plus_band": local_plus_band}.get(policy)


class Flex:
    """FlexAttention on one layer's band mask, compiled with dynamic=False."""

    _compiled: Dict[str, Callable] = {}

    def __init__(self, layer: dict, backend: Optional[str] = None):
        from torch.nn.attention.flex_attention import create_block_mask
        B, H = layer["batch"], layer["heads"]
        nq, nk = layer["query_len"], layer["seq_len"]
        table = table_mask_mod(layer["bands"], layer["mode"], nk - nq)
        mask_mod = None
        if layer["mode"] == "causal" and nq == nk:
            mask_mod = closed_form_mask_mod(layer.get("policy", ""), H, nk)
        if mask_mod is not None:
            # The closed form must be the table the kernels were built for.
            want = create_block_mask(table, 1, H, nq, nk, device="cuda",
                                     _compile=True).to_dense()
            got = create_block_mask(mask_mod, 1, H, nq, nk, device="cuda",
                                    _compile=True).to_dense()
            assert torch.equal(want, got), "closed-form mask != band table"
        else:
            mask_mod = table
        self.block_mask = create_block_mask(mask_mod, B, H, nq, nk,
                                            device="cuda", _compile=True)
        self.kernel_options = {"BACKEND": backend} if backend else None
        self.enable_gqa = layer["heads"] != layer["kv_heads"]
        key = "flex"
        if key not in Flex._compiled:
            from torch.nn.attention.flex_attention import flex_attention
            Flex._compiled[key] = torch.compile(flex_attention, dynamic=False)
        self.fn = Flex._compiled[key]

    def __call__(self, q, k, v, scale=None):
        kwargs = dict(block_mask=self.block_mask, scale=scale,
                      enable_gqa=self.enable_gqa)
        if self.kernel_options:
            kwargs["kernel_options"] = self.kernel_options
        return self.fn(q, k, v, **kwargs)


def dense_sdpa(q, k, v):
    """Dense causal attention, PyTorch's default SDPA backend."""
    return F.scaled_dot_product_attention(
        q, k, v, is_causal=True, enable_gqa=q.shape[1] != k.shape[1])


def flash4() -> Optional[Callable]:
    """FlashAttention-4's dense causal forward, if `flash-attn-4` is
    installed (module `flash_attn.cute`)."""
    try:
        from flash_attn.cute import flash_attn_func  # type: ignore
    except Exception:  # noqa: BLE001 - absent or incompatible
        return None

    def run(q, k, v):
        # FA4 takes [B, N, H, D].
        out = flash_attn_func(q.transpose(1, 2), k.transpose(1, 2),
                              v.transpose(1, 2), causal=True)
        out = out[0] if isinstance(out, tuple) else out
        return out.transpose(1, 2)
    return run


def flash4_difference_from_sdpa(fa4: Callable, q, k, v,
                                tolerance: float = 2e-2) -> float:
    """FA4's largest |difference| from dense SDPA on q, k, v; raises
    RuntimeError past `tolerance`, so that a broken install cannot pass as a
    fast baseline."""
    diff = (fa4(q, k, v).float() - dense_sdpa(q, k, v).float()).abs().max().item()
    if not diff <= tolerance:
        raise RuntimeError(f"FA4 output differs from SDPA by {diff}")
    return diff


def error_text(exc: BaseException, limit: int = 600) -> str:
    """`Type: message` of a baseline that did not run, for the report."""
    return f"{type(exc).__name__}: {str(exc)[:limit]}"


def forward_backward(fn: Callable, q, k, v, dout) -> Callable[[], None]:
    """A callable running fn's forward and backward once (inputs must
    require grad); gradients are cleared by the autograd call itself."""
    def run():
        out = fn(q, k, v)
        torch.autograd.grad(out, (q, k, v), dout)
    return run
