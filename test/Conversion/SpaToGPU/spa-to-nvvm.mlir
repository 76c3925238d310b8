// The whole GPU pipeline: policy -> table -> kernel -> NVVM -> gpu.binary
// (PTX here, so the test needs no ptxas), on the portable mma.sync kernel;
// f16 goes through nvgpu.mma.sync (spa-to-nvvm-wgmma.mlir: the sm_90a kernel).
// The PTX is printed as one escaped string; split it at its newlines.
// RUN: spa-opt %s --spa-to-nvvm="format=isa mma=mma.sync" | sed -e 's/\\0A/\n/g' | FileCheck %s

// CHECK: gpu.binary @spa_kernels
// CHECK-SAME: #gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">
// CHECK: .target sm_90a
// CHECK: .entry spa_attention_0(
// CHECK: .maxntid 128, 1, 1
// Q fragments (x4), K fragments (x2), tensor cores, exp2 softmax with quad
// shuffles, V through ldmatrix.trans (LLVM's block order, not program order).
// CHECK-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK-DAG: ldmatrix.sync.aligned.m8n8.x2.shared.b16
// CHECK-DAG: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-DAG: shfl.sync.bfly
// CHECK-DAG: ex2.approx.ftz.f32
// CHECK-DAG: ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16
func.func @layer(%q: tensor<1x4x130x64xf16>, %k: tensor<1x2x130x64xf16>, %v: tensor<1x2x130x64xf16>)
    -> tensor<1x4x130x64xf16> {
  %o = tensor.empty() : tensor<1x4x130x64xf16>
  %0 = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %k, %v : tensor<1x4x130x64xf16>, tensor<1x2x130x64xf16>, tensor<1x2x130x64xf16>)
      outs(%o : tensor<1x4x130x64xf16>) -> tensor<1x4x130x64xf16>
  return %0 : tensor<1x4x130x64xf16>
}
