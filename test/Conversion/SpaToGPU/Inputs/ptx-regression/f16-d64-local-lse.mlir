// PTX regression layer f16-d64-local-lse: compiled by ../../ptx_regression.py.
func.func @layer(%q: tensor<2x8x257x64xf16>, %k: tensor<2x8x257x64xf16>, %v: tensor<2x8x257x64xf16>) -> (tensor<2x8x257x64xf16>, tensor<2x8x257xf32>) {
  %out = tensor.empty() : tensor<2x8x257x64xf16>
  %lse = tensor.empty() : tensor<2x8x257xf32>
  %o, %l = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %k, %v : tensor<2x8x257x64xf16>, tensor<2x8x257x64xf16>, tensor<2x8x257x64xf16>)
      outs(%out, %lse : tensor<2x8x257x64xf16>, tensor<2x8x257xf32>) -> tensor<2x8x257x64xf16>, tensor<2x8x257xf32>
  return %o, %l : tensor<2x8x257x64xf16>, tensor<2x8x257xf32>
}
