// PTX regression layer bf16-decode-nq-ne-nk: compiled by ../../ptx_regression.py.
func.func @layer(%q: tensor<2x4x1x64xbf16>, %k: tensor<2x2x300x64xbf16>, %v: tensor<2x2x300x64xbf16>) -> (tensor<2x4x1x64xbf16>, tensor<2x4x1xf32>) {
  %out = tensor.empty() : tensor<2x4x1x64xbf16>
  %lse = tensor.empty() : tensor<2x4x1xf32>
  %o, %l = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %k, %v : tensor<2x4x1x64xbf16>, tensor<2x2x300x64xbf16>, tensor<2x2x300x64xbf16>)
      outs(%out, %lse : tensor<2x4x1x64xbf16>, tensor<2x4x1xf32>) -> tensor<2x4x1x64xbf16>, tensor<2x4x1xf32>
  return %o, %l : tensor<2x4x1x64xbf16>, tensor<2x4x1xf32>
}
