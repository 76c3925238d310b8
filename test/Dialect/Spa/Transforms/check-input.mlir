// -spa-check-input (the first pass of both pipelines) rejects dim ops with
// an out-of-range constant index, which MLIR 22's verifier accepts and its
// canonicalizer crashes on; in-range ones pass unchanged.
// RUN: spa-opt %s -split-input-file -spa-check-input -verify-diagnostics
// RUN: not spa-opt %s -split-input-file --spa-to-llvm-cpu 2>&1 | FileCheck %s --check-prefix=CPU

// CPU: error: 'tensor.dim' op index -1 is out of range for a rank-4 operand (valid: 0..3)
// CPU: error: 'memref.dim' op index 2 is out of range for a rank-2 operand (valid: 0..1)
func.func @negative(%q: tensor<?x2x?x8xf32>) -> index {
  %c = arith.constant -1 : index
  // expected-error @+1 {{'tensor.dim' op index -1 is out of range for a rank-4 operand (valid: 0..3)}}
  %d = tensor.dim %q, %c : tensor<?x2x?x8xf32>
  return %d : index
}

// -----

func.func @past_rank(%m: memref<?x?xf32>) -> index {
  %c = arith.constant 2 : index
  // expected-error @+1 {{'memref.dim' op index 2 is out of range for a rank-2 operand (valid: 0..1)}}
  %d = memref.dim %m, %c : memref<?x?xf32>
  return %d : index
}

// -----

func.func @fine(%m: memref<?x?xf32>, %i: index) -> (index, index) {
  %c = arith.constant 1 : index
  %d = memref.dim %m, %c : memref<?x?xf32>
  %e = memref.dim %m, %i : memref<?x?xf32>
  return %d, %e : index, index
}
