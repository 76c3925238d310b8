// The whole GPU pipeline on sm_90a with the default mma = auto: bf16,
// D = 128 takes the wgmma kernel. PTX here (no ptxas needed); the escaped
// string is split at its newlines.
// RUN: spa-opt %s --spa-to-nvvm="format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s

// D = 128: one K and one V buffer (a ring would leave room for two blocks
// per SM only), the tiles copied by TMA on transaction barriers.
// CHECK: gpu.binary @spa_kernels
// CHECK: .target sm_90a
// Dynamic shared memory, 1024-byte aligned for the 128-byte swizzle.
// CHECK: .extern .shared .align 1024 .b8 spa_dynamic_shared[];
// CHECK: .entry spa_attention_0(
// CHECK: .maxntid 128, 1, 1
// Q, K and V by TMA from grid-constant tensor maps, on mbarriers.
// CHECK-DAG: cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// CHECK-DAG: mbarrier.arrive.expect_tx.shared.b64
// CHECK-DAG: mbarrier.try_wait.parity.shared.b64
// Q K^T from shared memory (descriptors for A and B, B K-major) ...
// CHECK-DAG: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}, %rd{{[0-9]+}}, %rd{{[0-9]+}}, p, 1, 1, 0, 0;
// ... P V with P in four registers, V transposed (MN-major): one wgmma as
// wide as D a k step (the descriptor's leading byte offset spans V's two
// 64-column blocks), not two 64-column halves.
// CHECK-NOT: m64n64k16.f32.bf16.bf16 {{.*}}, {%r
// CHECK-DAG: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd{{[0-9]+}}, p, 1, 1, 1;
// CHECK-DAG: wgmma.fence.sync.aligned;
// CHECK-DAG: wgmma.commit_group.sync.aligned;
// CHECK-DAG: wgmma.wait_group.sync.aligned 0;
// CHECK-DAG: ex2.approx.ftz.f32
// CHECK-DAG: shfl.sync.bfly
func.func @layer(%q: tensor<1x4x130x128xbf16>, %k: tensor<1x2x130x128xbf16>,
                 %v: tensor<1x2x130x128xbf16>) -> tensor<1x4x130x128xbf16> {
  %out = tensor.empty() : tensor<1x4x130x128xbf16>
  %o = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %v : tensor<1x4x130x128xbf16>, tensor<1x2x130x128xbf16>, tensor<1x2x130x128xbf16>)
      outs(%out : tensor<1x4x130x128xbf16>) -> tensor<1x4x130x128xbf16>
  return %o : tensor<1x4x130x128xbf16>
}
