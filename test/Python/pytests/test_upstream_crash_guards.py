"""Input that MLIR 22 itself would crash or abort on gets a located MLIRError
from spa's Python front door (issue #13; the fuzz target found both)."""
import pytest

import spa
import spa.ir


def test_huge_result_reference_is_refused_before_parsing():
    text = "func.func @f() -> i32 {\n  return %r#2147483647 : i32\n}\n"
    with pytest.raises(spa.MLIRError, match=r'"<t>":2:10\): error: result '
                       r"reference %r#2147483647: result numbers of 2\^24"):
        spa.ir.parse(text, "<t>")


def test_small_result_reference_reaches_the_parser():
    with pytest.raises(spa.MLIRError, match="undeclared SSA value"):
        spa.ir.parse("func.func @f() -> i32 {\n  return %r#3 : i32\n}\n",
                     "<t>")


@pytest.mark.parametrize("index", [-1, 2, -(2**40)])
def test_out_of_range_dim_index_before_any_pass(index):
    module = spa.ir.parse(
        "func.func @f(%m: memref<?x?xf32>) -> index {\n"
        f"  %c = arith.constant {index} : index\n"
        "  %d = memref.dim %m, %c : memref<?x?xf32>\n"
        "  return %d : index\n}\n", "<t>")
    with pytest.raises(spa.MLIRError, match=rf'"<t>":3:8\): error: '
                       rf"'memref.dim' op index {index} is out of range for "
                       r"a rank-2 operand \(valid: 0..1\)"):
        module.run_pipeline("builtin.module(canonicalize)")
