// Buffer layouts convert-spa-to-gpu refuses (BufferLayout.cpp), one case
// each: the kernels get a pointer to the first element (offset 0), read
// rows as contiguous vectors (innermost stride 1), copy 16 bytes at a time
// (other strides multiples of 16 bytes) and must not write one address
// twice (outputs non-overlapping).
// RUN: spa-opt %s -convert-spa-to-gpu -split-input-file -verify-diagnostics

#bands = #spa.bands<causal, [0:4], [4:8]>

func.func @dynamic_stride(%q: memref<1x2x8x64xbf16, strided<[?, 64, 128, 1]>>,
                          %k: memref<1x2x8x64xbf16>, %o: memref<1x2x8x64xbf16>) {
  // expected-error @+1 {{the GPU path needs an identity layout or a strided layout with static strides and offset 0 (the kernel gets a pointer to the first element); query is 'memref<1x2x8x64xbf16, strided<[?, 64, 128, 1]>>'}}
  spa.attention bands(#bands)
      ins(%q, %k, %k : memref<1x2x8x64xbf16, strided<[?, 64, 128, 1]>>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>)
      outs(%o : memref<1x2x8x64xbf16>)
  return
}

// -----

#bands = #spa.bands<causal, [0:4], [4:8]>

func.func @offset(%q: memref<1x2x8x64xbf16>, %v: memref<1x2x8x64xbf16, strided<[1024, 64, 128, 1], offset: 8>>,
                  %o: memref<1x2x8x64xbf16>) {
  // expected-error @+1 {{the GPU path needs an identity layout or a strided layout with static strides and offset 0 (the kernel gets a pointer to the first element); value is 'memref<1x2x8x64xbf16, strided<[1024, 64, 128, 1], offset: 8>>'}}
  spa.attention bands(#bands)
      ins(%q, %q, %v : memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16, strided<[1024, 64, 128, 1], offset: 8>>)
      outs(%o : memref<1x2x8x64xbf16>)
  return
}

// -----

#bands = #spa.bands<causal, [0:4], [4:8]>

func.func @column_stride(%q: memref<1x2x8x64xbf16>, %k: memref<1x2x8x64xbf16, strided<[1024, 1, 128, 2]>>,
                         %o: memref<1x2x8x64xbf16>) {
  // expected-error @+1 {{key has strides [1024, 1, 128, 2]: the GPU kernels read and write rows as contiguous vectors, so the innermost stride must be 1}}
  spa.attention bands(#bands)
      ins(%q, %k, %q : memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16, strided<[1024, 1, 128, 2]>>, memref<1x2x8x64xbf16>)
      outs(%o : memref<1x2x8x64xbf16>)
  return
}

// -----

#bands = #spa.bands<causal, [0:4], [4:8]>

func.func @negative(%q: memref<1x2x8x64xbf16, strided<[1024, -512, 64, 1]>>, %o: memref<1x2x8x64xbf16>) {
  // expected-error @+1 {{query has strides [1024, -512, 64, 1]: the GPU path needs nonnegative strides}}
  spa.attention bands(#bands)
      ins(%q, %q, %q : memref<1x2x8x64xbf16, strided<[1024, -512, 64, 1]>>, memref<1x2x8x64xbf16, strided<[1024, -512, 64, 1]>>, memref<1x2x8x64xbf16, strided<[1024, -512, 64, 1]>>)
      outs(%o : memref<1x2x8x64xbf16>)
  return
}

// -----

// A token stride of 196 bf16 (392 bytes): the rows' 16-byte chunks would
// be misaligned.
#bands = #spa.bands<causal, [0:4], [4:8]>

func.func @row_stride(%q: memref<1x2x8x64xbf16, strided<[1568, 64, 196, 1]>>, %k: memref<1x2x8x64xbf16>,
                      %o: memref<1x2x8x64xbf16>) {
  // expected-error @+1 {{query has strides [1568, 64, 196, 1]: stride 196 of dimension 2 is not a multiple of 8 elements (16 bytes of 'bf16'), so the kernels' 16-byte vector and cp.async copies would be misaligned; pad the rows or copy the buffer into a contiguous one}}
  spa.attention bands(#bands)
      ins(%q, %k, %k : memref<1x2x8x64xbf16, strided<[1568, 64, 196, 1]>>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>)
      outs(%o : memref<1x2x8x64xbf16>)
  return
}

// -----

// f32: 4 elements make 16 bytes; a head stride of 66 does not.
#bands = #spa.bands<causal, [0:4], [4:8]>

func.func @head_stride_f32(%q: memref<1x2x8x64xf32>, %v: memref<1x2x8x64xf32, strided<[1024, 66, 128, 1]>>,
                           %o: memref<1x2x8x64xf32>) {
  // expected-error @+1 {{value has strides [1024, 66, 128, 1]: stride 66 of dimension 1 is not a multiple of 4 elements (16 bytes of 'f32')}}
  spa.attention bands(#bands)
      ins(%q, %q, %v : memref<1x2x8x64xf32>, memref<1x2x8x64xf32>, memref<1x2x8x64xf32, strided<[1024, 66, 128, 1]>>)
      outs(%o : memref<1x2x8x64xf32>)
  return
}

// -----

// Two heads written to one place.
#bands = #spa.bands<causal, [0:4], [4:8]>

func.func @overlapping_output(%q: memref<1x2x8x64xbf16>, %o: memref<1x2x8x64xbf16, strided<[512, 0, 64, 1]>>) {
  // expected-error @+1 {{output has strides [512, 0, 64, 1] for shape [1, 2, 8, 64], which map two elements to one address; a buffer the kernels write needs a non-overlapping layout}}
  spa.attention bands(#bands)
      ins(%q, %q, %q : memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>)
      outs(%o : memref<1x2x8x64xbf16, strided<[512, 0, 64, 1]>>)
  return
}

// -----

// Rows overlapping by half a row in the log-sum-exp.
#bands = #spa.bands<causal, [0:4], [4:8]>

func.func @overlapping_lse(%q: memref<1x2x8x64xbf16>, %o: memref<1x2x8x64xbf16>,
                           %l: memref<1x2x8xf32, strided<[16, 4, 1]>>) {
  // expected-error @+1 {{log-sum-exp has strides [16, 4, 1] for shape [1, 2, 8], which map two elements to one address}}
  spa.attention bands(#bands)
      ins(%q, %q, %q : memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>)
      outs(%o, %l : memref<1x2x8x64xbf16>, memref<1x2x8xf32, strided<[16, 4, 1]>>)
  return
}

// -----

// The gradient op's buffers follow the same rules: a key gradient whose
// token stride is 72 bytes apart.
#bands = #spa.bands<causal, [0:4], [4:8]>

func.func @grad(%q: memref<1x2x8x64xbf16>, %lse: memref<1x2x8xf32>,
                %dk: memref<1x2x8x64xbf16, strided<[1024, 36, 128, 1]>>) {
  // expected-error @+1 {{key gradient has strides [1024, 36, 128, 1]: stride 36 of dimension 1 is not a multiple of 8 elements}}
  spa.attention_grad bands(#bands)
      ins(%q, %q, %q, %q, %lse, %q : memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16>, memref<1x2x8xf32>, memref<1x2x8x64xbf16>)
      outs(%q, %dk, %q : memref<1x2x8x64xbf16>, memref<1x2x8x64xbf16, strided<[1024, 36, 128, 1]>>, memref<1x2x8x64xbf16>)
  return
}
