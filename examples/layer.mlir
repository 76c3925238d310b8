// An example SPAttention layer: B=1, H=16 query heads over 4 key/value heads
// (grouped-query attention), N=2048, D=64, the authors' `local_plus_band`
// policy, returning the log-sum-exp that training needs.
func.func @layer(%q: tensor<1x16x2048x64xf32>, %k: tensor<1x4x2048x64xf32>,
                 %v: tensor<1x4x2048x64xf32>)
    -> (tensor<1x16x2048x64xf32>, tensor<1x16x2048xf32>) {
  %out = tensor.empty() : tensor<1x16x2048x64xf32>
  %lse = tensor.empty() : tensor<1x16x2048xf32>
  %o, %l = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %k, %v : tensor<1x16x2048x64xf32>, tensor<1x4x2048x64xf32>, tensor<1x4x2048x64xf32>)
      outs(%out, %lse : tensor<1x16x2048x64xf32>, tensor<1x16x2048xf32>)
      -> tensor<1x16x2048x64xf32>, tensor<1x16x2048xf32>
  return %o, %l : tensor<1x16x2048x64xf32>, tensor<1x16x2048xf32>
}
