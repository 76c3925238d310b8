// PTX regression layer f16-grad-causal-d128-dv64: compiled by ../../ptx_regression.py.
// The backward kernels of a causal exclusive-band layer with Dv != D.
func.func @grad(%q: tensor<2x4x300x128xf16>, %k: tensor<2x4x300x128xf16>, %v: tensor<2x4x300x64xf16>, %o: tensor<2x4x300x64xf16>, %lse: tensor<2x4x300xf32>, %do: tensor<2x4x300x64xf16>) -> (tensor<2x4x300x128xf16>, tensor<2x4x300x128xf16>, tensor<2x4x300x64xf16>) {
  %dq0 = tensor.empty() : tensor<2x4x300x128xf16>
  %dk0 = tensor.empty() : tensor<2x4x300x128xf16>
  %dv0 = tensor.empty() : tensor<2x4x300x64xf16>
  %dq, %dk, %dv = spa.attention_grad bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %v, %o, %lse, %do : tensor<2x4x300x128xf16>, tensor<2x4x300x128xf16>, tensor<2x4x300x64xf16>, tensor<2x4x300x64xf16>, tensor<2x4x300xf32>, tensor<2x4x300x64xf16>)
      outs(%dq0, %dk0, %dv0 : tensor<2x4x300x128xf16>, tensor<2x4x300x128xf16>, tensor<2x4x300x64xf16>) -> tensor<2x4x300x128xf16>, tensor<2x4x300x128xf16>, tensor<2x4x300x64xf16>
  return %dq, %dk, %dv : tensor<2x4x300x128xf16>, tensor<2x4x300x128xf16>, tensor<2x4x300x64xf16>
}
