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

func.func @f(%q: memref<1x2x?x64xbf16>) {
  // expected-error @+1 {{the GPU path needs static shapes and identity layouts, got 'memref<1x2x?x64xbf16>'}}
  spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q : memref<1x2x?x64xbf16>, memref<1x2x?x64xbf16>, memref<1x2x?x64xbf16>)
      outs(%q : memref<1x2x?x64xbf16>)
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

// One key loop per interval: 65 would compile for over 17 s.
func.func @f(%q: memref<1x1x256x64xbf16>) {
  // expected-error @+1 {{head 0 has 65 intervals, more than the 64 per head the GPU kernel takes: it compiles one key loop per interval, and compile time grows with each; merge intervals or use the CPU pipeline}}
  spa.attention bands(#spa.bands<causal, [0:1, 2:3, 4:5, 6:7, 8:9, 10:11, 12:13, 14:15, 16:17, 18:19, 20:21, 22:23, 24:25, 26:27, 28:29, 30:31, 32:33, 34:35, 36:37, 38:39, 40:41, 42:43, 44:45, 46:47, 48:49, 50:51, 52:53, 54:55, 56:57, 58:59, 60:61, 62:63, 64:65, 66:67, 68:69, 70:71, 72:73, 74:75, 76:77, 78:79, 80:81, 82:83, 84:85, 86:87, 88:89, 90:91, 92:93, 94:95, 96:97, 98:99, 100:101, 102:103, 104:105, 106:107, 108:109, 110:111, 112:113, 114:115, 116:117, 118:119, 120:121, 122:123, 124:125, 126:127, 128:129]>)
      ins(%q, %q, %q : memref<1x1x256x64xbf16>, memref<1x1x256x64xbf16>, memref<1x1x256x64xbf16>)
      outs(%q : memref<1x1x256x64xbf16>)
  return
}

// -----

// Bidirectional: a loop per interval and side.
func.func @f(%q: memref<1x2x256x64xbf16>) {
  // expected-error @+1 {{head 1 has 33 intervals, more than the 32 per head the GPU kernel takes in bidirectional mode: it compiles one key loop per interval and side, and compile time grows with each; merge intervals or use the CPU pipeline}}
  spa.attention bands(#spa.bands<bidirectional, [0:8], [0:1, 2:3, 4:5, 6:7, 8:9, 10:11, 12:13, 14:15, 16:17, 18:19, 20:21, 22:23, 24:25, 26:27, 28:29, 30:31, 32:33, 34:35, 36:37, 38:39, 40:41, 42:43, 44:45, 46:47, 48:49, 50:51, 52:53, 54:55, 56:57, 58:59, 60:61, 62:63, 64:65]>)
      ins(%q, %q, %q : memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>)
      outs(%q : memref<1x2x256x64xbf16>)
  return
}

// -----

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
