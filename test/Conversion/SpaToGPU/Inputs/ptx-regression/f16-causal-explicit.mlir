// PTX regression layer f16-causal-explicit: compiled by ../../ptx_regression.py.
func.func @layer(%q: tensor<1x2x513x64xf16>, %k: tensor<1x2x513x64xf16>, %v: tensor<1x2x513x64xf16>) -> (tensor<1x2x513x64xf16>, tensor<1x2x513xf32>) {
  %out = tensor.empty() : tensor<1x2x513x64xf16>
  %lse = tensor.empty() : tensor<1x2x513xf32>
  %o, %l = spa.attention bands(#spa.bands<causal, [0:65, 200:300], [65:200, 300:513]>)
      ins(%q, %k, %v : tensor<1x2x513x64xf16>, tensor<1x2x513x64xf16>, tensor<1x2x513x64xf16>)
      outs(%out, %lse : tensor<1x2x513x64xf16>, tensor<1x2x513xf32>) -> tensor<1x2x513x64xf16>, tensor<1x2x513xf32>
  return %o, %l : tensor<1x2x513x64xf16>, tensor<1x2x513xf32>
}
