// PTX regression layer bf16-bidir-intervals: compiled by ../../ptx_regression.py.
func.func @layer(%q: tensor<1x3x96x64xbf16>, %k: tensor<1x3x96x64xbf16>, %v: tensor<1x3x96x128xbf16>) -> (tensor<1x3x96x128xbf16>, tensor<1x3x96xf32>) {
  %out = tensor.empty() : tensor<1x3x96x128xbf16>
  %lse = tensor.empty() : tensor<1x3x96xf32>
  %o, %l = spa.attention bands(#spa.bands<bidirectional, [0:3, 9:17, 40:96], [], [3:9, 17:40]>)
      ins(%q, %k, %v : tensor<1x3x96x64xbf16>, tensor<1x3x96x64xbf16>, tensor<1x3x96x128xbf16>)
      outs(%out, %lse : tensor<1x3x96x128xbf16>, tensor<1x3x96xf32>) -> tensor<1x3x96x128xbf16>, tensor<1x3x96xf32>
  return %o, %l : tensor<1x3x96x128xbf16>, tensor<1x3x96xf32>
}
