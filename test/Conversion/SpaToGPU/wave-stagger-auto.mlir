// wave-stagger-ns = auto (WaveStagger.h) on SPEC-sized layers: the
// serial forward's first wave starts apart where heads have one interval,
// two waves of items equal to the first lead the cost-sorted list and the
// blocks an SM are known; the delay of a slot is the first item's key
// tiles x D * 11 / 2 ns, and the kernel is pinned to those blocks an SM.
// RUN: spa-opt %s -convert-spa-to-gpu -canonicalize -split-input-file | FileCheck %s --check-prefix=AUTO
// RUN: spa-opt %s -convert-spa-to-gpu="wave-stagger-ns=-1" -canonicalize -split-input-file | FileCheck %s --check-prefix=OFF
// OFF-NOT: nvvm.nanosleep
// OFF-NOT: nvvm.minctasm

// Auto at SPEC's headline (exclusive_equal, 512-distance bands: 2 x 960
// items of 9 key tiles lead the list, more than two waves of 3 x 132):
// 9 x 128 * 11 / 2 = 6336 ns a slot, 3 blocks an SM.
// AUTO-LABEL: gpu.func @spa_attention_0(
// AUTO-SAME: nvvm.minctasm = 3 : i32
// AUTO-DAG: arith.constant 6336 : index
// AUTO-DAG: %[[SLOT:.*]] = arith.divui %block_id_x, %c132 : index
// AUTO-DAG: arith.cmpi slt, %[[SLOT]], %c3 : index
// AUTO: nvvm.nanosleep
func.func @headline(%q: memref<2x16x8192x128xbf16>, %k: memref<2x16x8192x128xbf16>, %v: memref<2x16x8192x128xbf16>, %o: memref<2x16x8192x128xbf16>, %l: memref<2x16x8192xf32>) {
  spa.attention bands(#spa.bands<causal, [0:512], [512:1024], [1024:1536], [1536:2048], [2048:2560], [2560:3072], [3072:3584], [3584:4096], [4096:4608], [4608:5120], [5120:5632], [5632:6144], [6144:6656], [6656:7168], [7168:7680], [7680:8192]>)
      ins(%q, %k, %v : memref<2x16x8192x128xbf16>, memref<2x16x8192x128xbf16>, memref<2x16x8192x128xbf16>)
      outs(%o, %l : memref<2x16x8192x128xbf16>, memref<2x16x8192xf32>)
  return
}

// -----

// Auto at D = 64 (B4 H16 N4096, 256-distance bands: items of 5 key tiles;
// the two-stage ring there, 5 blocks an SM): 5 x 64 * 11 / 2 = 1760 ns.
// AUTO-LABEL: gpu.func @spa_attention_0(
// AUTO-SAME: nvvm.minctasm = 5 : i32
// AUTO-DAG: arith.constant 1760 : index
// AUTO-DAG: %[[SLOT:.*]] = arith.divui %block_id_x, %c132 : index
// AUTO-DAG: arith.cmpi slt, %[[SLOT]], %c5 : index
// AUTO: nvvm.nanosleep
func.func @d64(%q: memref<4x16x4096x64xbf16>, %k: memref<4x16x4096x64xbf16>, %v: memref<4x16x4096x64xbf16>, %o: memref<4x16x4096x64xbf16>, %l: memref<4x16x4096xf32>) {
  spa.attention bands(#spa.bands<causal, [0:256], [256:512], [512:768], [768:1024], [1024:1280], [1280:1536], [1536:1792], [1792:2048], [2048:2304], [2304:2560], [2560:2816], [2816:3072], [3072:3328], [3328:3584], [3584:3840], [3840:4096]>)
      ins(%q, %k, %v : memref<4x16x4096x64xbf16>, memref<4x16x4096x64xbf16>, memref<4x16x4096x64xbf16>)
      outs(%o, %l : memref<4x16x4096x64xbf16>, memref<4x16x4096xf32>)
  return
}

// -----

// Two intervals a head (a local window and a far band, equal for every
// head): auto leaves it alone (measured only with one interval a head).
// AUTO-LABEL: gpu.func @spa_attention_0(
// AUTO-NOT: nvvm.nanosleep
func.func @two_intervals(%q: memref<4x16x4096x64xbf16>, %k: memref<4x16x4096x64xbf16>, %v: memref<4x16x4096x64xbf16>, %o: memref<4x16x4096x64xbf16>, %l: memref<4x16x4096xf32>) {
  spa.attention bands(#spa.bands<causal, [0:128, 1024:1152], [128:256, 1152:1280], [256:384, 1280:1408], [384:512, 1408:1536], [512:640, 1536:1664], [640:768, 1664:1792], [768:896, 1792:1920], [896:1024, 1920:2048], [2048:2176, 3072:3200], [2176:2304, 3200:3328], [2304:2432, 3328:3456], [2432:2560, 3456:3584], [2560:2688, 3584:3712], [2688:2816, 3712:3840], [2816:2944, 3840:3968], [2944:3072, 3968:4096]>)
      ins(%q, %k, %v : memref<4x16x4096x64xbf16>, memref<4x16x4096x64xbf16>, memref<4x16x4096x64xbf16>)
      outs(%o, %l : memref<4x16x4096x64xbf16>, memref<4x16x4096xf32>)
  return
}
