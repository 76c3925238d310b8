// forward-schedule=auto takes the warp-specialised kernel where it measured
// faster on the H200 (KernelConfig.cpp, autoTakesWarpSpecialized;
// docs/benchmarks.md): D = Dv = 128, causal, heads of two or more
// intervals (as local_plus_band's), static lengths of 4096 rows or more,
// tile-k 64, stages and split-keys at their defaults. At the default warps
// (4) that is one consumer warpgroup and the producer: 256 threads. Every
// other case keeps the serial kernel (128 threads, no setmaxnreg).
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu -canonicalize | FileCheck %s
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="forward-schedule=serial" -canonicalize | FileCheck %s --check-prefix=SERIAL
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="stages=2" -canonicalize | FileCheck %s --check-prefix=SERIAL
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="tile-k=128" -canonicalize | FileCheck %s --check-prefix=SERIAL

// CHECK-LABEL: func.func @two_intervals
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 {{.*}} threads in (%c256, %c1, %c1)
// CHECK: nvvm.setmaxregister  decrease 24
// SERIAL-LABEL: func.func @two_intervals
// SERIAL: gpu.launch_func @spa_kernels::@spa_attention_0 {{.*}} threads in (%c128, %c1, %c1)
// SERIAL-NOT: setmaxregister
func.func @two_intervals(%q: memref<1x2x4096x128xbf16>, %o: memref<1x2x4096x128xbf16>) {
  spa.attention bands(#spa.bands<causal, [0:257, 1024:2048], [257:1024, 2048:4096]>)
      ins(%q, %q, %q : memref<1x2x4096x128xbf16>, memref<1x2x4096x128xbf16>, memref<1x2x4096x128xbf16>)
      outs(%o : memref<1x2x4096x128xbf16>)
  return
}

// -----

// One interval a head: serial.
// CHECK-LABEL: func.func @one_interval
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 {{.*}} threads in (%c128, %c1, %c1)
// CHECK-NOT: setmaxregister
func.func @one_interval(%q: memref<1x2x4096x128xbf16>, %o: memref<1x2x4096x128xbf16>) {
  spa.attention bands(#spa.bands<causal, [0:2048], [2048:4096]>)
      ins(%q, %q, %q : memref<1x2x4096x128xbf16>, memref<1x2x4096x128xbf16>, memref<1x2x4096x128xbf16>)
      outs(%o : memref<1x2x4096x128xbf16>)
  return
}

// -----

// D = 64: serial.
// CHECK-LABEL: func.func @d64
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 {{.*}} threads in (%c128, %c1, %c1)
// CHECK-NOT: setmaxregister
func.func @d64(%q: memref<1x2x4096x64xbf16>, %o: memref<1x2x4096x64xbf16>) {
  spa.attention bands(#spa.bands<causal, [0:257, 1024:2048], [257:1024, 2048:4096]>)
      ins(%q, %q, %q : memref<1x2x4096x64xbf16>, memref<1x2x4096x64xbf16>, memref<1x2x4096x64xbf16>)
      outs(%o : memref<1x2x4096x64xbf16>)
  return
}

// -----

// Fewer than 4096 rows: serial.
// CHECK-LABEL: func.func @short
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 {{.*}} threads in (%c128, %c1, %c1)
// CHECK-NOT: setmaxregister
func.func @short(%q: memref<1x2x2048x128xbf16>, %o: memref<1x2x2048x128xbf16>) {
  spa.attention bands(#spa.bands<causal, [0:257, 1024:2048], [257:1024]>)
      ins(%q, %q, %q : memref<1x2x2048x128xbf16>, memref<1x2x2048x128xbf16>, memref<1x2x2048x128xbf16>)
      outs(%o : memref<1x2x2048x128xbf16>)
  return
}

// -----

// Bidirectional: serial.
// CHECK-LABEL: func.func @bidirectional
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0 {{.*}} threads in (%c128, %c1, %c1)
// CHECK-NOT: setmaxregister
func.func @bidirectional(%q: memref<1x2x4096x128xbf16>, %o: memref<1x2x4096x128xbf16>) {
  spa.attention bands(#spa.bands<bidirectional, [0:257, 1024:2048], [257:1024, 2048:4096]>)
      ins(%q, %q, %q : memref<1x2x4096x128xbf16>, memref<1x2x4096x128xbf16>, memref<1x2x4096x128xbf16>)
      outs(%o : memref<1x2x4096x128xbf16>)
  return
}
