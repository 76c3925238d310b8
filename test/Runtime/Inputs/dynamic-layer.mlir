// A layer with dynamic batch and lengths (used by ../dynamic-shape-checks.test).
func.func @layer(%q: tensor<?x2x?x8xf32>, %k: tensor<?x1x?x8xf32>,
                 %v: tensor<?x1x?x8xf32>) -> (tensor<?x2x?x8xf32>, tensor<?x2x?xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %nb = tensor.dim %q, %c0 : tensor<?x2x?x8xf32>
  %nq = tensor.dim %q, %c2 : tensor<?x2x?x8xf32>
  %o = tensor.empty(%nb, %nq) : tensor<?x2x?x8xf32>
  %l = tensor.empty(%nb, %nq) : tensor<?x2x?xf32>
  %r:2 = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %k, %v : tensor<?x2x?x8xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>)
      outs(%o, %l : tensor<?x2x?x8xf32>, tensor<?x2x?xf32>)
      -> tensor<?x2x?x8xf32>, tensor<?x2x?xf32>
  return %r#0, %r#1 : tensor<?x2x?x8xf32>, tensor<?x2x?xf32>
}
