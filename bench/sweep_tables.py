"""Host-side readings of a compiled op's tables for the device probes
(bench/dq_order_probe.py, chunked_backward_probe.py,
preprocess_roofline_probe.py): one kernel's launch.json entry with the
constants CudaLayer uploaded for it, and the key tiles a range of query
rows reaches through a head's intervals (the band geometry of SPEC.md
section 1 for Nq = Nk: key j is reached from row p when p - j is in
[lo, hi), or, bidirectional, j - p too)."""


def kernel_of(layer, role):
    """(launch.json entry, {constant name: device tensor}) of the op's
    kernel `role`; the tensors are what the launcher reads, by address."""
    for meta, constants in zip(layer.kernels, layer._constants):
        if meta.get("role") == role:
            return meta, constants
    raise KeyError(f"no {role} kernel in {[m.get('role') for m in layer.kernels]}")


def reached_key_tiles(intervals, first_row, last_row, seq_len, key_tile,
                      bidirectional=False):
    """The key tiles (of `key_tile` keys) that rows first_row..last_row
    reach through `intervals` ([lo, hi) pairs; empty ones skipped)."""
    tiles = set()
    for lo, hi in intervals:
        if hi <= lo:
            continue
        spans = [(first_row - (hi - 1), last_row - lo)]
        if bidirectional:
            spans.append((first_row + lo, last_row + hi - 1))
        for a, z in spans:
            a, z = max(a, 0), min(z, seq_len - 1)
            if a <= z:
                tiles.update(range(a // key_tile, z // key_tile + 1))
    return tiles
