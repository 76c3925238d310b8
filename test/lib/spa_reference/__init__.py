"""Independent NumPy float64 reference for spa.attention (SPEC.md section 1)."""

from .reference import (CLOSED_FORM_POLICIES, MODES, attention, band_table,
                        find_bands, max_rel_error, normalize, pair_counts,
                        parse_bands)

__all__ = [
    "CLOSED_FORM_POLICIES", "MODES", "attention", "band_table", "find_bands",
    "max_rel_error", "normalize", "pair_counts", "parse_bands",
]
