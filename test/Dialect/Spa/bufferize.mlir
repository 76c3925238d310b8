// spa.attention bufferizes in place: outputs become the result buffers, and
// the (write-only) init is not copied.
// RUN: spa-opt %s -one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s

// CHECK-LABEL: func.func @layer
// CHECK-SAME: (%[[Q:.*]]: memref<1x2x8x16xf32{{.*}}>, %[[O:.*]]: memref<1x2x8x16xf32{{.*}}>, %[[L:.*]]: memref<1x2x8xf32{{.*}}>)
// CHECK-NOT: memref.copy
// CHECK-NOT: memref.alloc
// CHECK: spa.attention bands(#spa.bands<causal, [0:4], [4:8]>) ins(%[[Q]], %[[Q]], %[[Q]] : {{.*}}) outs(%[[O]], %[[L]] : {{.*}}){{$}}
// CHECK: return %[[O]], %[[L]]
func.func @layer(%q: tensor<1x2x8x16xf32>, %o: tensor<1x2x8x16xf32>, %l: tensor<1x2x8xf32>)
    -> (tensor<1x2x8x16xf32>, tensor<1x2x8xf32>) {
  %0:2 = spa.attention bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
      outs(%o, %l : tensor<1x2x8x16xf32>, tensor<1x2x8xf32>)
      -> tensor<1x2x8x16xf32>, tensor<1x2x8xf32>
  return %0#0, %0#1 : tensor<1x2x8x16xf32>, tensor<1x2x8xf32>
}

// A fresh destination gets an allocation, never a read of garbage.
// CHECK-LABEL: func.func @fresh_destination
// CHECK: %[[ALLOC:.*]] = memref.alloc() {{.*}}: memref<1x1x8x16xf32>
// CHECK-NOT: memref.copy
// CHECK: spa.attention {{.*}} outs(%[[ALLOC]] : memref<1x1x8x16xf32>)
func.func @fresh_destination(%q: tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32> {
  %e = tensor.empty() : tensor<1x1x8x16xf32>
  %0 = spa.attention bands(#spa.band_policy<causal, dense_causal>)
      ins(%q, %q, %q : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>)
      outs(%e : tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return %0 : tensor<1x1x8x16xf32>
}

// spa.attention_grad bufferizes the same way: its three destinations become
// the result buffers, in place.
// CHECK-LABEL: func.func @grad
// CHECK-SAME: (%[[Q:.*]]: memref<1x2x8x16xf32{{.*}}>, %[[L:.*]]: memref<1x2x8xf32{{.*}}>, %[[DQ:.*]]: memref<1x2x8x16xf32{{.*}}>, %[[DK:.*]]: memref<1x2x8x16xf32{{.*}}>, %[[DV:.*]]: memref<1x2x8x16xf32{{.*}}>)
// CHECK-NOT: memref.copy
// CHECK-NOT: memref.alloc
// CHECK: spa.attention_grad bands(#spa.bands<causal, [0:4], [4:8]>) ins(%[[Q]], %[[Q]], %[[Q]], %[[Q]], %[[L]], %[[Q]] : {{.*}}) outs(%[[DQ]], %[[DK]], %[[DV]] : {{.*}}){{$}}
// CHECK: return %[[DQ]], %[[DK]], %[[DV]]
func.func @grad(%q: tensor<1x2x8x16xf32>, %l: tensor<1x2x8xf32>, %dq: tensor<1x2x8x16xf32>,
                %dk: tensor<1x2x8x16xf32>, %dv: tensor<1x2x8x16xf32>)
    -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) {
  %0:3 = spa.attention_grad bands(#spa.bands<causal, [0:4], [4:8]>)
      ins(%q, %q, %q, %q, %l, %q : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8xf32>, tensor<1x2x8x16xf32>)
      outs(%dq, %dk, %dv : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
      -> tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
  return %0#0, %0#1, %0#2 : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
}
