// convert-spa-to-linalg{static-tiles=true}: the form spa.iree gives IREE.
// Every tile is exactly tile-q x tile-k (no dynamically sized tensor is
// carried by a loop or yielded by scf.if): the query is padded to whole
// query tiles, key and value by one key tile, key tiles that run past
// their key range take the masked path and mask keys from the range's
// end on, and the padded query rows are sliced off. The default form
// (spa-to-linalg.mlir) is unchanged by the option.
// RUN: spa-opt %s -convert-spa-to-linalg="tile-q=16 tile-k=32 static-tiles=true" | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-linalg="static-tiles=true" | mlir-opt -verify-each | FileCheck %s --check-prefix=UPSTREAM
// RUN: spa-opt %s -spa-to-llvm-cpu="static-tiles=true" | FileCheck %s --check-prefix=LLVM

// UPSTREAM-NOT: spa.
// LLVM-NOT: spa.
// LLVM-NOT: linalg.
// LLVM: llvm.func @layer

// CHECK-LABEL: func.func @layer
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x100x64xbf16>, %[[K:.*]]: tensor<2x2x100x64xbf16>, %[[V:.*]]: tensor<2x2x100x32xbf16>, %[[O:.*]]: tensor<2x4x100x32xbf16>, %[[L:.*]]: tensor<2x4x100xf32>)
// CHECK-NOT: tensor<?
// CHECK-DAG: arith.constant dense<{{.*}}> : tensor<4x2x2xi64>
// 100 query rows -> 112 (7 tiles of 16); 100 keys -> 132 (one key tile more).
// CHECK-DAG: %[[QP:.*]] = tensor.pad %[[Q]] low[0, 0, 0, 0] high[0, 0, 12, 0]
// CHECK-DAG: %[[KP:.*]] = tensor.pad %[[K]] low[0, 0, 0, 0] high[0, 0, 32, 0]
// CHECK-DAG: %[[VP:.*]] = tensor.pad %[[V]] low[0, 0, 0, 0] high[0, 0, 32, 0]
// CHECK-DAG: %[[OP:.*]] = tensor.empty() : tensor<2x4x112x32xbf16>
// CHECK-DAG: %[[LP:.*]] = tensor.empty() : tensor<2x4x112xf32>
// CHECK: %[[R:.*]]:2 = scf.for %{{.*}} iter_args(%{{.*}} = %[[OP]], %{{.*}} = %[[LP]]) -> (tensor<2x4x112x32xbf16>, tensor<2x4x112xf32>)
// CHECK: scf.for %{{.*}} = %c0 to %c100 step %c16
// CHECK: tensor.extract_slice %[[QP]]{{.*}} : tensor<2x4x112x64xbf16> to tensor<16x64xbf16>
// CHECK: -> (tensor<16xf32>, tensor<16xf32>, tensor<16x32xf32>)
// CHECK: %[[END:.*]] = arith.select
// CHECK: scf.for %[[J0:.*]] = %{{.*}} to %[[END]] step %c32 iter_args({{.*}}) -> (tensor<16xf32>, tensor<16xf32>, tensor<16x32xf32>)
// CHECK: tensor.extract_slice %[[KP]]{{.*}} : tensor<2x2x132x64xbf16> to tensor<32x64xbf16>
// CHECK: tensor.extract_slice %[[VP]]{{.*}} : tensor<2x2x132x32xbf16> to tensor<32x32xbf16>
// Interior only when the tile also ends before the range's end.
// CHECK: %[[PAST:.*]] = arith.addi %[[J0]], %c32
// CHECK: %[[LAST:.*]] = arith.subi %[[PAST]], %c1
// CHECK: %[[INSIDE:.*]] = arith.cmpi slt, %[[LAST]], %[[END]]
// CHECK: %[[INTERIOR:.*]] = arith.andi %{{.*}}, %[[INSIDE]]
// CHECK: scf.if %[[INTERIOR]] -> (tensor<16x32xf32>) {
// CHECK-NOT: linalg.index
// CHECK: } else {
// The masked path also drops keys j >= end.
// CHECK: %[[KEY:.*]] = arith.addi %[[J0]], %{{.*}} : index
// CHECK: arith.cmpi slt, %[[KEY]], %[[END]] : index
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, 0] [1, 1, 16, 32]
// The padded rows are dropped.
// CHECK: %[[OUT:.*]] = tensor.extract_slice %[[R]]#0[0, 0, 0, 0] [2, 4, 100, 32] [1, 1, 1, 1] : tensor<2x4x112x32xbf16> to tensor<2x4x100x32xbf16>
// CHECK: %[[LSE:.*]] = tensor.extract_slice %[[R]]#1[0, 0, 0] [2, 4, 100] [1, 1, 1] : tensor<2x4x112xf32> to tensor<2x4x100xf32>
// CHECK: return %[[OUT]], %[[LSE]]
func.func @layer(%q: tensor<2x4x100x64xbf16>, %k: tensor<2x2x100x64xbf16>,
                 %v: tensor<2x2x100x32xbf16>, %o: tensor<2x4x100x32xbf16>,
                 %l: tensor<2x4x100xf32>) -> (tensor<2x4x100x32xbf16>, tensor<2x4x100xf32>) {
  %0:2 = spa.attention bands(#spa.bands<causal, [0:26], [0:26, 26:51], [0:26, 51:76], [76:100]>)
      ins(%q, %k, %v : tensor<2x4x100x64xbf16>, tensor<2x2x100x64xbf16>, tensor<2x2x100x32xbf16>)
      outs(%o, %l : tensor<2x4x100x32xbf16>, tensor<2x4x100xf32>)
      -> tensor<2x4x100x32xbf16>, tensor<2x4x100xf32>
  return %0#0, %0#1 : tensor<2x4x100x32xbf16>, tensor<2x4x100xf32>
}
