// MLIR 22 limitation: inside a gpu.module, convert-gpu-to-nvvm lowers a 1-D
// vector.bitcast but leaves a 2-D one (vector<4x2xbf16> -> vector<4x1xi32>,
// an ldmatrix result seen as i32 registers) unconverted between
// unrealized casts, so the GPU pipeline cannot translate the kernel to LLVM
// IR ("LLVM Translation failed for operation: builtin.unrealized_conversion_cast").
//
// Depends on it: mmaSync() and packProbabilities() in
// lib/Conversion/SpaToGPU/SpaToGPU.cpp repack fragments row by row
// (vector.extract a vector<2xbf16>, bitcast to vector<1xi32>, extract [0]).
// When this test fails because the 2-D bitcast lowers: a newer MLIR fixed
// it; the repacking may bitcast whole fragments (then delete this test).
//
// RUN: mlir-opt %s -convert-gpu-to-nvvm | FileCheck %s
// RUN: not mlir-opt %s \
// RUN:   -gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90a cubin-features=+ptx80 cubin-format=isa" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=PIPELINE

// CHECK-LABEL: llvm.func @rows
// CHECK: llvm.bitcast %{{.*}} : vector<2xbf16> to vector<1xi32>
// CHECK-LABEL: llvm.func @whole
// CHECK: vector.bitcast %{{.*}} : vector<4x2xbf16> to vector<4x1xi32>
// PIPELINE: error: LLVM Translation failed for operation: builtin.unrealized_conversion_cast
gpu.module @kernels {
  gpu.func @rows(%out: memref<1xi32>, %f: vector<4x2xbf16>) kernel {
    %c0 = arith.constant 0 : index
    %row = vector.extract %f[0] : vector<2xbf16> from vector<4x2xbf16>
    %word = vector.bitcast %row : vector<2xbf16> to vector<1xi32>
    %e = vector.extract %word[0] : i32 from vector<1xi32>
    memref.store %e, %out[%c0] : memref<1xi32>
    gpu.return
  }
  gpu.func @whole(%out: memref<1xi32>, %f: vector<4x2xbf16>) kernel {
    %c0 = arith.constant 0 : index
    %words = vector.bitcast %f : vector<4x2xbf16> to vector<4x1xi32>
    %e = vector.extract %words[0, 0] : i32 from vector<4x1xi32>
    memref.store %e, %out[%c0] : memref<1xi32>
    gpu.return
  }
}
