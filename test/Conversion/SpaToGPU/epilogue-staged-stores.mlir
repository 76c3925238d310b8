// The wgmma kernels' epilogues through shared memory (StagedStores.h): after
// a block barrier each warp writes its 16 rows' fragments (two bf16 a
// thread per 8-column tile) into the tile it no longer needs, swizzled by
// 16-byte chunk, meets its warp at bar.warp.sync, then reads 16-byte row
// chunks back and stores them to global memory, rows past the length
// skipped. The forward stages O in Q's tile (chained and ring schedules,
// O no wider than Q); the dK/dV kernels (classic and warp-specialised, the
// latter after a named barrier over its 256 consumer threads) dK in own K's
// tile and dV in own V's; the dQ kernel dQ in own Q's. The warp-specialised
// forward (its Q tile goes back to the producer) and a forward whose O is
// wider than Q store from registers.
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="stages=1 tma-stores=false" -canonicalize | FileCheck %s
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="stages=2 forward-schedule=ws tma-stores=false" -canonicalize | FileCheck %s --check-prefix=WS
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="backward-schedule=ws tma-stores=false" -canonicalize | FileCheck %s --check-prefix=WSGRAD

// D = Dv = 64, one warpgroup: 2 rows x 8 tiles of fragments into Q's
// [1][64][64] tile, then 4 passes of 8 lanes a row, 4 rows a pass.
// CHECK-LABEL: gpu.func @spa_attention_0(
// CHECK: gpu.barrier
// CHECK-COUNT-16: vector.store %{{.*}}, %[[Q:view[_0-9]*]][%c0, %{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<1x64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK-NEXT: nvvm.bar.warp.sync %c-1_i32
// CHECK-COUNT-4: vector.load %[[Q]][%c0, %{{.*}}, %{{.*}}] {alignment = 16 : i64} : memref<1x64x64xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK-NOT: vector<2xbf16>
// CHECK: gpu.return
// WS-LABEL: gpu.func @spa_attention_0(
// WS-NOT: nvvm.bar.warp.sync
// WS: vector.store %{{.*}}, %arg3[{{.*}}] {alignment = 4 : i64} : memref<1x2x100x64xbf16>, vector<2xbf16>
// WS-NOT: vector<8xbf16>
// WS: gpu.return
func.func @layer(%q: memref<1x2x100x64xbf16>, %k: memref<1x1x100x64xbf16>,
                 %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>,
                 %l: memref<1x2x100xf32>) {
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v : memref<1x2x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x1x100x64xbf16>)
      outs(%o, %l : memref<1x2x100x64xbf16>, memref<1x2x100xf32>)
  return
}

// -----

// Dv = 128 > D = 64: O does not fit in Q's tile; it goes out from registers.
// CHECK-LABEL: gpu.func @spa_attention_0(
// CHECK-NOT: nvvm.bar.warp.sync
// CHECK: vector.store %{{.*}}, %arg3[{{.*}}] {alignment = 4 : i64} : memref<1x2x100x128xbf16>, vector<2xbf16>
// CHECK-NOT: vector<8xbf16>
// CHECK: gpu.return
func.func @wide_values(%q: memref<1x2x100x64xbf16>, %k: memref<1x1x100x64xbf16>,
                       %v: memref<1x1x100x128xbf16>, %o: memref<1x2x100x128xbf16>,
                       %l: memref<1x2x100xf32>) {
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v : memref<1x2x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x1x100x128xbf16>)
      outs(%o, %l : memref<1x2x100x128xbf16>, memref<1x2x100xf32>)
  return
}

// -----

// The gradient kernels, D = 128, Dv = 64: dK through own K's [2][64][64]
// tile (16 tiles a row), dV through own V's [1][64][64]; dQ (the first
// kernel, its output seventh after O) through own Q's [2][64][64] tile.
// Each store of 8 elements sits under its row check.
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dq(
// CHECK: gpu.barrier
// CHECK-COUNT-32: vector.store %{{.*}}, %[[DQ:view[_0-9]*]][%{{.*}}, %{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<2x64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK-NEXT: nvvm.bar.warp.sync
// CHECK-COUNT-8: vector.store %{{.*}}, %arg7[{{.*}}] {alignment = 16 : i64} : memref<1x2x100x128xbf16>, vector<8xbf16>
// CHECK-NOT: vector<2xbf16>
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// CHECK: gpu.barrier
// CHECK-COUNT-32: vector.store %{{.*}}, %[[K:view[_0-9]*]][%{{.*}}, %{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<2x64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK-NEXT: nvvm.bar.warp.sync
// CHECK: vector.load %[[K]]{{.*}} : memref<2x64x64xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK: scf.if
// CHECK: vector.store %{{.*}}, %arg6[{{.*}}] {alignment = 16 : i64} : memref<1x1x100x128xbf16>, vector<8xbf16>
// CHECK-COUNT-16: vector.store %{{.*}}, %[[V:view[_0-9]*]][%c0, %{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<1x64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK-NEXT: nvvm.bar.warp.sync
// CHECK: vector.store %{{.*}}, %arg7[{{.*}}] {alignment = 16 : i64} : memref<1x1x100x64xbf16>, vector<8xbf16>
// CHECK-NOT: vector<2xbf16>
// CHECK: gpu.return
func.func @gradient(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%q, %k, %v : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>)
  return
}

// -----

// The warp-specialised dK/dV kernel, D = Dv = 64: own K and V tiles of 128
// keys; the consumers meet on named barrier 1 (256 threads), then each of
// their 8 warps stages its 16 keys' rows.
// WSGRAD-LABEL: gpu.func @spa_attention_grad_0_dkdv(%arg0: memref<1x2x300x64xbf16>
// WSGRAD: nvvm.barrier id = %c1_i32 number_of_threads = %c256_i32
// WSGRAD-COUNT-16: vector.store %{{.*}}, %[[K:view[_0-9]*]][%c0, %{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<1x128x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// WSGRAD-NEXT: nvvm.bar.warp.sync
// WSGRAD-COUNT-4: vector.load %[[K]]{{.*}} : memref<1x128x64xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// WSGRAD-COUNT-16: vector.store %{{.*}}, %[[V:view[_0-9]*]][%c0, %{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<1x128x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// WSGRAD-NEXT: nvvm.bar.warp.sync
// WSGRAD-NOT: vector<2xbf16>
// WSGRAD: gpu.return
func.func @gradient_ws(%q: memref<1x2x300x64xbf16>, %k: memref<1x1x300x64xbf16>, %v: memref<1x1x300x64xbf16>, %o: memref<1x2x300x64xbf16>, %l: memref<1x2x300xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:151], [151:300]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x300x64xbf16>, memref<1x1x300x64xbf16>, memref<1x1x300x64xbf16>, memref<1x2x300x64xbf16>, memref<1x2x300xf32>, memref<1x2x300x64xbf16>)
      outs(%q, %k, %v : memref<1x2x300x64xbf16>, memref<1x1x300x64xbf16>, memref<1x1x300x64xbf16>)
  return
}
