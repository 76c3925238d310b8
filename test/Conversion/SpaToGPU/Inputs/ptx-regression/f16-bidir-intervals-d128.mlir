// PTX regression layer f16-bidir-intervals-d128: compiled by ../../ptx_regression.py.
func.func @layer(%q: tensor<1x2x150x128xf16>, %k: tensor<1x1x150x128xf16>, %v: tensor<1x1x150x64xf16>) -> tensor<1x2x150x64xf16> {
  %out = tensor.empty() : tensor<1x2x150x64xf16>
  %o = spa.attention bands(#spa.bands<bidirectional, [0:5, 20:33], [5:20, 33:150]>)
      ins(%q, %k, %v : tensor<1x2x150x128xf16>, tensor<1x1x150x128xf16>, tensor<1x1x150x64xf16>)
      outs(%out : tensor<1x2x150x64xf16>) -> tensor<1x2x150x64xf16>
  return %o : tensor<1x2x150x64xf16>
}
