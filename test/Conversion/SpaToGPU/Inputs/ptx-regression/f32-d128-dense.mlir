// PTX regression layer f32-d128-dense: compiled by ../../ptx_regression.py.
func.func @layer(%q: tensor<1x2x70x128xf32>, %k: tensor<1x2x70x128xf32>, %v: tensor<1x2x70x128xf32>) -> tensor<1x2x70x128xf32> {
  %out = tensor.empty() : tensor<1x2x70x128xf32>
  %o = spa.attention bands(#spa.band_policy<causal, dense_causal>)
      ins(%q, %k, %v : tensor<1x2x70x128xf32>, tensor<1x2x70x128xf32>, tensor<1x2x70x128xf32>)
      outs(%out : tensor<1x2x70x128xf32>) -> tensor<1x2x70x128xf32>
  return %o : tensor<1x2x70x128xf32>
}
