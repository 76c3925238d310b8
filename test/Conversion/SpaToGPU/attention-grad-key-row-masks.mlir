// The dK/dV kernel's edge-tile masks (BackwardConfig::keyRowMasks): with
// two or more intervals a head (more band edges a key tile) each key row's
// admitted queries are formed once as clamped i32 bounds (EdgeMask.h's
// queryColumns) and every element takes two i32 compares; with one interval
// a head the classic kernel keeps the per-element index test (its held
// bounds cost spills at 255 registers). The warp-specialised kernel always
// takes the row bounds (attention-grad-ws.mlir's layer, checked below).
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="warps=2 tile-k=32 chip=sm_80" -canonicalize | FileCheck %s
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="backward-schedule=ws" -canonicalize | FileCheck %s --check-prefix=WS

// Two intervals a head: P^T's masked branch clamps each row's query bounds
// to the 32-column tile, narrows them to i32 (an empty row for keys past
// Nk), then compares column offsets 0, 1, ... with them.
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// CHECK: scf.if %{{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: ex2.approx.ftz.f32
// CHECK: } else {
// CHECK: arith.cmpi slt, %{{.*}}, %c100 : index
// CHECK: arith.minsi %{{.*}}, %c100 : index
// CHECK: arith.minsi %{{.*}}, %c32 : index
// CHECK: arith.index_cast %{{.*}} : index to i32
// CHECK: arith.select %{{.*}}, %{{.*}}, %c0_i32 : i32
// CHECK: arith.cmpi sgt, %{{.*}}, %c0_i32 : i32
// CHECK: arith.cmpi sle, %{{.*}}, %c0_i32 : i32
// CHECK: arith.cmpi sgt, %{{.*}}, %c1_i32 : i32
// CHECK: gpu.return
func.func @two_intervals(%q: memref<1x2x100x64xbf16>, %k: memref<1x2x100x64xbf16>, %v: memref<1x2x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:8, 40:60], [8:40, 60:100]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%q, %k, %v : memref<1x2x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100x64xbf16>)
  return
}

// -----

// One interval a head: the per-element test, distance against the
// interval's bounds in index arithmetic, no i32 bounds.
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// CHECK: scf.if %{{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: } else {
// CHECK-NOT: : index to i32
// CHECK: arith.cmpi slt, %{{.*}}, %{{.*}} : index
// CHECK: arith.cmpi sge, %{{.*}}, %{{.*}} : index
// CHECK-NOT: : index to i32
// CHECK: arith.select %{{.*}}, %{{.*}}, %cst{{.*}} : f32
func.func @one_interval(%q: memref<1x2x100x64xbf16>, %k: memref<1x2x100x64xbf16>, %v: memref<1x2x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%q, %k, %v : memref<1x2x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100x64xbf16>)
  return
}

// The warp-specialised kernel takes the row bounds with one interval a head
// too (the second function's kernel): column 1 against a row's bounds.
// WS-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// WS-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// WS: arith.cmpi sgt, %{{.*}}, %c1_i32 : i32
// WS: arith.cmpi sle, %{{.*}}, %c1_i32 : i32
