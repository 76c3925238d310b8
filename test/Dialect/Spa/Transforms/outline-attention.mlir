// -spa-outline-attention: each spa.attention / spa.attention_grad of @f
// moves into `func.func private @f_attention_<i>` (bands, scale and
// location kept, tensor.empty destinations) and is called where it was.
// The output parses again, and a second run changes nothing.
// RUN: spa-opt %s -spa-outline-attention -split-input-file -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s
// RUN: spa-opt %s -spa-outline-attention -split-input-file | spa-opt -split-input-file | FileCheck %s --check-prefix=ROUND
// RUN: spa-opt %s -spa-outline-attention -split-input-file > %t.once
// RUN: spa-opt %s -spa-outline-attention -spa-outline-attention -split-input-file > %t.twice
// RUN: diff %t.once %t.twice

// Two ops with different bands in one function, one in another function;
// the projections around them stay where they are.
// CHECK-LABEL: func.func @main(
// CHECK-SAME:      %[[X:.*]]: tensor<1x2x16x8xf32>
// CHECK:         %[[Q:.*]] = arith.addf %[[X]], %[[X]]
// CHECK:         %[[A:.*]]:2 = call @main_attention_0(%[[Q]], %[[X]], %[[X]]) : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>) loc("model.py":10:3)
// CHECK:         %[[B:.*]] = call @main_attention_1(%[[A]]#0, %[[X]], %[[X]]) : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> loc("model.py":11:3)
// CHECK-NOT:     spa.attention
// CHECK:         return %[[B]], %[[A]]#1
// CHECK:       func.func private @main_attention_0(%[[AQ:.*]]: tensor<1x2x16x8xf32> {{.*}}, %[[AK:.*]]: tensor<1x2x16x8xf32> {{.*}}, %[[AV:.*]]: tensor<1x2x16x8xf32> {{.*}}) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>) attributes {spa.outlined} {
// CHECK-NEXT:    %[[E0:.*]] = tensor.empty() : tensor<1x2x16x8xf32>
// CHECK-NEXT:    %[[E1:.*]] = tensor.empty() : tensor<1x2x16xf32>
// CHECK-NEXT:    %[[R:.*]]:2 = spa.attention bands(#spa.band_policy<causal, local_plus_band>) scale(3.000000e-01) ins(%[[AQ]], %[[AK]], %[[AV]] : {{.*}}) outs(%[[E0]], %[[E1]] : tensor<1x2x16x8xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x8xf32>, tensor<1x2x16xf32> loc("model.py":10:3)
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1
// CHECK-NEXT:  } loc("model.py":10:3)
// CHECK:       func.func private @main_attention_1(
// CHECK-SAME:      -> tensor<1x2x16x8xf32> attributes {spa.outlined}
// CHECK:         spa.attention bands(#spa.bands<bidirectional, [0:4], [4:16]>) ins(%arg0, %arg1, %arg2
// CHECK-LABEL: func.func @other(
// CHECK:         call @other_attention_0(
// CHECK:       func.func private @other_attention_0(

// ROUND-LABEL: func.func @main(
// ROUND:       func.func private @main_attention_0(
// ROUND:       func.func private @main_attention_1(
// ROUND:       func.func @other(
// ROUND:       func.func private @other_attention_0(
func.func @main(%x: tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>) {
  %q = arith.addf %x, %x : tensor<1x2x16x8xf32>
  %e = tensor.empty() : tensor<1x2x16x8xf32>
  %l = tensor.empty() : tensor<1x2x16xf32>
  %a:2 = spa.attention bands(#spa.band_policy<causal, local_plus_band>) scale(0.3)
      ins(%q, %x, %x : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
      outs(%e, %l : tensor<1x2x16x8xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x8xf32>, tensor<1x2x16xf32> loc("model.py":10:3)
  %b = spa.attention bands(#spa.bands<bidirectional, [0:4], [4:16]>)
      ins(%a#0, %x, %x : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
      outs(%x : tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> loc("model.py":11:3)
  return %b, %a#1 : tensor<1x2x16x8xf32>, tensor<1x2x16xf32>
}
func.func @other(%x: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %b = spa.attention bands(#spa.bands<causal, [0:4], [4:16]>)
      ins(%x, %x, %x : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
      outs(%x : tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %b : tensor<1x2x16x8xf32>
}

// -----

// A taken name is skipped; dynamic B and N come from tensor.dim of the
// query (output) or of query/key/value (gradients).
// CHECK-LABEL: func.func @g(
// CHECK:         call @g_attention_1(
// The gradient's inputs are also its destinations here: the clone reads
// the arguments and writes fresh tensors.
// CHECK:       func.func private @g_attention_1(%[[Q:[^:]*]]: tensor<?x2x?x8xf16>{{.*}}, %[[K:[^:]*]]: tensor<?x1x?x8xf16>{{.*}}, %[[V:[^:]*]]: tensor<?x1x?x8xf16>{{.*}}, %[[O:[^:]*]]: tensor<?x2x?x8xf16>{{.*}}, %[[L:[^:]*]]: tensor<?x2x?xf32>{{.*}}, %[[DO:[^:]*]]: tensor<?x2x?x8xf16>
// CHECK:         %[[B:.*]] = tensor.dim %[[Q]], %{{.*}}
// CHECK:         %[[N:.*]] = tensor.dim %[[Q]], %{{.*}}
// CHECK:         %[[EQ:.*]] = tensor.empty(%[[B]], %[[N]]) : tensor<?x2x?x8xf16>
// CHECK:         %[[KB:.*]] = tensor.dim %[[K]], %{{.*}}
// CHECK:         %[[KN:.*]] = tensor.dim %[[K]], %{{.*}}
// CHECK:         %[[EK:.*]] = tensor.empty(%[[KB]], %[[KN]]) : tensor<?x1x?x8xf16>
// CHECK:         %[[VB:.*]] = tensor.dim %[[V]], %{{.*}}
// CHECK:         %[[VN:.*]] = tensor.dim %[[V]], %{{.*}}
// CHECK:         %[[EV:.*]] = tensor.empty(%[[VB]], %[[VN]]) : tensor<?x1x?x8xf16>
// CHECK:         spa.attention_grad bands(#spa.band_policy<causal, exclusive_equal>) ins(%[[Q]], %[[K]], %[[V]], %[[O]], %[[L]], %[[DO]] : {{.*}}) outs(%[[EQ]], %[[EK]], %[[EV]] :
// CHECK:       func.func private @g_attention_0() {
func.func @g(%q: tensor<?x2x?x8xf16>, %k: tensor<?x1x?x8xf16>, %o: tensor<?x2x?x8xf16>,
             %l: tensor<?x2x?xf32>)
    -> (tensor<?x2x?x8xf16>, tensor<?x1x?x8xf16>, tensor<?x1x?x8xf16>) {
  %g:3 = spa.attention_grad bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %k, %o, %l, %o : tensor<?x2x?x8xf16>, tensor<?x1x?x8xf16>, tensor<?x1x?x8xf16>, tensor<?x2x?x8xf16>, tensor<?x2x?xf32>, tensor<?x2x?x8xf16>)
      outs(%q, %k, %k : tensor<?x2x?x8xf16>, tensor<?x1x?x8xf16>, tensor<?x1x?x8xf16>)
      -> tensor<?x2x?x8xf16>, tensor<?x1x?x8xf16>, tensor<?x1x?x8xf16>
  return %g#0, %g#1, %g#2 : tensor<?x2x?x8xf16>, tensor<?x1x?x8xf16>, tensor<?x1x?x8xf16>
}
func.func private @g_attention_0() {
  return
}
