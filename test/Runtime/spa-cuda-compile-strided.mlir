// spa-cuda-compile of a layer on strided buffers (LayerSpec(layouts=...):
// q, k token-major, v a slice of a fused qkv projection, out and the
// gradients token-major, lse contiguous): launch.json lists every
// argument's strides in elements, which spa.runtime.cuda checks on every
// call and allocates the outputs with.
// REQUIRES: ptxas
// RUN: rm -rf %t && spa-cuda-compile %s -o %t | FileCheck %s --check-prefix=TOOL
// RUN: FileCheck %s --input-file=%t/launch.json --check-prefix=JSON

// TOOL: wrote {{.*}} (cubin {{[0-9]+}} bytes)

// The forward kernel: q, k, v, out as compiled; lse contiguous.
// JSON: "kernels": [
// JSON: "name": "query",
// JSON: "strides": [
// JSON-NEXT: 8192,
// JSON-NEXT: 64,
// JSON-NEXT: 128,
// JSON-NEXT: 1
// JSON: "name": "value",
// JSON: "strides": [
// JSON-NEXT: 24576,
// JSON-NEXT: 64,
// JSON-NEXT: 384,
// JSON-NEXT: 1
// JSON: "name": "output",
// JSON: "strides": [
// JSON-NEXT: 8192,
// JSON-NEXT: 64,
// JSON-NEXT: 128,
// JSON-NEXT: 1
// JSON: "name": "log_sum_exp",
// JSON: "strides": [
// JSON-NEXT: 128,
// JSON-NEXT: 64,
// JSON-NEXT: 1
// JSON: "name": "spa_attention_0",
// The gradient's kernels: the scratch delta contiguous, dv token-major
// (dense, not v's fused-row layout).
// JSON: "name": "delta",
// JSON: "strides": [
// JSON-NEXT: 128,
// JSON-NEXT: 64,
// JSON-NEXT: 1
// JSON: "name": "query_grad",
// JSON: "strides": [
// JSON-NEXT: 8192,
// JSON-NEXT: 64,
// JSON-NEXT: 128,
// JSON-NEXT: 1
// JSON: "name": "spa_attention_grad_1_dq",
// JSON: "name": "value_grad",
// JSON: "strides": [
// JSON-NEXT: 8192,
// JSON-NEXT: 64,
// JSON-NEXT: 128,
// JSON-NEXT: 1
// JSON: "name": "spa_attention_grad_1_dkdv",

func.func @layer(%q: memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, %k: memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, %v: memref<2x2x64x64xbf16, strided<[24576, 64, 384, 1]>>, %o: memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, %l: memref<2x2x64xf32>) {
  spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %v : memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, memref<2x2x64x64xbf16, strided<[24576, 64, 384, 1]>>)
      outs(%o, %l : memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, memref<2x2x64xf32>)
  return
}

func.func @layer_grad(%q: memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, %k: memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, %v: memref<2x2x64x64xbf16, strided<[24576, 64, 384, 1]>>, %o: memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, %lse: memref<2x2x64xf32>, %do: memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, %dq: memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, %dk: memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, %dv: memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>) {
  spa.attention_grad bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %v, %o, %lse, %do : memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, memref<2x2x64x64xbf16, strided<[24576, 64, 384, 1]>>, memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, memref<2x2x64xf32>, memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>)
      outs(%dq, %dk, %dv : memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>, memref<2x2x64x64xbf16, strided<[8192, 64, 128, 1]>>)
  return
}

