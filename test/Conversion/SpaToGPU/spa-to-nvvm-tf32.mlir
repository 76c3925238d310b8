// f32 inputs: the portable kernel on tf32 tensor cores (mma.sync m16n8k8),
// also under mma = auto on sm_90a (the wgmma kernel takes f16/bf16 only).
// D = 128 f32 tiles do not fit 48 KiB with 64-key tiles: the kernel halves
// tile-k to 32.
// RUN: spa-opt %s --spa-to-nvvm="format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s
// RUN: spa-opt %s -spa-balance-bands -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -convert-spa-to-gpu | FileCheck %s --check-prefix=KERNEL
// RUN: not spa-opt %s -spa-balance-bands -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -convert-spa-to-gpu="mma=wgmma" 2>&1 | FileCheck %s --check-prefix=WGMMA
// RUN: not spa-opt %s -spa-balance-bands -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -convert-spa-to-gpu="warps=8" 2>&1 | FileCheck %s --check-prefix=TOOBIG

// CHECK: .entry spa_attention_0(
// CHECK-NOT: ldmatrix
// CHECK-DAG: mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
// CHECK-DAG: shfl.sync.idx.b32
// CHECK-DAG: ex2.approx.ftz.f32
// The output is stored as f32 pairs, without rounding.
// CHECK-DAG: st.global.v2.{{f32|b32}}

// KERNEL: workgroup(%{{.*}} : memref<64x136xf32, #gpu.address_space<workgroup>> {llvm.align = 128 : i64})
// KERNEL-SAME: mma = "mma.sync"
// KERNEL-SAME: tile = array<i64: 64, 32>
// KERNEL: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32

// 8 warps: 128 query rows of f32 do not fit even with 16-key tiles.
// TOOBIG: error: 'spa.attention' op the f32 (tf32) kernel's shared tile needs 69632 bytes even with tile-k = 16, more than the 48 KiB of static shared memory; use fewer warps
// WGMMA: error: 'spa.attention' op the wgmma kernel does not apply: f32 inputs take the tf32 mma.sync kernel

func.func @layer(%q: tensor<1x4x130x128xf32>, %k: tensor<1x2x130x128xf32>,
                 %v: tensor<1x2x130x128xf32>) -> tensor<1x4x130x128xf32> {
  %out = tensor.empty() : tensor<1x4x130x128xf32>
  %o = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %v : tensor<1x4x130x128xf32>, tensor<1x2x130x128xf32>, tensor<1x2x130x128xf32>)
      outs(%out : tensor<1x4x130x128xf32>) -> tensor<1x4x130x128xf32>
  return %o : tensor<1x4x130x128xf32>
}
