// Sizes -spa-balance-bands refuses with a located error naming the limit
// (spa/Planning/Limits.h) instead of allocating per distance or head without
// bound (these aborted out of memory or ran for minutes).
// RUN: spa-opt %s -spa-balance-bands -split-input-file -verify-diagnostics
// RUN: not spa-opt %s -split-input-file -spa-balance-bands=report -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT

func.func @f(%q: tensor<1x8x8x4xf32>, %k: tensor<1x8x1000000000000x4xf32>) {
  // expected-error @+1 {{cannot plan bands: seqLen must be at most 2147483648 (2^31), got 1000000000000}}
  %0 = spa.attention bands(#spa.band_policy<causal, tile_balanced>)
      ins(%q, %k, %k : tensor<1x8x8x4xf32>, tensor<1x8x1000000000000x4xf32>, tensor<1x8x1000000000000x4xf32>)
      outs(%q : tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4294967297x8x4xf32>) {
  // expected-error @+1 {{cannot plan bands for 4294967297 query heads: band planning takes at most 1048576 (2^20)}}
  %0 = spa.attention bands(#spa.band_policy<causal, dense_causal>)
      ins(%q, %q, %q : tensor<1x4294967297x8x4xf32>, tensor<1x4294967297x8x4xf32>, tensor<1x4294967297x8x4xf32>)
      outs(%q : tensor<1x4294967297x8x4xf32>) -> tensor<1x4294967297x8x4xf32>
  return
}

// -----

// Run-time bounds too are built per head.
func.func @f(%q: tensor<1x4294967297x8x4xf32>, %k: tensor<1x4294967297x?x4xf32>) {
  // expected-error @+1 {{cannot plan bands for 4294967297 query heads: band planning takes at most 1048576 (2^20)}}
  %0 = spa.attention bands(#spa.band_policy<causal, dense_causal>)
      ins(%q, %k, %k : tensor<1x4294967297x8x4xf32>, tensor<1x4294967297x?x4xf32>, tensor<1x4294967297x?x4xf32>)
      outs(%q : tensor<1x4294967297x8x4xf32>) -> tensor<1x4294967297x8x4xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1025x2048x4xf32>) {
  // expected-error @+1 {{cannot plan bands: tile_balanced: numHeads must be at most 1024 (its search time grows with the heads; pair_balanced takes more), got 1025}}
  %0 = spa.attention bands(#spa.band_policy<causal, tile_balanced>)
      ins(%q, %q, %q : tensor<1x1025x2048x4xf32>, tensor<1x1025x2048x4xf32>, tensor<1x1025x2048x4xf32>)
      outs(%q : tensor<1x1025x2048x4xf32>) -> tensor<1x1025x2048x4xf32>
  return
}

// -----

func.func @f(%q: tensor<1x8x2048x4xf32>) {
  // expected-error @+1 {{cannot plan bands: tile.k must be at most 256 (a cost-model tile), got 9223372036854775807}}
  %0 = spa.attention bands(#spa.band_policy<causal, tile_balanced, tile = 64x9223372036854775807>)
      ins(%q, %q, %q : tensor<1x8x2048x4xf32>, tensor<1x8x2048x4xf32>, tensor<1x8x2048x4xf32>)
      outs(%q : tensor<1x8x2048x4xf32>) -> tensor<1x8x2048x4xf32>
  return
}

// -----

// The longest sequence planning takes, 2^31, plans in well under a second
// for every policy (tile_balanced took minutes at N = 10^7).
func.func @f(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x2147483648x4xf32>) {
  %0 = spa.attention bands(#spa.band_policy<causal, tile_balanced>)
      ins(%q, %k, %k : tensor<1x8x1x4xf32>, tensor<1x8x2147483648x4xf32>, tensor<1x8x2147483648x4xf32>)
      outs(%q : tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  %1 = spa.attention bands(#spa.band_policy<bidirectional, pair_balanced>)
      ins(%q, %k, %k : tensor<1x8x1x4xf32>, tensor<1x8x2147483648x4xf32>, tensor<1x8x2147483648x4xf32>)
      outs(%q : tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

// A report schedules every (head, query tile) item: beyond 2^22 of them it
// is refused (N = 2^31 at 8 heads is 2^27 items of 128 rows).
// REPORT: balance-bands-limits.mlir:[[@LINE+2]]:8: error: 'spa.attention' op cannot report on the band plan: a report schedules every (head, query tile) item, at most 4194304 (2^22); Hq x query tiles = 8 x 16777216 is more
func.func @f(%q: tensor<1x8x2147483648x4xf32>) {
  %0 = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %q, %q : tensor<1x8x2147483648x4xf32>, tensor<1x8x2147483648x4xf32>, tensor<1x8x2147483648x4xf32>)
      outs(%q : tensor<1x8x2147483648x4xf32>) -> tensor<1x8x2147483648x4xf32>
  return
}
