// MLIR 22 limitation: nvgpu.warpgroup.mma without {transposeB} (B stored
// [N][K], K-major: the K of Q K^T) emits wgmma with layout B = col but steps
// the B descriptor as if B were MN-major: +128 (2048 bytes, 16 rows of 128
// bytes) per k16 instead of +2 (32 bytes, 16 columns). The wgmma then reads
// past the tile (CUDA_ERROR_ILLEGAL_ADDRESS on the H100,
// docs/gpu-toolchain.md, section 2). With {transposeB} (B[K][N]) the step is
// right.
//
// Depends on it: issueScores() in lib/Conversion/SpaToGPU/SpaToGPU.cpp calls
// nvvm.wgmma.mma_async directly for S = Q K^T and advances hand-built
// descriptors by 32 bytes per 16 columns (descriptor(), advance()).
// When this test fails because the K-major B step becomes +2: a newer MLIR
// fixed it; Q K^T may go through nvgpu.warpgroup.mma (then delete this test).
//
// RUN: mlir-opt %s -convert-nvgpu-to-nvvm | FileCheck %s

!tile = memref<64x64xbf16, #gpu.address_space<workgroup>>
!desc = !nvgpu.warpgroup.descriptor<tensor = !tile>
!acc = !nvgpu.warpgroup.accumulator<fragmented = vector<64x64xf32>>

// CHECK-LABEL: func.func @k_major_b(
// CHECK: %[[B:[0-9]+]] = builtin.unrealized_conversion_cast %arg1 : {{.*}} to i64
// CHECK: %[[A:[0-9]+]] = builtin.unrealized_conversion_cast %arg0 : {{.*}} to i64
// CHECK: nvvm.wgmma.mma_async %[[A]], %[[B]], {{.*}} B[<bf16>, <one>, <col>]
// CHECK: %[[STEP_A:[0-9]+]] = llvm.mlir.constant(2 : i32) : i64
// CHECK: %[[A1:[0-9]+]] = llvm.add %[[A]], %[[STEP_A]] : i64
// CHECK: %[[STEP_B:[0-9]+]] = llvm.mlir.constant(128 : i32) : i64
// CHECK: %[[B1:[0-9]+]] = llvm.add %[[B]], %[[STEP_B]] : i64
// CHECK: nvvm.wgmma.mma_async %[[A1]], %[[B1]],
func.func @k_major_b(%a: !desc, %b: !desc, %acc: !acc) -> !acc {
  %r = nvgpu.warpgroup.mma %a, %b, %acc : !desc, !desc, !acc -> !acc
  return %r : !acc
}
