"""spa.runtime.timing without a GPU: the flush modes bench_ms accepts (the
timing itself runs on the H200, bench/)."""

import pytest

from spa.runtime.timing import bench_ms


def test_flush_mode_is_checked_before_any_cuda_call():
    with pytest.raises(ValueError, match="flush must be 'write' or 'read'"):
        bench_ms(lambda: None, flush="evict")
