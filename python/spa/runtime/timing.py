"""The one GPU timer of the project: every number in docs/benchmarks.md,
ours and the baselines', goes through `bench_ms` (SPEC.md section 3).

Method (`triton.testing.do_bench`'s, written out so that it is the same for
every callable and needs no Triton): run the callable until `warmup_ms` has
passed (module loads, autotuning and compiles stay out); estimate one call's
time; then time each of `reps` calls with its own pair of CUDA events, the L2
cache flushed before each (a 256 MiB buffer zeroed between the calls and
outside the events, so no call finds its inputs left in L2 by the previous
one); report the median and the 20th/80th percentiles.

`flush="read"` evicts by reading the buffer instead: a zeroing flush leaves
up to an L2's worth of dirty lines whose write-back lands inside the next
timed call, which a memory-bound kernel (decode: ~40 us reading 134 MB)
pays as 10-25% more DRAM traffic. The default stays do_bench's ("write");
the decode benchmark reports both.

    from spa.runtime.timing import bench_ms
    t = bench_ms(lambda: layer(q, k, v))
    print(t.median, t.p20, t.p80, t.reps)
"""

import statistics
from dataclasses import dataclass
from typing import Callable, Optional

# Larger than any L2 of the GPUs we time (H100/H200: 50 MiB).
FLUSH_BYTES = 256 * 1024 * 1024


@dataclass
class Timing:
    median: float  # ms
    p20: float
    p80: float
    reps: int

    def __str__(self) -> str:
        return (f"{self.median:.4f} ms (p20 {self.p20:.4f}, p80 "
                f"{self.p80:.4f}, {self.reps} reps)")


_flush_buffer = None


def _flush(torch, mode: str = "write"):
    global _flush_buffer
    if _flush_buffer is None:
        _flush_buffer = torch.zeros(FLUSH_BYTES // 4, dtype=torch.int32,
                                    device="cuda")
    if mode == "read":
        _flush_buffer.max()  # a reduction: reads every line, writes none
    else:
        _flush_buffer.zero_()


def bench_ms(fn: Callable[[], object], *, warmup_ms: float = 25.0,
             rep_ms: float = 100.0, min_reps: int = 10, max_reps: int = 1000,
             flush_l2: bool = True, flush: str = "write",
             stream=None) -> Timing:
    """Median CUDA-event time of `fn()` in ms, do_bench style (see the
    module docstring). `rep_ms` is the time budget the repetitions aim at;
    `flush` is "write" (do_bench's zeroing) or "read"."""
    if flush not in ("write", "read"):
        raise ValueError(f"flush must be 'write' or 'read', not {flush!r}")
    import torch
    stream = stream or torch.cuda.current_stream()
    fn()
    torch.cuda.synchronize()
    # Estimate one call (with its flush) from five.
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record(stream)
    for _ in range(5):
        if flush_l2:
            _flush(torch, flush)
        fn()
    end.record(stream)
    torch.cuda.synchronize()
    estimate = max(start.elapsed_time(end) / 5, 1e-3)
    warmup = max(1, int(warmup_ms / estimate))
    reps = min(max_reps, max(min_reps, int(rep_ms / estimate)))
    for _ in range(warmup):
        fn()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    for i in range(reps):
        if flush_l2:
            _flush(torch, flush)
        starts[i].record(stream)
        fn()
        ends[i].record(stream)
    torch.cuda.synchronize()
    times = sorted(s.elapsed_time(e) for s, e in zip(starts, ends))
    quantiles = statistics.quantiles(times, n=5) if len(times) > 1 else (
        times * 4)
    return Timing(median=statistics.median(times), p20=quantiles[0],
                  p80=quantiles[3], reps=reps)


def triton_ms(fn: Callable[[], object]) -> Optional[float]:
    """`triton.testing.do_bench`'s median for the same callable, where
    Triton is installed: a cross-check of `bench_ms` in the same run."""
    try:
        from triton.testing import do_bench
    except ImportError:
        return None
    return float(do_bench(fn, return_mode="median"))
