#!/usr/bin/env python3
"""Plot SPAttention band tables: heads (y) x distance (x), one panel per policy.

It needs numpy, matplotlib and the policy names of the spa package
(`PYTHONPATH=python`), not the compiler or its native bindings, so that it
runs anywhere. It re-implements the band formulas of
SPEC.md section 1 and the planning algorithms of lib/Planning (Policies.cpp, Counting.cpp, TileBalancing.cpp)
(pair_balanced, tile_balanced, the tile cost model); docs/band-planning.md
describes both. Tables made elsewhere (for example by the compiler) can be
drawn instead with --table FILE ('-' for stdin), JSON of the form

    {"mode": "causal", "heads": [[[0, 512]], [[512, 1024]]], "policy": "..."}

where "policy" (or "name") is optional; a table whose policy is listed in
--policies replaces the computed one, any other is drawn as an extra panel.

Each interval is drawn as a bar coloured by its head's useful pair count
(or, with --color-by cost, by the head's estimated tile cost), on one colour
scale shared by all panels so that policies compare at a glance.

Example:
    PYTHONPATH=python python tools/spa-plot-bands/spa_plot_bands.py \\
        --seq-len 8192 --heads 16 \\
        --policies exclusive_equal,local_plus_band,pair_balanced,tile_balanced \\
        --out docs/images/bands_N8192_H16
"""

import argparse
import bisect
import json
import os
import sys

import numpy as np

from spa.bands import POLICIES

# Default CostWeights of BandPlan.h in units of 1/20 of a full tile, so that
# costs are exact integers here (workItem 0.5, fullTile 1, partial 1 + 0.35).
COST_SCALE = 20
W_ITEM, W_FULL, W_PARTIAL = 10, 20, 27

# Limits of the exact tile_balanced search, as in lib/Planning/TileBalancing.cpp.
DP_MAX_WORK = 6e6
DP_MAX_CANDIDATES = 2048


