"""Calls of compiled functions with bad arguments (issue #13): a wrong
dtype is a TypeError naming the argument (index and name), the expected and
the given dtype, never a silent cast; CUDA calls also check shape, device
and layout. The CUDA check runs here on stand-in tensors (this machine has
no GPU), through CudaLayer.__call__ itself.
"""
import numpy as np
import ml_dtypes
import pytest

import spa
from spa.arguments import check_tensors
from spa.runtime.cuda import CudaLayer


# --- CPU calls: dtypes are checked, never cast ------------------------------

@pytest.fixture(scope="module")
def f32_layer():
    return spa.compile(spa.LayerSpec(heads=1, seq_len=8, head_dim=4,
                                     policy="dense_causal"))


@pytest.fixture(scope="module")
def bf16_layer():
    return spa.compile(spa.LayerSpec(heads=1, seq_len=8, head_dim=4,
                                     dtype="bf16", policy="dense_causal"))


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.complex64,
                                   np.float16])
@pytest.mark.parametrize("index,name", [(0, "query"), (1, "key"),
                                        (2, "value")])
def test_cpu_call_rejects_other_dtypes(f32_layer, dtype, index, name):
    args = [np.zeros((1, 1, 8, 4), np.float32) for _ in range(3)]
    args[index] = np.zeros((1, 1, 8, 4), dtype)
    given = np.dtype(dtype).name
    with pytest.raises(TypeError, match=rf"argument #{index} \({name}\): "
                       rf"expected dtype float32 \(f32\), got {given}"):
        f32_layer(*args)


def test_cpu_call_rejects_f32_into_bf16(bf16_layer):
    bf16 = [np.zeros((1, 1, 8, 4), ml_dtypes.bfloat16) for _ in range(3)]
    bf16_layer(*bf16)  # the right dtype runs
    with pytest.raises(TypeError, match=r"argument #2 \(value\): expected "
                       r"dtype bfloat16 \(bf16\), got float32"):
        bf16_layer(bf16[0], bf16[1], np.zeros((1, 1, 8, 4), np.float32))


def test_cpu_call_rejects_python_lists(f32_layer):
    # np.asarray of a list of floats is float64: no implicit cast either.
    rows = np.zeros((1, 1, 8, 4)).tolist()
    with pytest.raises(TypeError, match=r"argument #0 \(query\).*float64"):
        f32_layer(rows, rows, rows)


def test_cpu_call_takes_non_contiguous_arrays(f32_layer):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((1, 1, 8, 4), dtype=np.float32)
               for _ in range(3))
    strided = np.asfortranarray(q)
    assert not strided.flags.c_contiguous
    want, _ = f32_layer(q, k, v)
    got, _ = f32_layer(strided, k, v)
    assert np.array_equal(got, want)


# --- CUDA calls: the argument check, on stand-in tensors --------------------

class StandIn:
    """What CudaLayer's check reads of a torch.Tensor."""

    def __init__(self, dtype="torch.bfloat16", shape=(1, 2, 8, 16),
                 device="cuda:0", contiguous=True):
        self.dtype, self.shape, self.device = dtype, shape, device
        self.contiguous = contiguous

    def is_contiguous(self):
        return self.contiguous

    def stride(self):
        return (1, 8, 16, 128) if not self.contiguous else (256, 128, 16, 1)


SPECS = [{"name": n, "kind": "input", "dtype": "bf16", "shape": [1, 2, 8, 16]}
         for n in ("query", "key", "value")]


def _layer_without_gpu():
    # CudaLayer.__init__ loads the cubin on a GPU; the argument check in
    # __call__ runs before anything touches torch or the driver.
    layer = CudaLayer.__new__(CudaLayer)
    layer.meta = {"name": "spa_attention_0"}
    layer.device = "cuda:0"
    layer.inputs = SPECS
    layer.outputs = [{"name": "output", "kind": "output", "dtype": "bf16",
                      "shape": [1, 2, 8, 16]}]
    layer._torch = None
    return layer


@pytest.mark.parametrize("bad,error,message", [
    (dict(dtype="torch.float32"), TypeError,
     r"argument #1 \(key\): expected dtype torch.bfloat16 \(bf16\), got "
     r"torch.float32"),
    (dict(dtype="torch.float64"), TypeError, r"got torch.float64"),
    (dict(dtype="torch.int32"), TypeError, r"got torch.int32"),
    (dict(shape=(1, 2, 9, 16)), ValueError,
     r"argument #1 \(key\): expected shape \(1, 2, 8, 16\), got "
     r"\(1, 2, 9, 16\)"),
    (dict(device="cpu"), ValueError,
     r"argument #1 \(key\): expected a tensor on cuda:0, got one on cpu"),
    (dict(device="cuda:1"), ValueError, r"on cuda:1"),
    (dict(contiguous=False), ValueError,
     r"argument #1 \(key\): expected a contiguous tensor.*\.contiguous\(\)"),
])
def test_cuda_call_checks_every_input(bad, error, message):
    inputs = [StandIn(), StandIn(**bad), StandIn()]
    with pytest.raises(error, match=message):
        _layer_without_gpu()(*inputs)


