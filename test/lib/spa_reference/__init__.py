"""Independent NumPy float64 reference for spa.attention (SPEC.md section 1)
and its gradients (spa.attention_grad)."""

from .grad import attention_grad_reference, pair_mask
from .reference import (CLOSED_FORM_POLICIES, MODES, attention, band_table,
                        find_bands, max_rel_error, normalize, pair_counts,
                        parse_bands)

__all__ = [
    "CLOSED_FORM_POLICIES", "MODES", "attention", "attention_grad_reference",
    "band_table", "find_bands", "max_rel_error", "normalize", "pair_counts",
    "pair_mask", "parse_bands",
]
