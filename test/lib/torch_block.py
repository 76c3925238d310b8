"""The small transformer block of the torch-mlir tests (issue #15): q/k/v
projections, spa.torch.attention, output projection; and the same block in
float64 NumPy (attention by spa_reference), independent of torch and spa.
`TwoAttentions` chains two blocks with different bands. Shared by
test_torch_mlir_iree.py, test_cuda_module.py and
bench/cuda_module_device.py."""

import torch

import spa.torch
import spa_reference


class Block(torch.nn.Module):
    """x [B, N, d] -> out-projection(attention(q(x), k(x), v(x)))."""

    def __init__(self, d, heads, kv_heads, head_dim, value_dim, **attention):
        super().__init__()
        self.shape = (heads, kv_heads, head_dim, value_dim)
        self.q = torch.nn.Linear(d, heads * head_dim)
        self.k = torch.nn.Linear(d, kv_heads * head_dim)
        self.v = torch.nn.Linear(d, kv_heads * value_dim)
        self.o = torch.nn.Linear(heads * value_dim, d)
        self.attention = attention

    def split(self, t, heads, dim):
        b, n, _ = t.shape
        return t.view(b, n, heads, dim).transpose(1, 2)

    def forward(self, x):
        hq, hk, d, dv = self.shape
        q = self.split(self.q(x), hq, d)
        k = self.split(self.k(x), hk, d)
        v = self.split(self.v(x), hk, dv)
        a = spa.torch.attention(q, k, v, **self.attention)
        b, _, n, _ = a.shape
        return self.o(a.transpose(1, 2).reshape(b, n, hq * dv))

    def reference(self, x):
        """The block in float64 NumPy, attention by spa_reference."""
        hq, hk, d, dv = self.shape
        x = x.double().numpy()

        def linear(layer, t):
            return (t @ layer.weight.detach().double().numpy().T
                    + layer.bias.detach().double().numpy())

        def split(t, heads, dim):
            b, n, _ = t.shape
            return t.reshape(b, n, heads, dim).transpose(0, 2, 1, 3)

        n = x.shape[1]
        a = self.attention
        bands = a.get("bands") or spa_reference.band_table(
            a.get("policy", "local_plus_band"), n, hq,
            a.get("mode", "causal"))
        out, _ = spa_reference.attention(
            split(linear(self.q, x), hq, d), split(linear(self.k, x), hk, d),
            split(linear(self.v, x), hk, dv), bands,
            a.get("mode", "causal"), a.get("scale"))
        b = out.shape[0]
        return linear(self.o, out.transpose(0, 2, 1, 3).reshape(b, n, -1))


class TwoAttentions(torch.nn.Module):
    """Two blocks with different bands (a policy, then a table with its
    own scale and GQA), joined by a residual ReLU."""

    def __init__(self, d, n):
        super().__init__()
        self.first = Block(d, 4, 2, 16, 16, policy="local_plus_band")
        self.second = Block(d, 2, 1, 16, 32,
                            bands=[[(0, 5)], [(5, n)]], scale=0.2)

    def forward(self, x):
        return self.second(torch.relu(self.first(x)) + x)

    def reference(self, x):
        h = torch.from_numpy(self.first.reference(x)).clamp(min=0) + x.double()
        return self.second.reference(h)
