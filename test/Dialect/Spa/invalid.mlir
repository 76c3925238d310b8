// Every verifier and parser diagnostic of the spa dialect, one case each.
// Valid IR lives in ops.mlir; a new diagnostic gets a new case here.
// RUN: spa-opt %s -split-input-file -verify-diagnostics

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>, %o1: tensor<1x1x8xf32>, %o2: tensor<1x1x8xf32>) {
  // expected-error @+1 {{expects 1 or 2 'outs' operands (output, then optional log-sum-exp), got 3}}
  %r:3 = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0, %o1, %o2 : tensor<1x1x8x16xf32>, tensor<1x1x8xf32>, tensor<1x1x8xf32>) -> tensor<1x1x8x16xf32>, tensor<1x1x8xf32>, tensor<1x1x8xf32>
  return
}

// -----

func.func @f(%q: tensor<*xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{query: expected a ranked tensor or memref, got 'tensor<*xf32>'}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<*xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: memref<1x1x8x16xf32>, %v: memref<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{key is a memref but query is a tensor; all operands must be tensors or all memrefs}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, memref<1x1x8x16xf32>, memref<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x8x16xf32>, %v: tensor<1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{key: expected rank 4 ([B, H, N, D]), got rank 3}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x8x16xf32>, tensor<1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>, %o1: tensor<1x1x8x1xf32>) {
  // expected-error @+1 {{log-sum-exp: expected rank 3 ([B, Hq, Nq]), got rank 4}}
  %r:2 = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0, %o1 : tensor<1x1x8x16xf32>, tensor<1x1x8x1xf32>) -> tensor<1x1x8x16xf32>, tensor<1x1x8x1xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xi32>, %k: tensor<1x1x8x16xi32>, %v: tensor<1x1x8x16xi32>, %o0: tensor<1x1x8x16xi32>) {
  // expected-error @+1 {{query: unsupported element type 'i32'; expected f16, bf16 or f32}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xi32>, tensor<1x1x8x16xi32>, tensor<1x1x8x16xi32>) outs(%o0 : tensor<1x1x8x16xi32>) -> tensor<1x1x8x16xi32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf64>, %k: tensor<1x1x8x16xf64>, %v: tensor<1x1x8x16xf64>, %o0: tensor<1x1x8x16xf64>) {
  // expected-error @+1 {{query: unsupported element type 'f64'; expected f16, bf16 or f32}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf64>, tensor<1x1x8x16xf64>, tensor<1x1x8x16xf64>) outs(%o0 : tensor<1x1x8x16xf64>) -> tensor<1x1x8x16xf64>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf16>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{value: element type 'f16' does not match query element type 'f32'}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf16>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xbf16>) {
  // expected-error @+1 {{output: element type 'bf16' does not match query element type 'f32'}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xbf16>) -> tensor<1x1x8x16xbf16>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>, %o1: tensor<1x1x8xf16>) {
  // expected-error @+1 {{log-sum-exp: expected element type f32, got 'f16'}}
  %r:2 = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0, %o1 : tensor<1x1x8x16xf32>, tensor<1x1x8xf16>) -> tensor<1x1x8x16xf32>, tensor<1x1x8xf16>
  return
}

// -----

func.func @f(%q: tensor<1x?x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x?x8x16xf32>) {
  // expected-error @+1 {{query: dimension 1 (Hq) must be static}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x?x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x?x8x16xf32>) -> tensor<1x?x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x?x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{key: dimension 1 (Hkv) must be static}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x?x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x?xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{query: dimension 3 (D) must be static}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x?xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x?xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{value: dimension 3 (Dv) must be static}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x?xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<2x1x8x16xf32>, %v: tensor<2x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{key: dimension 0 (B) is 2, expected 1 (from query)}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<2x1x8x16xf32>, tensor<2x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{output: dimension 1 (Hq) is 2, expected 1 (from query)}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x2x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{value: dimension 1 (Hkv) is 2, expected 1 (from key)}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x2x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x9x16xf32>) {
  // expected-error @+1 {{output: dimension 2 (Nq) is 9, expected 8 (from query)}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x9x16xf32>) -> tensor<1x1x9x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x7x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{value: dimension 2 (Nk) is 7, expected 8 (from key)}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x7x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x32xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{key: dimension 3 (D) is 32, expected 16 (from query)}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x32xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x32xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{output: dimension 3 (Dv) is 16, expected 32 (from value)}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x32xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>, %o1: tensor<1x1x4xf32>) {
  // expected-error @+1 {{log-sum-exp: dimension 2 (Nq) is 4, expected 8 (from query)}}
  %r:2 = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0, %o1 : tensor<1x1x8x16xf32>, tensor<1x1x4xf32>) -> tensor<1x1x8x16xf32>, tensor<1x1x4xf32>
  return
}

