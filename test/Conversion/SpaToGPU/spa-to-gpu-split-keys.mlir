// split-keys = S: S blocks (grid y) share each work item's key tiles and
// store unnormalised partials (m, l in partial_stats, O in partial_out,
// f32) to scratch; a combine kernel (one warp per row) merges them into
// the output and the log-sum-exp.
// RUN: spa-opt %s -split-input-file -verify-diagnostics -convert-spa-to-gpu="split-keys=4" -canonicalize | FileCheck %s
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="split-keys=0" 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="split-keys=65" 2>&1 | FileCheck %s --check-prefix=MANY

// ZERO: error: 'spa.attention' op split-keys must be 1 to 64; got 0
// MANY: error: 'spa.attention' op split-keys must be 1 to 64; got 65

// CHECK-LABEL: func.func @decode
// CHECK: %[[PO:.*]] = memref.alloc() : memref<4x2x4x1x128xf32>
// CHECK: %[[PS:.*]] = memref.alloc() : memref<4x2x4x1x2xf32>
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%c8, %c4, %c1) {{.*}} args(%arg0 : {{.*}}, %arg1 : {{.*}}, %arg2 : {{.*}}, %[[PO]] : memref<4x2x4x1x128xf32>, %[[PS]] : memref<4x2x4x1x2xf32>,
// 2 x 4 rows, 4 rows a block.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0_combine blocks in (%c2, %c1, %c1) threads in (%c128, %c1, %c1) args(%[[PO]] : {{.*}}, %[[PS]] : {{.*}}, %{{.*}} : memref<4x1x2xi32>, %arg3 : memref<2x4x1x128xbf16>, %arg4 : memref<2x4x1xf32>)
// CHECK: memref.dealloc %[[PO]]
// CHECK: gpu.func @spa_attention_0(
// CHECK-SAME: args = ["query", "key", "value", "partial_out", "partial_stats", "bounds", "work",
// CHECK-SAME: grid = array<i64: 8, 4, 1>
// CHECK-SAME: role = "forward"
// The split's share of the range, then the partial stores.
// CHECK: gpu.block_id y
// CHECK: arith.minsi
// CHECK: vector.store %{{.*}}, %arg3[%block_id_y, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] {alignment = 8 : i64} : memref<4x2x4x1x128xf32>, vector<2xf32>
// CHECK: vector.store %{{.*}}, %arg4[%block_id_y, %{{.*}}, %{{.*}}, %{{.*}}, %c0] {alignment = 8 : i64} : memref<4x2x4x1x2xf32>, vector<2xf32>
// CHECK: gpu.func @spa_attention_0_combine(
// CHECK-SAME: args = ["partial_out", "partial_stats", "bounds", "output", "log_sum_exp"]
// CHECK-SAME: grid = array<i64: 2, 1, 1>
// CHECK-SAME: role = "combine"
// CHECK: scf.for %{{.*}} = %c0 to %c4 step %c1
// CHECK: ex2.approx.ftz.f32
// CHECK: memref.store %{{.*}}, %arg3[
// CHECK: lg2.approx.ftz.f32
// CHECK: memref.store %{{.*}}, %arg4[
func.func @decode(%q: memref<2x4x1x128xbf16>, %k: memref<2x2x4096x128xbf16>,
                  %v: memref<2x2x4096x128xbf16>, %o: memref<2x4x1x128xbf16>,
                  %l: memref<2x4x1xf32>) {
  spa.attention bands(#spa.bands<causal, [0:1024], [1024:2048], [2048:3072], [3072:4096]>)
      ins(%q, %k, %v : memref<2x4x1x128xbf16>, memref<2x2x4096x128xbf16>, memref<2x2x4096x128xbf16>)
      outs(%o, %l : memref<2x4x1x128xbf16>, memref<2x4x1xf32>)
  return
}

// -----

// Run-time lengths: the scratch would need sizing per call.
func.func @dynamic(%q: memref<1x2x?x64xbf16>, %o: memref<1x2x?x64xbf16>) {
  // expected-error @+1 {{split-keys > 1 needs static lengths (its scratch buffers are sized at compile time); got Nq, Nk known at run time}}
  spa.attention bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q : memref<1x2x?x64xbf16>, memref<1x2x?x64xbf16>, memref<1x2x?x64xbf16>)
      outs(%o : memref<1x2x?x64xbf16>)
  return
}
