// Diagnostics of convert-spa-to-gpu for spa.attention_grad, one case each.
// RUN: spa-opt %s -convert-spa-to-gpu -split-input-file -verify-diagnostics

func.func @f(%q: memref<1x2x8x64xf32>, %k: memref<1x2x8x64xf32>, %v: memref<1x2x8x64xf32>, %o: memref<1x2x8x64xf32>, %l: memref<1x2x8xf32>, %do: memref<1x2x8x64xf32>) {
  // expected-error @+1 {{f32 gradients are not supported on the GPU yet (the backward kernels take f16 and bf16); use the CPU pipeline or f16/bf16 inputs}}
  spa.attention_grad bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %k, %v, %o, %l, %do : memref<1x2x8x64xf32>, memref<1x2x8x64xf32>, memref<1x2x8x64xf32>, memref<1x2x8x64xf32>, memref<1x2x8xf32>, memref<1x2x8x64xf32>)
      outs(%q, %k, %v : memref<1x2x8x64xf32>, memref<1x2x8x64xf32>, memref<1x2x8x64xf32>)
  return
}

// -----

func.func @f(%q: memref<1x2x8x40xbf16>, %k: memref<1x2x8x40xbf16>, %v: memref<1x2x8x40xbf16>, %o: memref<1x2x8x40xbf16>, %l: memref<1x2x8xf32>, %do: memref<1x2x8x40xbf16>) {
  // expected-error @+1 {{the GPU path needs D and Dv multiples of 16, at most 256; got D = 40, Dv = 40}}
  spa.attention_grad bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %k, %v, %o, %l, %do : memref<1x2x8x40xbf16>, memref<1x2x8x40xbf16>, memref<1x2x8x40xbf16>, memref<1x2x8x40xbf16>, memref<1x2x8xf32>, memref<1x2x8x40xbf16>)
      outs(%q, %k, %v : memref<1x2x8x40xbf16>, memref<1x2x8x40xbf16>, memref<1x2x8x40xbf16>)
  return
}

// -----

func.func @f(%q: memref<1x2x8x64xbf16>, %k: memref<1x2x8x64xbf16>, %v: memref<1x2x8x64xbf16>, %o: memref<1x2x8x64xbf16>, %l: memref<1x2x8xf32>, %do: memref<1x2x8x64xbf16>) {
  // expected-error @+1 {{the GPU path needs a concrete band table with a static key length; run -spa-balance-bands}}
  spa.attention_grad bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %v, %o, %l, %do : memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8xf32>, memref<1x2x8x64xbf16>)
      outs(%q, %k, %v : memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>)
  return
}

// -----

func.func @f(%q: memref<1x2x8x64xbf16>, %k: memref<1x2x0x64xbf16>, %v: memref<1x2x0x64xbf16>, %o: memref<1x2x8x64xbf16>, %l: memref<1x2x8xf32>, %do: memref<1x2x8x64xbf16>) {
  // expected-error @+1 {{the GPU backward kernels need a non-empty batch, query and key sequence; got B = 1, Nq = 8, Nk = 0}}
  spa.attention_grad bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %k, %v, %o, %l, %do : memref<1x2x8x64xbf16>, memref<1x2x0x64xbf16>, memref<1x2x0x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8xf32>, memref<1x2x8x64xbf16>)
      outs(%q, %k, %v : memref<1x2x8x64xbf16>, memref<1x2x0x64xbf16>, memref<1x2x0x64xbf16>)
  return
}
