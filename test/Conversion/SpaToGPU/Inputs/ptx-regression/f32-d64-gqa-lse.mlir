// PTX regression layer f32-d64-gqa-lse: compiled by ../../ptx_regression.py.
func.func @layer(%q: tensor<1x4x100x64xf32>, %k: tensor<1x1x100x64xf32>, %v: tensor<1x1x100x64xf32>) -> (tensor<1x4x100x64xf32>, tensor<1x4x100xf32>) {
  %out = tensor.empty() : tensor<1x4x100x64xf32>
  %lse = tensor.empty() : tensor<1x4x100xf32>
  %o, %l = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %v : tensor<1x4x100x64xf32>, tensor<1x1x100x64xf32>, tensor<1x1x100x64xf32>)
      outs(%out, %lse : tensor<1x4x100x64xf32>, tensor<1x4x100xf32>) -> tensor<1x4x100x64xf32>, tensor<1x4x100xf32>
  return %o, %l : tensor<1x4x100x64xf32>, tensor<1x4x100xf32>
}