// -----

func.func @f(%q: tensor<1x0x8x16xf32>, %k: tensor<1x0x8x16xf32>, %v: tensor<1x0x8x16xf32>, %o0: tensor<1x0x8x16xf32>) {
  // expected-error @+1 {{head counts must be positive, got Hq = 0, Hkv = 0}}
  %r = spa.attention bands(#spa.band_policy<causal, exclusive_equal>) ins(%q, %k, %v : tensor<1x0x8x16xf32>, tensor<1x0x8x16xf32>, tensor<1x0x8x16xf32>) outs(%o0 : tensor<1x0x8x16xf32>) -> tensor<1x0x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x6x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %o0: tensor<1x6x8x16xf32>) {
  // expected-error @+1 {{query heads (Hq = 6) must be a multiple of key/value heads (Hkv = 4)}}
  %r = spa.attention bands(#spa.band_policy<causal, exclusive_equal>) ins(%q, %k, %v : tensor<1x6x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>) outs(%o0 : tensor<1x6x8x16xf32>) -> tensor<1x6x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x0xf32>, %k: tensor<1x1x8x0xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{query: head dimension D must be positive, got 0}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x0xf32>, tensor<1x1x8x0xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{on tensors expects 1 results (one per 'outs' operand), got 0}}
  spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>)
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{result #0 type 'tensor<1x1x8x16xbf16>' does not match its 'outs' operand type 'tensor<1x1x8x16xf32>'}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xbf16>
  return
}

// -----

func.func @f(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %o0: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{band table has 1 heads, expected 2 (Hq, query dimension 1)}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) ins(%q, %k, %v : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) outs(%o0 : tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{scale must be positive and finite, got -1.000000e+00}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) scale(-1.0) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{scale must be positive and finite, got 0.000000e+00}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) scale(0.0) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

// Scores are scaled in f32: a scale that overflows (or underflows) there is
// rejected rather than giving inf (or flat) scores.
func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{scale 1.000000e+300 does not fit the f32 computation: scale * log2(e) must lie in [1.175494e-38, 3.402823e+38]}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) scale(1.0e300) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %o0: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{scale 1.000000e-300 does not fit the f32 computation}}
  %r = spa.attention bands(#spa.bands<causal, [0:4]>) scale(1.0e-300) ins(%q, %k, %v : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) outs(%o0 : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{attribute 'bands' failed to satisfy constraint}}
  %0 = "spa.attention"(%q, %q, %q, %q) <{bands = 3 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1>}> : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>) {
  // expected-error @+1 {{requires attribute 'bands'}}
  %0 = "spa.attention"(%q, %q, %q, %q) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1>}> : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: memref<1x1x8x16xf32>) {
  // expected-error @+1 {{on memrefs expects no results, got 1}}
  %0 = "spa.attention"(%q, %q, %q, %q) <{bands = #spa.band_policy<causal, dense_causal>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 1>}> : (memref<1x1x8x16xf32>, memref<1x1x8x16xf32>, memref<1x1x8x16xf32>, memref<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return
}

// -----

// expected-error @+1 {{invalid band table: head 0: interval #0 [4, 4) is empty}}
#bad = #spa.bands<causal, [4:4]>

// -----

// expected-error @+1 {{invalid band table: head 0: interval #0 [9, 3) is empty}}
#bad = #spa.bands<causal, [9:3]>

// -----

// expected-error @+1 {{invalid band table: head 1: interval #0 [-2, 3) has a negative bound}}
#bad = #spa.bands<causal, [0:1], [-2:3]>

// -----

// expected-error @+1 {{invalid band table: head 0: intervals #0 [0, 8) and #1 [4, 12) overlap or are unsorted}}
#bad = #spa.bands<causal, [0:8, 4:12]>

// -----

// expected-error @+1 {{invalid band table: head 0: intervals #0 [8, 12) and #1 [0, 4) overlap or are unsorted}}
#bad = #spa.bands<causal, [8:12, 0:4]>

// -----

// expected-error @+1 {{band table must list at least one head}}
#bad = #spa.bands<causal>

// -----

// expected-error @+1 {{unknown band mode 'sideways'; expected 'causal' or 'bidirectional'}}
#bad = #spa.bands<sideways, [0:4]>

// -----

// expected-error @+1 {{expected ':'}}
#bad = #spa.bands<causal, [0, 4]>

// -----

// expected-error @+1 {{expected integer value}}
#bad = #spa.bands<causal, [a:4]>

// -----

// expected-error @+1 {{unknown band policy 'striped'; expected one of exclusive_equal, local_plus_band, gapped_half, sliding_window, dense_causal, pair_balanced, tile_balanced}}
#bad = #spa.band_policy<causal, striped>

// -----

// expected-error @+1 {{sliding window must be >= 0, got -5}}
#bad = #spa.band_policy<causal, sliding_window, window = -5>

// -----

// expected-error @+1 {{'window' applies only to sliding_window, not to exclusive_equal}}
#bad = #spa.band_policy<causal, exclusive_equal, window = 4>

// -----

// expected-error @+1 {{'tile' applies only to tile_balanced, not to pair_balanced}}
#bad = #spa.band_policy<causal, pair_balanced, tile = 64x64>

// -----

// expected-error @+1 {{tile shape must be positive, got 0x64}}
#bad = #spa.band_policy<causal, tile_balanced, tile = 0x64>

// -----

// 0x0 is how the attribute stores "no tile": written out, it must not be
// silently dropped.
// expected-error @+1 {{tile shape must be positive, got 0x0}}
#bad = #spa.band_policy<causal, tile_balanced, tile = 0x0>

// -----

// expected-error @+1 {{expected tile shape as <rows>x<cols>}}
#bad = #spa.band_policy<causal, tile_balanced, tile = 64x64x2>

// -----

// expected-error @+1 {{unexpected or repeated band policy parameter 'window'; expected 'window' or 'tile'}}
#bad = #spa.band_policy<causal, sliding_window, window = 1, window = 2>

// -----

// expected-error @+1 {{unexpected or repeated band policy parameter 'stride'; expected 'window' or 'tile'}}
#bad = #spa.band_policy<causal, sliding_window, stride = 1>

// -----

func.func @f(%q: tensor<1x2x8x16xf32>, %b: tensor<2x1x2xindex>) {
  // expected-error @+1 {{band_bounds requires 'bands' to be the #spa.band_policy they were computed from}}
  %0 = spa.attention bands(#spa.bands<causal, [0:4], [4:8]>) band_bounds(%b : tensor<2x1x2xindex>)
      ins(%q, %q, %q : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
      outs(%q : tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x2x?x16xf32>, %b: tensor<2x1x2xindex>) {
  // expected-error @+1 {{band_bounds: expected shape [2, 2, 2] of index, got 'tensor<2x1x2xindex>'}}
  %0 = spa.attention bands(#spa.band_policy<causal, local_plus_band>) band_bounds(%b : tensor<2x1x2xindex>)
      ins(%q, %q, %q : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>)
      outs(%q : tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x2x?x16xf32>, %b: memref<2x1x2xindex>) {
  // expected-error @+1 {{band_bounds: expected a ranked tensor like the other operands, got 'memref<2x1x2xindex>'}}
  %0 = spa.attention bands(#spa.band_policy<causal, exclusive_equal>) band_bounds(%b : memref<2x1x2xindex>)
      ins(%q, %q, %q : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>)
      outs(%q : tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{pair_balanced has no run-time form; it needs a static key length}}
  %b = spa.band_bounds #spa.band_policy<causal, pair_balanced> key_len(%n) : tensor<4x1x2xindex>
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{result: expected shape [H, 2, 2] with static H > 0 for local_plus_band, got 'tensor<4x1x2xindex>'}}
  %b = spa.band_bounds #spa.band_policy<causal, local_plus_band> key_len(%n) : tensor<4x1x2xindex>
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{result: expected shape [H, 1, 2] with static H > 0 for exclusive_equal, got 'tensor<?x1x2xindex>'}}
  %b = spa.band_bounds #spa.band_policy<causal, exclusive_equal> key_len(%n) : tensor<?x1x2xindex>
  return
}

// -----

// spa.attention_grad shares the forward's verifier; these cases pin what is
// its own: the three destinations and the gradient operands' shapes.
func.func @f(%q: tensor<1x1x8x16xf32>, %l: tensor<1x1x8xf32>) {
  // expected-error @+1 {{expects 3 'outs' operands (query, key and value gradients), got 2}}
  %r:2 = spa.attention_grad bands(#spa.bands<causal, [0:4]>) ins(%q, %q, %q, %q, %l, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8xf32>, tensor<1x1x8x16xf32>) outs(%q, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %l: tensor<1x1x8xf32>, %do: tensor<1x1x7x16xf32>) {
  // expected-error @+1 {{output gradient: dimension 2 (Nq) is 7, expected 8 (from query)}}
  %r:3 = spa.attention_grad bands(#spa.bands<causal, [0:4]>) ins(%q, %q, %q, %q, %l, %do : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8xf32>, tensor<1x1x7x16xf32>) outs(%q, %q, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x2x8x16xf32>, %k: tensor<1x1x8x16xf32>, %l: tensor<1x2x8xf32>) {
  // expected-error @+1 {{key gradient: dimension 1 (Hkv) is 2, expected 1 (from key)}}
  %r:3 = spa.attention_grad bands(#spa.bands<causal, [0:4], [4:8]>) ins(%q, %k, %k, %q, %l, %q : tensor<1x2x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8xf32>, tensor<1x2x8x16xf32>) outs(%q, %q, %k : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %l: tensor<1x1x8xf16>) {
  // expected-error @+1 {{log-sum-exp: expected element type f32, got 'f16'}}
  %r:3 = spa.attention_grad bands(#spa.bands<causal, [0:4]>) ins(%q, %q, %q, %q, %l, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8xf16>, tensor<1x1x8x16xf32>) outs(%q, %q, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %l: tensor<1x1x8xf32>, %dq: tensor<1x1x8x16xbf16>) {
  // expected-error @+1 {{query gradient: element type 'bf16' does not match query element type 'f32'}}
  %r:3 = spa.attention_grad bands(#spa.bands<causal, [0:4]>) ins(%q, %q, %q, %q, %l, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8xf32>, tensor<1x1x8x16xf32>) outs(%dq, %q, %q : tensor<1x1x8x16xbf16>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xbf16>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %l: tensor<1x1x8xf32>) {
  // expected-error @+1 {{band table has 2 heads, expected 1 (Hq, query dimension 1)}}
  %r:3 = spa.attention_grad bands(#spa.bands<causal, [0:4], [4:8]>) ins(%q, %q, %q, %q, %l, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8xf32>, tensor<1x1x8x16xf32>) outs(%q, %q, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %l: tensor<1x1x8xf32>) {
  // expected-error @+1 {{on tensors expects 3 results (one per 'outs' operand), got 0}}
  spa.attention_grad bands(#spa.bands<causal, [0:4]>) ins(%q, %q, %q, %q, %l, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8xf32>, tensor<1x1x8x16xf32>) outs(%q, %q, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>)
  return
}

// -----

func.func @f(%q: tensor<1x1x8x16xf32>, %l: tensor<1x1x8xf32>) {
  // expected-error @+1 {{scale must be positive and finite, got -1}}
  %r:3 = spa.attention_grad bands(#spa.bands<causal, [0:4]>) scale(-1.0) ins(%q, %q, %q, %q, %l, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8xf32>, tensor<1x1x8x16xf32>) outs(%q, %q, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>
  return
}
