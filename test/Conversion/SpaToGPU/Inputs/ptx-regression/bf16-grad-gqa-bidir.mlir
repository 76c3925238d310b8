// PTX regression layer bf16-grad-gqa-bidir: compiled by ../../ptx_regression.py.
// The backward kernels (preprocess, dkdv, dq) of a GQA bidirectional layer
// with several intervals per head, an empty head and Nq != Nk.
func.func @grad(%q: tensor<1x4x90x64xbf16>, %k: tensor<1x2x100x64xbf16>, %v: tensor<1x2x100x64xbf16>, %o: tensor<1x4x90x64xbf16>, %lse: tensor<1x4x90xf32>, %do: tensor<1x4x90x64xbf16>) -> (tensor<1x4x90x64xbf16>, tensor<1x2x100x64xbf16>, tensor<1x2x100x64xbf16>) {
  %dq0 = tensor.empty() : tensor<1x4x90x64xbf16>
  %dk0 = tensor.empty() : tensor<1x2x100x64xbf16>
  %dv0 = tensor.empty() : tensor<1x2x100x64xbf16>
  %dq, %dk, %dv = spa.attention_grad bands(#spa.bands<bidirectional, [0:3, 9:17, 40:100], [], [3:9, 17:40], [0:100]>)
      ins(%q, %k, %v, %o, %lse, %do : tensor<1x4x90x64xbf16>, tensor<1x2x100x64xbf16>, tensor<1x2x100x64xbf16>, tensor<1x4x90x64xbf16>, tensor<1x4x90xf32>, tensor<1x4x90x64xbf16>)
      outs(%dq0, %dk0, %dv0 : tensor<1x4x90x64xbf16>, tensor<1x2x100x64xbf16>, tensor<1x2x100x64xbf16>) -> tensor<1x4x90x64xbf16>, tensor<1x2x100x64xbf16>, tensor<1x2x100x64xbf16>
  return %dq, %dk, %dv : tensor<1x4x90x64xbf16>, tensor<1x2x100x64xbf16>, tensor<1x2x100x64xbf16>
}