def ceil_div(a, b):
    return -((-a) // b)


# --------------------------------------------------------------------------
# Formula tables (SPEC.md section 1)
# --------------------------------------------------------------------------

def split(n, h):
    """Per-head widths W_h and starts S_h."""
    wb, r = divmod(n, h)
    widths = [wb + (1 if k < r else 0) for k in range(h)]
    starts = [k * wb + min(k, r) for k in range(h)]
    return widths, starts


def normalize(bands, max_distance):
    """Sort, clip to [0, max_distance), drop empty, merge overlapping or
    touching intervals (normalizeBands)."""
    clipped = sorted((max(lo, 0), min(hi, max_distance)) for lo, hi in bands)
    out = []
    for lo, hi in clipped:
        if lo >= hi:
            continue
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [tuple(iv) for iv in out]


def formula_table(policy, n, h, window=-1):
    widths, starts = split(n, h)
    heads = []
    for k in range(h):
        w, s = widths[k], starts[k]
        if policy == "exclusive_equal":
            bands = [(s, s + w)] if w > 0 else []
        elif policy == "local_plus_band":
            bands = normalize([(0, w + 1), (s, s + w)], n)
        elif policy == "gapped_half":
            bands = [(s, s + w // 2)] if w // 2 > 0 else []
        elif policy == "sliding_window":
            ww = w if window == -1 else window
            bands = [(0, min(ww, n - 1) + 1)]
        elif policy == "dense_causal":
            bands = [(0, n)]
        else:
            raise ValueError(f"no formula for policy {policy!r}")
        heads.append(bands)
    return heads


# --------------------------------------------------------------------------
# Counting (closed forms of lib/Planning/Counting.cpp)
# --------------------------------------------------------------------------

def pieces_of(bands, mode, nq, nk):
    """Signed-distance pieces [lo, hi] (inclusive) of a head, sorted."""
    norm = normalize(bands, max(nq, nk))
    if mode == "causal":
        return [(lo, hi - 1) for lo, hi in norm]
    out = [(-(hi - 1), -lo) for lo, hi in reversed(norm) if lo > 0]
    for lo, hi in norm:
        out.append((-(hi - 1), hi - 1) if lo == 0 else (lo, hi - 1))
    return out


def _prefix_clamp(x, cap):
    if x <= 0:
        return 0
    if x <= cap:
        return x * (x + 1) // 2
    return cap * (cap + 1) // 2 + (x - cap) * cap


def _signed_at_most(t, p_first, p_last, nk):
    return (_prefix_clamp(nk + t - p_first, nk)
            - _prefix_clamp(nk + t - p_last - 1, nk))


def count_pairs(bands, nq, nk, mode):
    p_first, p_last = nk - nq, nk - 1
    return sum(_signed_at_most(hi, p_first, p_last, nk)
               - _signed_at_most(lo - 1, p_first, p_last, nk)
               for lo, hi in pieces_of(bands, mode, nq, nk))


class Grid:
    """Query-tile row ranges (absolute positions) of an Nq x Nk problem."""

    def __init__(self, nq, nk, tile_q, tile_k):
        self.nq, self.nk, self.tq, self.tk = nq, nk, tile_q, tile_k
        self.nqt = ceil_div(nq, tile_q)
        self.nkt = ceil_div(nk, tile_k)
        r0 = np.arange(self.nqt, dtype=np.int64) * tile_q
        r1 = np.minimum(r0 + tile_q, nq)
        self.p0 = r0 + nk - nq
        self.p1 = r1 - 1 + nk - nq

    def tile_counts(self, pieces, p0=None, p1=None):
        """(full, partial) key-tile counts per query tile (countTilesForRows),
        vectorised over query tiles."""
        p0 = self.p0 if p0 is None else p0
        p1 = self.p1 if p1 is None else p1
        nk, tk = self.nk, self.tk
        full = np.zeros(p0.shape, dtype=np.int64)
        touched = np.zeros(p0.shape, dtype=np.int64)
        run_lo = np.zeros(p0.shape, dtype=np.int64)
        run_hi = np.full(p0.shape, -1, dtype=np.int64)
        for lo, hi in reversed(pieces):  # ascending key columns
            col_lo = np.maximum(0, p0 - hi)
            col_hi = np.minimum(nk - 1, p1 - lo)
            ok = col_lo <= col_hi
            t_lo, t_hi = col_lo // tk, col_hi // tk
            new_run = ok & (t_lo > run_hi)
            touched += np.where(new_run, run_hi - run_lo + 1, 0)
            run_lo = np.where(new_run, t_lo, run_lo)
            run_hi = np.where(new_run, t_hi,
                              np.where(ok, np.maximum(run_hi, t_hi), run_hi))
            full_lo = np.maximum(0, -((-(p1 - hi)) // tk))
            full_hi = np.where(nk - 1 <= p0 - lo, self.nkt - 1,
                               (p0 - lo + 1) // tk - 1)
            full += np.where(ok & (full_hi >= full_lo), full_hi - full_lo + 1, 0)
        touched += run_hi - run_lo + 1
        return full, touched - full

    def head_cost(self, pieces):
        """Cost of a head in 1/COST_SCALE tile units (exact integers)."""
        full, partial = self.tile_counts(pieces)
        return int(np.sum(W_ITEM + W_FULL * full + W_PARTIAL * partial))


def band_pieces(a, b, mode):
    if a >= b:
        return []
    if mode == "causal":
        return [(a, b - 1)]
    if a == 0:
        return [(-(b - 1), b - 1)]
    return [(-(b - 1), -a), (a, b - 1)]


# --------------------------------------------------------------------------
# pair_balanced
# --------------------------------------------------------------------------

def pair_balanced(n, h, nq, mode):
    """Boundary b_k = the distance whose cumulative pair count is nearest to
    k * total / H (the larger one on a tie), then forced strictly increasing."""
    if n < h:
        return formula_table("exclusive_equal", n, h)
    # cum[b] = pairs with distance < b; scaled by H to stay in integers.
    scaled = [0] + [count_pairs([(0, b)], nq, n, mode) * h
                    for b in range(1, n + 1)]
    total = scaled[n] // h
    bnd = [0] * (h + 1)
    bnd[h] = n
    for k in range(1, h):
        target = k * total
        b = bisect.bisect_left(scaled, target)  # first b with H*cum >= target
        if b > 0 and target - scaled[b - 1] < scaled[b] - target:
            b -= 1
        bnd[k] = b
    force_increasing(bnd)
    return bands_from_boundaries(bnd)


def force_increasing(bnd):
    h = len(bnd) - 1
    for k in range(1, h):
        bnd[k] = max(bnd[k], bnd[k - 1] + 1)
    for k in range(h - 1, 0, -1):
        bnd[k] = min(bnd[k], bnd[k + 1] - 1)


def bands_from_boundaries(bnd):
    return [[(bnd[k], bnd[k + 1])] if bnd[k] < bnd[k + 1] else []
            for k in range(len(bnd) - 1)]


# --------------------------------------------------------------------------
# tile_balanced (same algorithm as lib/Planning/TileBalancing.cpp)
# --------------------------------------------------------------------------

class BandCost:
    def __init__(self, grid, mode):
        self.grid, self.mode = grid, mode

    def cost(self, a, b):
        return self.grid.head_cost(band_pieces(a, b, self.mode))

    def costs_from(self, a, ends):
        """cost(a, b) for every b in `ends` at once (2-D vectorisation)."""
        g = self.grid
        ends = np.asarray(ends, dtype=np.int64)
        p0 = np.broadcast_to(g.p0, (len(ends), g.nqt))
        p1 = np.broadcast_to(g.p1, (len(ends), g.nqt))
        hi = (ends - 1)[:, None]
        # Pieces as arrays: causal one, bidirectional one (a == 0) or two.
        if self.mode == "causal":
            pieces = [(a, hi)]
        elif a == 0:
            pieces = [(-hi, hi)]
        else:
            pieces = [(-hi, -a), (a, hi)]
        full, partial = g.tile_counts(pieces, p0, p1)
        return (W_ITEM * g.nqt + W_FULL * full.sum(axis=1)
                + W_PARTIAL * partial.sum(axis=1)).astype(np.int64)


def cost_change_positions(grid, mode):
    n, tk = grid.nk, grid.tk
    residue = np.zeros(tk, dtype=bool)
    point = np.zeros(n + 1, dtype=bool)

    def mark_points(xs):
        xs = xs[(xs >= 0) & (xs <= n)]
        point[xs] = True

    p0, p1 = grid.p0, grid.p1
    residue[(p0 + 2) % tk] = True
    residue[(p1 + 1) % tk] = True
    if mode == "bidirectional":
        residue[(-p0) % tk] = True
        residue[(1 - p1) % tk] = True
        mark_points(n - p0)
    mark_points(np.array([1]))  # start 0 is special (see lib/Planning/TileBalancing.cpp)
    xs = np.arange(n + 1)
    keep = point | residue[xs % tk]
    keep[0] = keep[n] = True
    return [int(x) for x in xs[keep]]


def tile_balanced_dp(h, model, cells, nqt):
    def expand(per_cell):
        cand = []
        for c in range(len(cells) - 1):
            cand.extend(range(cells[c], min(cells[c + 1], cells[c] + per_cell)))
        cand.append(cells[-1])
        return cand

    def affordable(k):
        return k <= DP_MAX_CANDIDATES and 0.5 * k * k * nqt <= DP_MAX_WORK

    if not affordable(len(expand(1))):
        return None
    lo = hi = 1
    while hi < h and affordable(len(expand(min(2 * hi, h)))):
        lo = hi = min(2 * hi, h)
    hi = min(2 * hi, h)
    while lo < hi:
        mid = lo + (hi - lo + 1) // 2
        if affordable(len(expand(mid))):
            lo = mid
        else:
            hi = mid - 1
    cand = expand(lo)
    k = len(cand)
    if k < h + 1:
        return None

    big = np.iinfo(np.int64).max // 4
    cost = np.full((k, k), big, dtype=np.int64)  # cost[i, j], i < j
    for i in range(k - 1):
        cost[i, i + 1:] = model.costs_from(cand[i], cand[i + 1:])
    valid = np.triu(np.ones((k, k), dtype=bool), 1)

    # Phase 1: smallest maximum.
    prev = np.full(k, big, dtype=np.int64)
    prev[0] = 0
    for _ in range(h):
        m = np.where(valid & (prev[:, None] < big),
                     np.maximum(prev[:, None], cost), big)
        prev = m.min(axis=0)
    best_max = int(prev[k - 1])
    if best_max >= big:
        return None
    # Phase 2: largest minimum with every band <= best_max.
    neg = -big
    prev = np.full(k, neg, dtype=np.int64)
    prev[0] = big
    ok = valid & (cost <= best_max)
    for _ in range(h):
        m = np.where(ok & (prev[:, None] > neg),
                     np.minimum(prev[:, None], cost), neg)
        prev = m.max(axis=0)
    best_min = int(prev[k - 1])
    # Phase 3: most even widths among bands with cost in [best_min, best_max].
    cand_arr = np.asarray(cand, dtype=np.int64)
    width2 = (cand_arr[None, :] - cand_arr[:, None]) ** 2
    ok = valid & (cost <= best_max) & (cost >= best_min)
    prev = np.full(k, big, dtype=np.int64)
    prev[0] = 0
    parents = []
    for _ in range(h):
        m = np.where(ok & (prev[:, None] < big), prev[:, None] + width2, big)
        parents.append(m.argmin(axis=0))  # first minimum, as in C++
        prev = m.min(axis=0)
    if prev[k - 1] >= big:
        return None
    bnd = [0] * (h + 1)
    j = k - 1
    for hh in range(h - 1, -1, -1):
        bnd[hh + 1] = cand[j]
        j = int(parents[hh][j])
    bnd[0] = cand[j]
    return bnd


def spread_within_cells(bnd, cells, model):
    heads = len(bnd) - 1
    cell_end = [0] * (heads + 1)
    for k in range(1, heads):
        cell_end[k] = cells[bisect.bisect_right(cells, bnd[k])]
    cost = [model.cost(bnd[k], bnd[k + 1]) for k in range(heads)]
    for _ in range(8 * heads):
        changed = False
        for k in range(1, heads):
            cell_start = cells[bisect.bisect_right(cells, bnd[k]) - 1]
            lo = max(cell_start, bnd[k - 1] + 1)
            hi = min(cell_end[k] - 1, bnd[k + 1] - 1)
            target = min(max((bnd[k - 1] + bnd[k + 1]) // 2, lo), hi)
            if target == bnd[k]:
                continue
            if (model.cost(bnd[k - 1], target) == cost[k - 1]
                    and model.cost(target, bnd[k + 1]) == cost[k]):
                bnd[k] = target
                changed = True
        if not changed:
            break
    return bnd


def tile_balanced_heuristic(n, h, model, tile_k):
    def furthest_end(a, budget):
        if model.cost(a, n) <= budget:
            return n
        if model.cost(a, a + 1) > budget:
            return -1
        lo, hi = a + 1, n
        while hi - lo > 1:
            mid = lo + (hi - lo) // 2
            if model.cost(a, mid) <= budget:
                lo = mid
            else:
                hi = mid
        return lo

    def sweep(budget):
        bnd, a = [0], 0
        while a < n:
            if len(bnd) > h:
                return None
            a = furthest_end(a, budget)
            if a < 0:
                return None
            bnd.append(a)
        return bnd if len(bnd) - 1 <= h else None

    def largest(b):
        return max(model.cost(b[k], b[k + 1]) for k in range(len(b) - 1))

    lo, hi = 0.0, float(model.cost(0, n))
    bnd, bnd_max = [0, n], hi
    it = 0
    while it < 64 and hi - lo > 1e-7 * hi:
        it += 1
        mid = 0.5 * (lo + hi)
        trial = sweep(mid)
        if trial is not None:
            hi = mid
            m = largest(trial)
            if m <= bnd_max:
                bnd, bnd_max = trial, m
        else:
            lo = mid

    def best_split(a, e):
        lo, hi = a + 1, e - 1
        while lo < hi:
            mid = lo + (hi - lo) // 2
            if model.cost(a, mid) >= model.cost(mid, e):
                hi = mid
            else:
                lo = mid + 1
        best = lo
        best_max = max(model.cost(a, lo), model.cost(lo, e))
        for b in range(max(a + 1, lo - tile_k), min(e - 1, lo + tile_k) + 1):
            m = max(model.cost(a, b), model.cost(b, e))
            if m < best_max:
                best, best_max = b, m
        return best

    while len(bnd) - 1 < h:
        pick, pick_cost = 0, -1
        for k in range(len(bnd) - 1):
            if bnd[k + 1] - bnd[k] < 2:
                continue
            c = model.cost(bnd[k], bnd[k + 1])
            if c > pick_cost:
                pick, pick_cost = k, c
        bnd.insert(pick + 1, best_split(bnd[pick], bnd[pick + 1]))

    for _ in range(4):
        changed = False
        for k in range(1, h):
            a, e = bnd[k - 1], bnd[k + 1]
            if e - a < 2:
                continue
            current = max(model.cost(a, bnd[k]), model.cost(bnd[k], e))
            cand = best_split(a, e)
            if max(model.cost(a, cand), model.cost(cand, e)) < current:
                bnd[k] = cand
                changed = True
        if not changed:
            break
    return bnd


def tile_balanced(n, h, nq, mode, tile_q, tile_k):
    if n < h:
        return formula_table("exclusive_equal", n, h)
    grid = Grid(nq, n, tile_q, tile_k)
    model = BandCost(grid, mode)
    cells = cost_change_positions(grid, mode)
    bnd = tile_balanced_dp(h, model, cells, grid.nqt)
    if bnd is not None:
        bnd = spread_within_cells(bnd, cells, model)
    else:
        bnd = tile_balanced_heuristic(n, h, model, tile_k)
    return bands_from_boundaries(bnd)


def make_table(policy, n, h, mode, nq, tile, window):
    if policy == "pair_balanced":
        return pair_balanced(n, h, nq, mode)
    if policy == "tile_balanced":
        return tile_balanced(n, h, nq, mode, *tile)
    return formula_table(policy, n, h, window)


# --------------------------------------------------------------------------
# Plotting
# --------------------------------------------------------------------------

def read_tables(paths):
    tables = []
    for path in paths:
        text = sys.stdin.read() if path == "-" else open(path).read()
        data = json.loads(text)
        heads = [[(int(lo), int(hi)) for lo, hi in head] for head in data["heads"]]
        name = data.get("policy") or data.get("name") or (
            "stdin" if path == "-" else os.path.basename(path))
        tables.append((name, data.get("mode", "causal"), heads))
    return tables


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seq-len", type=int, required=True, help="N (key length)")
    ap.add_argument("--heads", type=int, required=True, help="H (query heads)")
    ap.add_argument("--policies", default="exclusive_equal,local_plus_band,"
                    "pair_balanced,tile_balanced",
                    help="comma-separated policies: " + ", ".join(POLICIES))
    ap.add_argument("--mode", default="causal",
                    choices=("causal", "bidirectional"))
    ap.add_argument("--query-len", type=int, default=-1,
                    help="Nq for pair counts and tile costs (-1: N)")
    ap.add_argument("--tile", default="128x128",
                    help="query x key tile shape of the cost model")
    ap.add_argument("--window", type=int, default=-1,
                    help="sliding_window's w (-1: per-head W_h)")
    ap.add_argument("--table", action="append", default=[],
                    help="JSON band table to draw (repeatable, '-' = stdin)")
    ap.add_argument("--color-by", default="pairs", choices=("pairs", "cost"))
    ap.add_argument("--out", required=True,
                    help="output path without extension (.png and .svg)")
    ap.add_argument("--print-json", action="store_true",
                    help="also print every table as JSON on stdout")
    args = ap.parse_args(argv)

    n, h = args.seq_len, args.heads
    if n <= 0 or h <= 0:
        ap.error(f"--seq-len and --heads must be positive, got {n} and {h}")
    nq = n if args.query_len == -1 else args.query_len
    if nq <= 0:
        ap.error(f"--query-len must be -1 or positive, got {args.query_len}")
    try:
        tile = tuple(int(x) for x in args.tile.lower().split("x"))
        assert len(tile) == 2 and min(tile) > 0
    except (ValueError, AssertionError):
        ap.error(f"--tile must look like 128x128, got {args.tile!r}")

    policies = [p for p in args.policies.split(",") if p]
    for p in policies:
        if p not in POLICIES:
            ap.error(f"unknown policy {p!r}; choose from {', '.join(POLICIES)}")
    given = {name: (mode, heads) for name, mode, heads in read_tables(args.table)}
    panels = []
    for p in policies:
        if p in given:
            mode, heads = given.pop(p)
        else:
            mode, heads = args.mode, make_table(p, n, h, args.mode, nq, tile,
                                                args.window)
        panels.append((p, mode, heads))
    panels += [(name, mode, heads) for name, (mode, heads) in given.items()]

    grid = Grid(nq, n, *tile)
    stats = []
    for name, mode, heads in panels:
        pairs = [count_pairs(b, nq, n, mode) for b in heads]
        costs = [grid.head_cost(pieces_of(b, mode, nq, n)) / COST_SCALE
                 for b in heads]
        stats.append((pairs, costs))
        if args.print_json:
            print(json.dumps({"policy": name, "mode": mode,
                              "heads": [[list(iv) for iv in b] for b in heads]}))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    values = [s[0] if args.color_by == "pairs" else s[1] for s in stats]
    vmax = max((max(v) for v in values if v), default=1) or 1
    norm = Normalize(vmin=0, vmax=vmax)
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                             figsize=(12, 1.2 + (0.6 + 0.16 * h) * len(panels)),
                             sharex=True, layout="constrained")
    for ax, (name, mode, heads), (pairs, costs), vals in zip(
            axes[:, 0], panels, stats, values):
        for k, bands in enumerate(heads):
            for lo, hi in bands:
                ax.barh(k, hi - lo, left=lo, height=0.8,
                        color=cmap(norm(vals[k])), edgecolor="none")
        nonzero = [p for p in pairs if p > 0]
        pmm = (f"{max(pairs) / min(nonzero):.2f}" if nonzero and
               len(nonzero) == len(pairs) else "inf")
        mean_cost = sum(costs) / len(costs)
        ax.set_title(f"{name} ({mode}): pairs max/min {pmm}, "
                     f"tile-cost max/mean {max(costs) / mean_cost:.3f}, "
                     f"{sum(pairs) / (h * count_pairs([(0, n)], nq, n, 'causal')):.3f}"
                     " of dense", fontsize=9, loc="left")
        ax.set_ylim(len(heads) - 0.5, -0.5)
        ax.set_ylabel("head")
        ax.set_xlim(0, n)
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("distance d = p_i - j" if args.mode == "causal"
                           else "distance d = |p_i - j|")
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    label = ("useful pairs per head" if args.color_by == "pairs"
             else f"estimated cost per head (tile {tile[0]}x{tile[1]})")
    fig.colorbar(sm, ax=axes[:, 0].tolist(), label=label, aspect=40)
    fig.suptitle(f"Band tables, N={n}, H={h}, Nq={nq}", x=0.01, ha="left")

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    for ext in ("png", "svg"):
        fig.savefig(f"{args.out}.{ext}", dpi=150 if ext == "png" else None,
                    bbox_inches="tight")
    print(f"wrote {args.out}.png and {args.out}.svg", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
