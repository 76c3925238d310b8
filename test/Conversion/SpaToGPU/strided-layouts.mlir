// Strided operands on the GPU path (the layouts a PyTorch model passes: q
// and k token-major views of [B, N, H, D], v a slice of a fused qkv
// projection [B, N, 3 H D]), as LayerSpec(layouts=...) writes them: a
// memref-level forward and gradient function that spa-to-nvvm passes
// through bufferization unchanged. The kernels and launches take the
// strided memrefs as they are (bare pointers; the strides are folded into
// the addresses), and the whole pipeline reaches PTX.
// RUN: spa-opt %s -spa-balance-bands -convert-spa-to-gpu | FileCheck %s
// RUN: spa-opt %s --spa-to-nvvm="format=isa" | sed -e 's/\\0A/\n/g' | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func @layer(
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 {{.*}} args(%arg0 : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %arg1 : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %arg2 : memref<2x4x130x64xbf16, strided<[99840, 64, 768, 1]>>, %arg3 : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %arg4 : memref<2x4x130xf32>,
// CHECK-LABEL: func.func @layer_grad(
// The dQ kernel first: Delta from the strided O (%arg3) and dO (%arg5).
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_1_dq {{.*}} args(%arg0 : {{.*}}, %arg5 : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %{{.*}} : memref<2x4x130xf32>, %arg3 : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %arg6 : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>,
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_1_dkdv {{.*}} args(%arg0 : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %arg1 : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %arg2 : memref<2x4x130x64xbf16, strided<[99840, 64, 768, 1]>>, %arg4 : memref<2x4x130xf32>, %arg5 : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %{{.*}} : memref<2x4x130xf32>, %arg7 : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %arg8 : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>,

// CHECK: gpu.func @spa_attention_0(%{{.*}}: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %{{.*}}: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %{{.*}}: memref<2x4x130x64xbf16, strided<[99840, 64, 768, 1]>>, %{{.*}}: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %{{.*}}: memref<2x4x130xf32>,
// The Q/K/V tiles come by TMA from maps of the strided buffers: [D, N, H, B]
// with the views' byte strides (tokens 512 B apart, heads 128 B, batches
// 66560 B; v's tokens 1536 B, its batches 199680 B).
// CHECK-SAME: dims = array<i64: 64, 130, 4, 2>, {{.*}}name = "query_map", of = "query", oob_fill = "zero", strides_bytes = array<i64: 512, 128, 66560>
// CHECK-SAME: name = "value_map", of = "value", oob_fill = "zero", strides_bytes = array<i64: 1536, 128, 199680>
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: gpu.func @spa_attention_grad_1_dq(%{{.*}}: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %{{.*}}: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %{{.*}}: memref<2x4x130x64xbf16, strided<[99840, 64, 768, 1]>>, %{{.*}}: memref<2x4x130xf32>, %{{.*}}: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %{{.*}}: memref<2x4x130xf32>, %{{.*}}: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>
// CHECK: vector.load {{.*}} : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, vector<8xbf16>
// CHECK: gpu.func @spa_attention_grad_1_dkdv(

// One entry per kernel; the forward reads through its three maps
// (grid-constant parameters) and stores O through the strided pointer: its
// tokens 256 elements (512 bytes) apart.
// PTX: .entry spa_attention_0(
// PTX: .param .align 64 .b8 spa_attention_0_param_{{[0-9]+}}[128]
// PTX: cp.async.bulk.tensor.4d
// PTX: .entry spa_attention_grad_1_dq(
// PTX: .entry spa_attention_grad_1_dkdv(

func.func @layer(%q: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %k: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %v: memref<2x4x130x64xbf16, strided<[99840, 64, 768, 1]>>, %o: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %l: memref<2x4x130xf32>) {
  spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %k, %v : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, memref<2x4x130x64xbf16, strided<[99840, 64, 768, 1]>>)
      outs(%o, %l : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, memref<2x4x130xf32>)
  return
}

func.func @layer_grad(%q: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %k: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %v: memref<2x4x130x64xbf16, strided<[99840, 64, 768, 1]>>, %o: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %lse: memref<2x4x130xf32>, %do: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %dq: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %dk: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, %dv: memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>) {
  spa.attention_grad bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %k, %v, %o, %lse, %do : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, memref<2x4x130x64xbf16, strided<[99840, 64, 768, 1]>>, memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, memref<2x4x130xf32>, memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>)
      outs(%dq, %dk, %dv : memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>, memref<2x4x130x64xbf16, strided<[33280, 64, 256, 1]>>)
  return
}

