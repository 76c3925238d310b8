// MLIR 22 behaviour: convert-gpu-to-nvvm turns f32 math.exp2 and math.log2
// into calls of libdevice's __nv_exp2f / __nv_log2f, and
// gpu-module-to-binary resolves them only by linking libdevice.10.bc from a
// CUDA toolkit found at compile time (CUDA_ROOT, CUDA_HOME, CUDA_PATH or
// the built-in path). Without one it reports an error and the PTX keeps an
// unresolved call.
//
// Depends on it: Builder::exp2() and the log-sum-exp's log2 in
// lib/Conversion/SpaToGPU/SpaToGPU.cpp emit `ex2.approx.ftz.f32` and
// `lg2.approx.ftz.f32` as nvvm.inline_ptx, so spa-to-nvvm needs no CUDA
// toolkit (docs/benchmarks.md: same speed, toolkit-independent builds).
// When this test fails because math.exp2 / math.log2 lower to NVVM
// intrinsics without libdevice: the inline PTX could go (check that
// exp2(-inf) is still +0, which the masked softmax relies on; then delete
// this test).
//
// RUN: mlir-opt %s -convert-gpu-to-nvvm | FileCheck %s
// RUN: rm -rf %t.no-cuda && mkdir -p %t.no-cuda
// RUN: env CUDA_ROOT=%t.no-cuda mlir-opt %s \
// RUN:   -gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90a cubin-features=+ptx80 cubin-format=isa" 2>&1 \
// RUN:   | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=NO-CUDA

// CHECK-DAG: llvm.func @__nv_exp2f(f32) -> f32
// CHECK-DAG: llvm.func @__nv_log2f(f32) -> f32
// CHECK: llvm.call @__nv_exp2f(
// CHECK: llvm.call @__nv_log2f(

// NO-CUDA: error: LibDevice path: {{.*}}no-cuda/nvvm/libdevice/libdevice.10.bc does not exist or is not a file.
// NO-CUDA: .extern .func {{.*}} __nv_exp2f
// NO-CUDA: call.uni (retval0), __nv_exp2f,
gpu.module @kernels {
  gpu.func @exp2_log2(%data: memref<2xf32>) kernel {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %x = memref.load %data[%c0] : memref<2xf32>
    %e = math.exp2 %x : f32
    %l = math.log2 %x : f32
    memref.store %e, %data[%c0] : memref<2xf32>
    memref.store %l, %data[%c1] : memref<2xf32>
    gpu.return
  }
}
