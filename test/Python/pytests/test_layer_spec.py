"""LayerSpec and the IR text writer on bad or unusual fields (issue #13):
sizes out of range name the field (instead of an MLIR parse error on the
text), scales reach MLIR as floats it reads back exactly.
"""
import math
import re

import numpy as np
import pytest

import spa
from spa.layer import float_literal


# --- LayerSpec: fields and scales -------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("seq_len", -1), ("heads", 0), ("heads", -3), ("head_dim", 0),
    ("kv_heads", 0), ("value_dim", -2), ("batch", -1), ("query_len", -5)])
def test_layer_spec_sizes_out_of_range_name_the_field(field, value):
    fields = dict(heads=2, seq_len=16, head_dim=8)
    fields[field] = value
    with pytest.raises(ValueError, match=rf"^{field} must be at least"):
        spa.LayerSpec(**fields)


@pytest.mark.parametrize("field,value", [
    ("heads", 2.5), ("seq_len", "16"), ("head_dim", True)])
def test_layer_spec_sizes_of_other_types_name_the_field(field, value):
    fields = dict(heads=2, seq_len=16, head_dim=8)
    fields[field] = value
    with pytest.raises(TypeError, match=rf"^{field} must be an int"):
        spa.LayerSpec(**fields)


@pytest.mark.parametrize("scale", [0.0, -0.5, math.inf, math.nan])
def test_layer_spec_scale_must_be_positive_and_finite(scale):
    with pytest.raises(ValueError, match="scale must be positive and finite"):
        spa.LayerSpec(heads=2, seq_len=16, head_dim=8, scale=scale)


def test_layer_mlir_checks_its_own_parameters():
    from spa.layer import layer_mlir
    with pytest.raises(ValueError, match="key_len must be at least 0"):
        layer_mlir(batch=1, heads=2, kv_heads=2, query_len=4, key_len=-1,
                   head_dim=8, value_dim=8, dtype="f32", mode="causal",
                   bands="dense_causal")


@pytest.mark.parametrize("value", [1e-05, 1e+16, 0.125, 3.0, 5e-324,
                                   1.7976931348623157e+308, 0.1, 1e+300])
def test_float_literal_is_exact_and_has_a_point(value):
    text = float_literal(value)
    assert "." in text.partition("e")[0] and float(text) == value


# The verifier takes scales whose scale * log2(e) is a normal f32.
@pytest.mark.parametrize("scale", [1e-05, 1e+16, 0.125, 3.0, 1e-30, 1e+30,
                                   0.1])
def test_scale_reaches_mlir_exactly(scale):
    module = spa.ir.parse(spa.LayerSpec(heads=2, seq_len=16, head_dim=8,
                                        scale=scale).to_mlir())
    # MLIR prints the shortest text that reads back to its double.
    printed = re.search(r"scale\(([^)]*)\)", str(module)).group(1)
    assert float(printed) == scale


def test_small_scale_runs_with_that_scale():
    layer = spa.LayerSpec(heads=1, seq_len=8, head_dim=4, scale=1e-05,
                          policy="dense_causal")
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((1, 1, 8, 4), dtype=np.float32)
               for _ in range(3))
    _, lse = spa.compile(layer)(q, k, v)
    # With a scale of 1e-5 all logits are ~0: lse of row i is log(i + 1).
    assert np.allclose(lse[0, 0], np.log(np.arange(1, 9)), atol=1e-3)


def test_query_len_zero_is_not_replaced_by_seq_len():
    text = spa.LayerSpec(heads=2, seq_len=16, head_dim=8, query_len=0,
                         bands=[[(0, 8)], [(8, 16)]]).to_mlir()
    assert "tensor<1x2x0x8xf32>" in text
