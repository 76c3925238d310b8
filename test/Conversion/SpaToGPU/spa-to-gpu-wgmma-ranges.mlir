// wgmma kernel, stages = 1 (cp.async, tma=false), a head with two
// intervals: the item's key ranges
// form one tile sequence. Only the first non-empty range's first tile is
// copied before the loops; the last tile of a range copies the first tile
// of the next non-empty range, so no range starts with an exposed copy.
// RUN: spa-opt %s -convert-spa-to-gpu="stages=1 tma=false" | FileCheck %s

// Next non-empty range after range 0 (range 1, else none) ...
// CHECK: %[[FOLLOW0:.*]] = arith.ori %[[NONEMPTY1:.*]], %false : i1
// CHECK-NEXT: %[[START0:.*]] = arith.select %[[NONEMPTY1]], %[[B1:.*]], %{{.*}} : index
// ... and the prologue: the first tile of range 0, else of range 1.
// CHECK-NEXT: %[[NONEMPTY0:.*]] = arith.cmpi slt, %[[B0:.*]], %[[E0:.*]] : index
// CHECK-NEXT: %[[ANY:.*]] = arith.ori %[[NONEMPTY0]], %[[FOLLOW0]] : i1
// CHECK-NEXT: %[[FIRST:.*]] = arith.select %[[NONEMPTY0]], %[[B0]], %[[START0]] : index
// CHECK-NEXT: scf.if %[[ANY]] {
// CHECK: nvgpu.device_async_copy %arg1
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: scf.if %[[ANY]] {
// CHECK: nvgpu.device_async_copy %arg2
// CHECK: nvvm.cp.async.commit.group
// Range 0: the next tile is in range 0, else range 1's first.
// CHECK: scf.for %{{.*}} = %[[B0]] to %[[E0]]
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: %[[IN:.*]] = arith.cmpi slt, %{{.*}}, %[[E0]] : index
// CHECK-NEXT: %[[HAS:.*]] = arith.ori %[[IN]], %[[FOLLOW0]] : i1
// CHECK: %{{.*}} = arith.select %[[IN]], %{{.*}}, %[[START0]] : index
// CHECK-NEXT: scf.if %[[HAS]] {
// CHECK: nvgpu.device_async_copy %arg1
// CHECK: nvvm.cp.async.commit.group
// The V copy of the same tile after P V.
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: scf.if %[[HAS]] {
// CHECK: nvgpu.device_async_copy %arg2
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: scf.yield
// Range 1 follows at once: no copies of its own before its loop.
// CHECK-NEXT: }
// CHECK-NEXT: %{{.*}} = arith.constant 64 : index
// CHECK-NEXT: scf.for %{{.*}} = %[[B1]] to %{{.*}} step
// CHECK: arith.ori %{{.*}}, %false : i1

func.func @layer(%q: memref<1x2x100x64xbf16>, %k: memref<1x1x100x64xbf16>,
                 %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>) {
  spa.attention bands(#spa.bands<causal, [0:16, 64:100], [16:64]>)
      ins(%q, %k, %v : memref<1x2x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x1x100x64xbf16>)
      outs(%o : memref<1x2x100x64xbf16>)
  return
}
