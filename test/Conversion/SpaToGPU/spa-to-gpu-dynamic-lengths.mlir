// Run-time lengths: a forward op whose Nq and Nk are `?` (bands: a policy
// with its spa.band_bounds) gets one kernel for every length. The host
// converts the bounds to the i32 table, passes each buffer as a pointer to
// its first element and Nq, Nk as i64, and computes the grid; the kernel
// views its buffers with the lengths and needs no work list. The contract
// marks what the launcher fills in per call (-1).
// RUN: spa-opt %s -split-input-file -verify-diagnostics -convert-spa-to-gpu | FileCheck %s

// CHECK-NOT: memref.global{{.*}}_work
// CHECK-LABEL: func.func @layer
// CHECK: memref.alloc() : memref<2x1x2xi32>
// CHECK: arith.index_cast {{.*}} : index to i32
// CHECK: memref.reinterpret_cast %arg0 to offset: [0], sizes: [1], strides: [1] : memref<1x2x?x128xbf16> to memref<1xbf16>
// CHECK: %[[NQ:.*]] = memref.dim %arg0, %{{.*}} : memref<1x2x?x128xbf16>
// CHECK: %[[NK:.*]] = memref.dim %arg1, %{{.*}} : memref<1x1x?x128xbf16>
// CHECK: %[[NQ64:.*]] = arith.index_cast %[[NQ]] : index to i64
// CHECK: %[[NK64:.*]] = arith.index_cast %[[NK]] : index to i64
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) {{.*}} args({{.*}} : memref<2x1x2xi32>, %[[NQ64]] : i64, %[[NK64]] : i64, {{.*}} : !llvm.ptr
// CHECK: gpu.func @spa_attention_0(%arg0: memref<1xbf16>, %arg1: memref<1xbf16>, %arg2: memref<1xbf16>, %arg3: memref<1xbf16>, %arg4: memref<1xf32>, %arg5: memref<2x1x2xi32>, %arg6: i64, %arg7: i64,
// CHECK-SAME: arg_types = [memref<1x2x?x128xbf16>, memref<1x1x?x128xbf16>, memref<1x1x?x128xbf16>, memref<1x2x?x128xbf16>, memref<1x2x?xf32>, memref<2x1x2xi32>, i64, i64,
// CHECK-SAME: args = ["query", "key", "value", "output", "log_sum_exp", "bounds", "query_len", "key_len", "query_map", "key_map", "value_map"]
// CHECK-SAME: bands = #spa.band_policy<causal, exclusive_equal>
// CHECK-SAME: grid = array<i64: -1, 1, 1>
// CHECK-SAME: dims = array<i64: 128, -1, 2, 1>
// CHECK-SAME: strides_bytes = array<i64: 256, -1, -1>
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [1, 2, %{{.*}}, 128], strides: [%{{.*}}, %{{.*}}, 128, 1] : memref<1xbf16> to memref<1x2x?x128xbf16>
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [1, 2, %{{.*}}], strides: [%{{.*}}, %{{.*}}, 1] : memref<1xf32> to memref<1x2x?xf32>
// CHECK: gpu.block_id x
// CHECK-NOT: memref.load %{{.*}} : memref<{{[0-9]+}}x3xi32>
func.func @layer(%q: memref<1x2x?x128xbf16>, %k: memref<1x1x?x128xbf16>,
                 %v: memref<1x1x?x128xbf16>, %o: memref<1x2x?x128xbf16>,
                 %l: memref<1x2x?xf32>, %b: memref<2x1x2xindex>) {
  spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      band_bounds(%b : memref<2x1x2xindex>)
      ins(%q, %k, %v : memref<1x2x?x128xbf16>, memref<1x1x?x128xbf16>, memref<1x1x?x128xbf16>)
      outs(%o, %l : memref<1x2x?x128xbf16>, memref<1x2x?xf32>)
  return
}

// -----

// Only the sequence length may be left to run time.
func.func @dynamic_batch(%q: memref<?x2x64x64xbf16>, %o: memref<?x2x64x64xbf16>) {
  // expected-error @+1 {{the GPU path needs static shapes (a forward op may leave dimension 2, the sequence length, dynamic in an identity layout); query is 'memref<?x2x64x64xbf16>'}}
  spa.attention bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q : memref<?x2x64x64xbf16>, memref<?x2x64x64xbf16>, memref<?x2x64x64xbf16>)
      outs(%o : memref<?x2x64x64xbf16>)
  return
}

// -----

// The gradient op keeps static shapes on the GPU.
func.func @grad(%q: memref<1x2x?x64xbf16>, %l: memref<1x2x?xf32>) {
  // expected-error @+1 {{the GPU path needs static shapes (a forward op may leave dimension 2, the sequence length, dynamic in an identity layout); query is 'memref<1x2x?x64xbf16>'}}
  spa.attention_grad bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q, %q, %l, %q : memref<1x2x?x64xbf16>, memref<1x2x?x64xbf16>, memref<1x2x?x64xbf16>, memref<1x2x?x64xbf16>, memref<1x2x?xf32>, memref<1x2x?x64xbf16>)
      outs(%q, %q, %q : memref<1x2x?x64xbf16>, memref<1x2x?x64xbf16>, memref<1x2x?x64xbf16>)
  return
}
