// Diagnostics of -spa-expand-band-bounds.
// RUN: spa-opt %s -spa-expand-band-bounds -verify-diagnostics

// The bounds are materialised per element: the head count is bounded as for
// static planning (this ran out of memory).
func.func @f(%n: index) -> tensor<4294967297x1x2xindex> {
  // expected-error @+1 {{run-time bounds for 4294967297 query heads: at most 1048576 (2^20) are supported}}
  %b = spa.band_bounds #spa.band_policy<causal, exclusive_equal> key_len(%n) : tensor<4294967297x1x2xindex>
  return %b : tensor<4294967297x1x2xindex>
}
