// MLIR 22 limitation: nvvm.wgmma.mma_async takes its A operand only as a
// 64-bit shared-memory matrix descriptor; PTX's register-A form
// (`wgmma.mma_async ... {d}, {a0, a1, a2, a3}, desc_b, ...`) has no op.
//
// Depends on it: issueValues() in lib/Conversion/SpaToGPU/SpaToGPU.cpp
// computes O += P V with P in registers through llvm.inline_asm of the
// register-A wgmma (docs/gpu-toolchain.md, section 7).
// When this test fails because A in registers is accepted: a newer MLIR
// has the register-A form; issueValues() may use it instead of inline PTX
// (then delete this test).
//
// RUN: mlir-opt %s -split-input-file -verify-diagnostics

!acc = !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32,
                     f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)>

// A as a descriptor (what Q K^T uses): accepted.
func.func @a_from_shared(%descA: i64, %descB: i64, %acc: !acc) -> !acc {
  %r = nvvm.wgmma.mma_async %descA, %descB, %acc, <m = 64, n = 64, k = 16>,
      D[<f32>, <one>, <wrapped>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
      : !acc -> !acc
  return %r : !acc
}

// -----

!acc = !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32,
                     f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)>
!fragment = !llvm.struct<(i32, i32, i32, i32)>

// A as four registers of packed bf16 pairs (what P V needs): rejected.
func.func @a_from_registers(%a: !fragment, %descB: i64, %acc: !acc) -> !acc {
  // expected-error @+1 {{'nvvm.wgmma.mma_async' op operand #1 must be 64-bit signless integer, but got '!llvm.struct<(i32, i32, i32, i32)>'}}
  %r = "nvvm.wgmma.mma_async"(%acc, %a, %descB) <{
      shape = #nvvm.shape<m = 64, n = 64, k = 16>,
      typeA = #nvvm.wgmma_type<bf16>, typeB = #nvvm.wgmma_type<bf16>,
      typeD = #nvvm.wgmma_type<f32>, scaleD = #nvvm.wgmma_scale_out<one>,
      scaleA = #nvvm.wgmma_scale_in<one>, scaleB = #nvvm.wgmma_scale_in<one>,
      layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<row>}>
      : (!acc, !fragment, i64) -> !acc
  return %r : !acc
}
