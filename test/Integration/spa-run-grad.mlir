// spa-run on a module holding a layer and its gradient: the gradient entry
// compiles and runs (random inputs for all six arguments, results written
// as .npy), --print-plan reads its band plan, and --check, which compares
// spa.attention with spa-run's float64 forward reference, refuses it with
// an error instead of checking the wrong thing.
// RUN: rm -rf %t && spa-run %s --entry=layer_grad --seed=3 --print-plan --output-dir=%t | FileCheck %s
// RUN: %python -c "import numpy as n; [print(n.load('%t/result%d.npy' %% i).shape) for i in range(3)]" | FileCheck %s --check-prefix=SHAPES
// RUN: not spa-run %s --entry=layer_grad --check 2>&1 | FileCheck %s --check-prefix=CHECK-REFUSED
// RUN: spa-run %s --entry=layer --check | FileCheck %s --check-prefix=FORWARD

// CHECK: band plan (causal, [0:5], [5:10], [10:15], [15:19])
// CHECK: @layer_grad: compiled in {{.*}} ms, ran in
// SHAPES: (1, 4, 19, 8)
// SHAPES-NEXT: (1, 2, 19, 8)
// SHAPES-NEXT: (1, 2, 19, 4)
// CHECK-REFUSED: --check compares spa.attention with its float64 reference; @layer_grad holds only spa.attention_grad
// FORWARD: PASS

func.func @layer(%q: tensor<1x4x19x8xf32>, %k: tensor<1x2x19x8xf32>, %v: tensor<1x2x19x4xf32>)
    -> (tensor<1x4x19x4xf32>, tensor<1x4x19xf32>) {
  %o = tensor.empty() : tensor<1x4x19x4xf32>
  %l = tensor.empty() : tensor<1x4x19xf32>
  %r:2 = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %v : tensor<1x4x19x8xf32>, tensor<1x2x19x8xf32>, tensor<1x2x19x4xf32>)
      outs(%o, %l : tensor<1x4x19x4xf32>, tensor<1x4x19xf32>) -> tensor<1x4x19x4xf32>, tensor<1x4x19xf32>
  return %r#0, %r#1 : tensor<1x4x19x4xf32>, tensor<1x4x19xf32>
}

func.func @layer_grad(%q: tensor<1x4x19x8xf32>, %k: tensor<1x2x19x8xf32>, %v: tensor<1x2x19x4xf32>,
                      %o: tensor<1x4x19x4xf32>, %lse: tensor<1x4x19xf32>, %do: tensor<1x4x19x4xf32>)
    -> (tensor<1x4x19x8xf32>, tensor<1x2x19x8xf32>, tensor<1x2x19x4xf32>) {
  %dq = tensor.empty() : tensor<1x4x19x8xf32>
  %dk = tensor.empty() : tensor<1x2x19x8xf32>
  %dv = tensor.empty() : tensor<1x2x19x4xf32>
  %r:3 = spa.attention_grad bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %v, %o, %lse, %do : tensor<1x4x19x8xf32>, tensor<1x2x19x8xf32>, tensor<1x2x19x4xf32>,
          tensor<1x4x19x4xf32>, tensor<1x4x19xf32>, tensor<1x4x19x4xf32>)
      outs(%dq, %dk, %dv : tensor<1x4x19x8xf32>, tensor<1x2x19x8xf32>, tensor<1x2x19x4xf32>)
      -> tensor<1x4x19x8xf32>, tensor<1x2x19x8xf32>, tensor<1x2x19x4xf32>
  return %r#0, %r#1, %r#2 : tensor<1x4x19x8xf32>, tensor<1x2x19x8xf32>, tensor<1x2x19x4xf32>
}
