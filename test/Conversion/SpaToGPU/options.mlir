// convert-spa-to-gpu options: warps per block (16 query rows each) and keys
// per key tile shape the launch, the shared tiles and the loops.
// RUN: spa-opt %s -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -convert-spa-to-gpu="warps=8 tile-k=32" | FileCheck %s
// RUN: not spa-opt %s -one-shot-bufferize="bufferize-function-boundaries" -convert-spa-to-gpu="warps=3" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: spa-opt %s --spa-to-nvvm="format=isa warps=2 tile-k=128" | FileCheck %s --check-prefix=NVVM

// BAD: error: convert-spa-to-gpu: warps must be 1, 2, 4, 8 or 12 and tile-k 16, 32, 64 or 128; got warps = 3, tile-k = 64
// NVVM: gpu.binary @spa_kernels

// 300 query rows in tiles of 128 -> 3 tiles per head, 2 heads.
// CHECK: memref.global "private" constant @spa_attention_0_work : memref<6x3xi32>
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c6, %c1, %c1) threads in (%c256, %c1, %c1)
// One shared buffer of max(128 query rows, 2 x 32 key rows) x (max(D, Dv) + 8).
// CHECK: workgroup(%{{.*}} : memref<128x40xf16, #gpu.address_space<workgroup>> {llvm.align = 128 : i64})
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-SAME: tile = array<i64: 128, 32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32
func.func @layer(%q: tensor<1x2x300x16xf16>, %v: tensor<1x2x300x32xf16>)
    -> tensor<1x2x300x32xf16> {
  %o = tensor.empty() : tensor<1x2x300x32xf16>
  %0 = spa.attention bands(#spa.bands<causal, [0:150], [150:300]>)
      ins(%q, %q, %v : tensor<1x2x300x16xf16>, tensor<1x2x300x16xf16>, tensor<1x2x300x32xf16>)
      outs(%o : tensor<1x2x300x32xf16>) -> tensor<1x2x300x32xf16>
  return %0 : tensor<1x2x300x32xf16>
}
