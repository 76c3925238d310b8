// PTX regression layer bf16-d128-exclusive: compiled by ../../ptx_regression.py.
func.func @layer(%q: tensor<1x4x130x128xbf16>, %k: tensor<1x2x130x128xbf16>, %v: tensor<1x2x130x128xbf16>) -> tensor<1x4x130x128xbf16> {
  %out = tensor.empty() : tensor<1x4x130x128xbf16>
  %o = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %v : tensor<1x4x130x128xbf16>, tensor<1x2x130x128xbf16>, tensor<1x2x130x128xbf16>)
      outs(%out : tensor<1x4x130x128xbf16>) -> tensor<1x4x130x128xbf16>
  return %o : tensor<1x4x130x128xbf16>
}
