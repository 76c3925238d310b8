// MLIR 22 limitation: nvgpu.mma.sync cannot lower bf16 operands. The
// nvgpu -> nvvm pattern derives the PTX operand type from the element type
// and knows f16 but not bf16; it reports an error and leaves the op behind
// (the pass itself still succeeds).
//
// Depends on it: mmaSync() in lib/Conversion/SpaToGPU/SpaToGPU.cpp sends f16
// through nvgpu.mma.sync but bf16 through nvvm.mma.sync, with the fragments
// repacked as i32 pairs by hand (docs/gpu-toolchain.md, section 2).
// When this test fails because bf16 lowers to nvvm.mma.sync: a newer MLIR
// fixed it; mmaSync() can use nvgpu.mma.sync for bf16 too (then delete this
// test).
//
// RUN: mlir-opt %s -split-input-file -convert-nvgpu-to-nvvm -verify-diagnostics \
// RUN:   --mlir-print-op-on-diagnostic=false | FileCheck %s

// CHECK-LABEL: func.func @bf16
// CHECK: nvgpu.mma.sync
func.func @bf16(%a: vector<4x2xbf16>, %b: vector<2x2xbf16>,
                %c: vector<2x2xf32>) -> vector<2x2xf32> {
  // expected-error @+1 {{'nvgpu.mma.sync' op failed to deduce operand PTX types}}
  %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]}
      : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
  return %d : vector<2x2xf32>
}

// -----

// The same tile in f16 lowers (what the generator keeps for f16).
// CHECK-LABEL: func.func @f16
// CHECK-NOT: nvgpu.mma.sync
// CHECK: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @f16(%a: vector<4x2xf16>, %b: vector<2x2xf16>,
               %c: vector<2x2xf32>) -> vector<2x2xf32> {
  %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]}
      : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
  return %d : vector<2x2xf32>
}