def test_cuda_call_checks_counts_and_outputs():
    layer = _layer_without_gpu()
    with pytest.raises(TypeError, match="takes 3 inputs, got 2"):
        layer(StandIn(), StandIn())
    with pytest.raises(TypeError, match="expected a torch.Tensor, got "
                       "ndarray"):
        layer(StandIn(), np.zeros((1, 2, 8, 16)), StandIn())
    # Outputs given by the caller are written by the kernel: checked too,
    # numbered after the inputs as in the kernel's arguments.
    with pytest.raises(TypeError, match=r"argument #3 \(output\): expected "
                       r"dtype torch.bfloat16"):
        layer(StandIn(), StandIn(), StandIn(),
              outputs=[StandIn(dtype="torch.float16")])


def test_cuda_check_with_torch_tensors():
    torch = pytest.importorskip("torch")
    q = torch.zeros(1, 2, 8, 16, dtype=torch.float32)
    with pytest.raises(TypeError, match="got torch.float32"):
        check_tensors("k", "inputs", [q], SPECS[:1], "cuda:0")
    q = torch.zeros(1, 2, 8, 16, dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="got one on cpu"):
        check_tensors("k", "inputs", [q], SPECS[:1], "cuda:0")


# --- CPU calls borrow their arguments and hand over their results -----------

WRITES_ITS_ARGUMENT = """
func.func @main(%q: tensor<1x2x20x16xf32>, %k: tensor<1x2x45x16xf32>,
                %v: tensor<1x2x45x16xf32>) -> tensor<1x2x20x16xf32> {
  %q2 = arith.addf %q, %q : tensor<1x2x20x16xf32>
  %e = tensor.empty() : tensor<1x2x20x16xf32>
  %o = spa.attention bands(#spa.bands<bidirectional, [0:4], [4:30]>)
      ins(%q2, %k, %v : tensor<1x2x20x16xf32>, tensor<1x2x45x16xf32>,
          tensor<1x2x45x16xf32>)
      outs(%e : tensor<1x2x20x16xf32>) -> tensor<1x2x20x16xf32>
  return %o : tensor<1x2x20x16xf32>
}
"""


@pytest.mark.parametrize("options", [{}, {"vector_lanes": 0, "threads": 1}],
                         ids=["vector", "scalar"])
def test_cpu_call_leaves_its_arguments_alone(options):
    """The arrays are passed without a copy: a function whose tensor code
    updates an argument in place (here q + q, bufferized in place unless the
    argument is read-only) must not write into the caller's array, and
    calling it again gives the same result."""
    fn = spa.compile(WRITES_ITS_ARGUMENT, target="cpu", entry="main",
                     **options)
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal(s).astype(np.float32)
               for s in ((1, 2, 20, 16), (1, 2, 45, 16), (1, 2, 45, 16)))
    saved = [x.copy() for x in (q, k, v)]
    first = fn(q, k, v)
    for x, before in zip((q, k, v), saved):
        assert np.array_equal(x, before)
    second = fn(q, k, v)
    assert np.array_equal(first, second)
    # The result owns its memory: writable, and independent of the next call.
    assert first.flags.writeable
    first[...] = 0
    assert np.array_equal(fn(q, k, v), second)


RETURNS_TWICE_AND_ITS_ARGUMENT = """
func.func @main(%q: tensor<1x1x8x4xf32>)
    -> (tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>) {
  %e = tensor.empty() : tensor<1x1x8x4xf32>
  %o = spa.attention bands(#spa.band_policy<causal, dense_causal>)
      ins(%q, %q, %q : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>,
          tensor<1x1x8x4xf32>)
      outs(%e : tensor<1x1x8x4xf32>) -> tensor<1x1x8x4xf32>
  return %o, %o, %q
      : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>
}
"""


def test_cpu_results_sharing_memory_come_back_separately():
    """One value returned twice is one allocation behind two results, and a
    returned argument is the caller's own array: each result must still own
    its memory (no double free when both are released, no alias of the
    caller's array). The returned argument also has to compile: the clone
    deallocation makes for it is lowered."""
    fn = spa.compile(RETURNS_TWICE_AND_ITS_ARGUMENT, target="cpu",
                     entry="main")
    q = np.random.default_rng(3).standard_normal((1, 1, 8, 4)).astype(
        np.float32)
    saved = q.copy()
    for _ in range(3):
        first, second, same_q = fn(q)
        assert np.array_equal(first, second)
        assert np.array_equal(same_q, q)
        pointers = {a.ctypes.data for a in (first, second, same_q, q)}
        assert len(pointers) == 4
        first[...] = 1
        same_q[...] = 2
        assert not np.array_equal(first, second)
        assert np.array_equal(q, saved)
        del first, second, same_q
