// The plan report: per-head intervals, pairs, share, tiles and cost, and the
// layer summary. N = 1024, H = 8 exclusive_equal: SPEC.md's example, head 0
// holds 122,944 pairs and head 7 holds 8,256.
// RUN: spa-opt %s -spa-balance-bands=report -o /dev/null | FileCheck %s

// CHECK: === spa-balance-bands report: @layer loc({{.*}}balance-bands-report.mlir":{{[0-9]+}}:{{[0-9]+}})
// CHECK-NEXT: plan exclusive_equal (causal), Hq = 8, Nq = 1024, Nk = 1024, tile 128x128, 132 SMs
// CHECK-NEXT: head  intervals                       pairs    share       full    partial       cost
// CHECK-NEXT:    0  [0:128]                        122944   23.43%          0         15
// CHECK-NEXT:    1  [128:256]                      106560   20.30%          0         13
// CHECK:         7  [896:1024]                       8256    1.57%          0          1
// CHECK-NEXT: layer: 524800 pairs per batch, 12.50% of dense causal; head cost spread (max/mean) {{[0-9.]+}}; LPT makespan {{[0-9.]+}}, ideal {{[0-9.]+}}, ratio {{[0-9.]+}}
// CHECK: === spa-balance-bands report: @dynamic
// CHECK-NEXT: plan sliding_window (causal), Hq = 2, Nk dynamic: bounds computed at run time by spa.band_bounds
func.func @layer(%q: tensor<1x8x1024x64xf32>) -> tensor<1x8x1024x64xf32> {
  %0 = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %q, %q : tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>, tensor<1x8x1024x64xf32>)
      outs(%q : tensor<1x8x1024x64xf32>) -> tensor<1x8x1024x64xf32>
  return %0 : tensor<1x8x1024x64xf32>
}
func.func @dynamic(%q: tensor<1x2x?x64xf32>) -> tensor<1x2x?x64xf32> {
  %0 = spa.attention bands(#spa.band_policy<causal, sliding_window, window = 16>)
      ins(%q, %q, %q : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>)
      outs(%q : tensor<1x2x?x64xf32>) -> tensor<1x2x?x64xf32>
  return %0 : tensor<1x2x?x64xf32>
}
