"""Band plans: the head-to-band assignment of every SPEC.md policy and its
cost report, computed by the same C++ planning library the compiler uses."""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .layer import Interval, bands_attr, head_text

# The policy names, in the C++ PolicyKind order (checked against it by
# test/Python/pytests/test_spa_python.py). The one Python copy: the plot
# tool and the tests import it from here.
POLICIES = ("exclusive_equal", "local_plus_band", "gapped_half",
            "sliding_window", "dense_causal", "pair_balanced", "tile_balanced")


def _native():
    # Imported on first use, so that POLICIES loads without the extension
    # (the plot tool and the CPU test harness run without it).
    from . import _spa_native
    return _spa_native


@dataclass
class BandPlan:
    """One list of half-open distance intervals (lo, hi) per query head."""
    mode: str
    heads: List[List[Interval]]
    seq_len: int
    query_len: int
    report: Dict = field(default_factory=dict)

    @property
    def num_heads(self) -> int:
        return len(self.heads)

    def to_attr(self) -> str:
        """The table as IR: `#spa.bands<causal, [0:512], [512:1024]>`."""
        return bands_attr(self.mode, self.heads)

    def __str__(self) -> str:
        lines = [f"band plan ({self.mode}), H={self.num_heads}, "
                 f"Nq={self.query_len}, Nk={self.seq_len}"]
        heads = self.report.get("heads", [])
        for h, intervals in enumerate(self.heads):
            text = head_text(intervals) if intervals else "[-]"
            extra = ""
            if h < len(heads):
                r = heads[h]
                extra = (f"  pairs {r['pairs']:>12,d}  share "
                         f"{100 * r['share']:6.2f}%  tiles "
                         f"{r['full_tiles']}+{r['partial_tiles']}")
            lines.append(f"  head {h:3d}: {text}{extra}")
        if self.report:
            lines.append(
                f"  layer: {self.report['total_pairs']:,d} pairs "
                f"({100 * self.report['fraction_of_dense']:.2f}% of dense "
                f"causal), cost spread {self.report['cost_spread']:.3f}, "
                f"LPT makespan / ideal {self.report['makespan_ratio']:.3f}")
        return "\n".join(lines)


def plan(policy: str, seq_len: int, heads: int, *, mode: str = "causal",
         window: Optional[int] = None, tile: Tuple[int, int] = (128, 128),
         query_len: Optional[int] = None, num_sms: int = 132) -> BandPlan:
    """Plans `policy` for key length `seq_len` and `heads` query heads.

    Raises ValueError for unknown policies and out-of-range parameters.
    """
    table = _native().plan_bands(policy, seq_len, heads, mode,
                                 -1 if window is None else window, tile[0],
                                 tile[1],
                                 -1 if query_len is None else query_len)
    heads_list = [[tuple(iv) for iv in head] for head in table]
    nq = seq_len if query_len is None else query_len
    report = _native().analyze_bands(mode, heads_list, nq, seq_len, tile[0],
                                     tile[1], num_sms)
    return BandPlan(mode, heads_list, seq_len, nq, report)


def analyze(mode: str, heads: List[List[Interval]], query_len: int,
            key_len: int, tile: Tuple[int, int] = (128, 128),
            num_sms: int = 132) -> Dict:
    """Cost report of an explicit band table."""
    return _native().analyze_bands(mode,
                                   [list(map(tuple, h)) for h in heads],
                                   query_len, key_len, tile[0], tile[1],
                                   num_sms)
