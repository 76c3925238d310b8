// -spa-tensor-map-params: the kernel parameters listed in
// spa.tensor_map_args become 128-byte, 64-byte-aligned byval grid
// constants (what cp.async.bulk.tensor reads a CUtensorMap from), and the
// list is dropped; other parameters and functions are left alone
// (attention-grad-tma.mlir checks NVPTX's `.param .align 64 .b8 [128]`).
// RUN: spa-opt %s -split-input-file -pass-pipeline='builtin.module(gpu.module(spa-tensor-map-params))' -verify-diagnostics | FileCheck %s

// CHECK-LABEL: llvm.func @kernel(
// CHECK-SAME: %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant})
// CHECK-NOT: spa.tensor_map_args
// CHECK-LABEL: llvm.func @plain(
// CHECK-SAME: %{{.*}}: !llvm.ptr)
gpu.module @k {
  llvm.func @kernel(%buffer: !llvm.ptr, %map: !llvm.ptr) attributes {nvvm.kernel, spa.tensor_map_args = array<i32: 1>} {
    nvvm.prefetch tensormap, %map : !llvm.ptr
    llvm.return
  }
  llvm.func @plain(%buffer: !llvm.ptr) attributes {nvvm.kernel} {
    llvm.return
  }
}

// -----

gpu.module @k {
  // expected-error @+1 {{'llvm.func' op spa.tensor_map_args on a function that is not an nvvm.kernel}}
  llvm.func @helper(%map: !llvm.ptr) attributes {spa.tensor_map_args = array<i32: 0>} {
    llvm.return
  }
}

// -----

gpu.module @k {
  // expected-error @+1 {{'llvm.func' op spa.tensor_map_args: argument 2 does not exist (the kernel has 1)}}
  llvm.func @kernel(%map: !llvm.ptr) attributes {nvvm.kernel, spa.tensor_map_args = array<i32: 2>} {
    llvm.return
  }
}

// -----

gpu.module @k {
  // expected-error @+1 {{'llvm.func' op spa.tensor_map_args: argument 0 is 'i64', a tensor map must be !llvm.ptr}}
  llvm.func @kernel(%map: i64) attributes {nvvm.kernel, spa.tensor_map_args = array<i32: 0>} {
    llvm.return
  }
}
