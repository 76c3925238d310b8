// MLIR 22 limitation: the bare-pointer kernel ABI
// (convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1}) rejects a kernel
// argument without a static shape, even a 1-D memref with unit stride and
// zero offset ("failed to legalize operation 'gpu.func'").
//
// Depends on it: spa-to-nvvm compiles with kernel-bare-ptr-calling-convention=1
// (getGpuBinaryPipelineText in lib/Pipelines/Pipelines.cpp) so that the
// launcher passes one pointer per buffer, and convert-spa-to-gpu
// (lib/Conversion/SpaToGPU/SpaToGPU.cpp) accepts static shapes only ("the
// GPU path needs static shapes").
// When this test fails because the dynamic memref is accepted: a newer MLIR
// passes dynamic memrefs as bare pointers; kernels with dynamic lengths
// would need no other ABI (the generator also bakes the lengths into the
// kernel, so that alone does not lift its restriction). Then delete this
// test.
//
// RUN: mlir-opt %s -split-input-file -verify-diagnostics \
// RUN:   -convert-gpu-to-nvvm="use-bare-ptr-memref-call-conv=1" \
// RUN:   --mlir-print-op-on-diagnostic=false | FileCheck %s

// A static shape becomes one pointer.
// CHECK: llvm.func @static_shape(%{{.*}}: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel}
gpu.module @kernels {
  gpu.func @static_shape(%x: memref<1024xf32>) kernel {
    %c0 = arith.constant 0 : index
    %v = arith.constant 1.0 : f32
    memref.store %v, %x[%c0] : memref<1024xf32>
    gpu.return
  }
}

// -----

// A dynamic shape is rejected.
gpu.module @kernels {
  // expected-error @+1 {{failed to legalize operation 'gpu.func' that was explicitly marked illegal}}
  gpu.func @dynamic_shape(%x: memref<?xf32>) kernel {
    %c0 = arith.constant 0 : index
    %v = arith.constant 1.0 : f32
    memref.store %v, %x[%c0] : memref<?xf32>
    gpu.return
  }
}
