// Diagnostics of convert-spa-to-gpu, one case each.
// RUN: spa-opt %s -convert-spa-to-gpu -split-input-file -verify-diagnostics

func.func @f(%q: memref<1x2x8x40xbf16>) {
  // expected-error @+1 {{the GPU path needs D and Dv multiples of 16, at most 256; got D = 40, Dv = 40}}
  spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q : memref<1x2x8x40xbf16>, memref<1x2x8x40xbf16>, memref<1x2x8x40xbf16>)
      outs(%q : memref<1x2x8x40xbf16>)
  return
}

// -----

func.func @f(%q: memref<?x2x8x64xbf16>) {
  // expected-error @+1 {{the GPU path needs static shapes (a forward op may leave dimension 2, the sequence length, dynamic in an identity layout); query is 'memref<?x2x8x64xbf16>'}}
  spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q : memref<?x2x8x64xbf16>, memref<?x2x8x64xbf16>, memref<?x2x8x64xbf16>)
      outs(%q : memref<?x2x8x64xbf16>)
  return
}

// -----

func.func @f(%q: memref<1x2x8x64xbf16>) {
  // expected-error @+1 {{the GPU path needs a concrete band table with a static key length; run -spa-balance-bands}}
  spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %q, %q : memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>)
      outs(%q : memref<1x2x8x64xbf16>)
  return
}

// -----

func.func @f(%q: tensor<1x2x8x64xbf16>) -> tensor<1x2x8x64xbf16> {
  // expected-error @+1 {{convert-spa-to-gpu expects buffers; bufferize first (the spa-to-nvvm pipeline does)}}
  %0 = spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q : tensor<1x2x8x64xbf16>, tensor<1x2x8x64xbf16>, tensor<1x2x8x64xbf16>)
      outs(%q : tensor<1x2x8x64xbf16>) -> tensor<1x2x8x64xbf16>
  return %0 : tensor<1x2x8x64xbf16>
}

// -----

// More intervals per head than the launch contract carries: many-intervals.test.

// The band and work tables are i32.
func.func @f(%q: memref<1x1x1x64xbf16>, %k: memref<1x1x2147483648x64xbf16>) {
  // expected-error @+1 {{Nq = 1 and Nk = 2147483648 must be at most 2147483647: the GPU kernel's band and work tables are i32}}
  spa.attention bands(#spa.bands<causal, [0:2147483648]>)
      ins(%q, %k, %k : memref<1x1x1x64xbf16>, memref<1x1x2147483648x64xbf16>, memref<1x1x2147483648x64xbf16>)
      outs(%q : memref<1x1x1x64xbf16>)
  return
}

// -----

// One block per work item, listed at compile time: checked before the list
// is built (2^22 + 1 items of one 64-row query tile each).
func.func @f(%q: memref<4194305x1x64x64xbf16>) {
  // expected-error @+1 {{B x Hq x query tiles = 4194305 x 1 x 1 = 4194305 work items, more than the 4194304 (2^22) the GPU kernel takes: it launches one block per item and lists them in a constant built at compile time; split the batch or the sequence over several calls}}
  spa.attention bands(#spa.bands<causal, [0:64]>)
      ins(%q, %q, %q : memref<4194305x1x64x64xbf16>, memref<4194305x1x64x64xbf16>, memref<4194305x1x64x64xbf16>)
      outs(%q : memref<4194305x1x64x64xbf16>)
  return
}

// -----

// A count beyond int64 is reported as such, not wrapped.
func.func @f(%q: memref<4611686018427387904x4x64x64xbf16>) {
  // expected-error @+1 {{B x Hq x query tiles = 4611686018427387904 x 4 x 1 = more than 2^63 work items}}
  spa.attention bands(#spa.bands<causal, [0:16], [16:32], [32:48], [48:64]>)
      ins(%q, %q, %q : memref<4611686018427387904x4x64x64xbf16>, memref<4611686018427387904x4x64x64xbf16>, memref<4611686018427387904x4x64x64xbf16>)
      outs(%q : memref<4611686018427387904x4x64x64xbf16>)
  return
}
