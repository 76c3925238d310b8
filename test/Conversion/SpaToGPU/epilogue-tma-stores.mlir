// The staged epilogues' TMA stores (tma-stores = true; the threads' 16-byte
// row stores it replaces, still the default: epilogue-staged-stores.mlir).
// Each warp writes its 16 rows' fragments into the tile it no longer needs,
// fences them for the async proxy and meets its warp; then lane 0 issues one
// cp.async.bulk.tensor a 64-column box through the output's map (16-row
// boxes, encoded by the launcher like the load maps) and commits; no thread
// stores a row chunk and no row is checked against the length (the copy
// engine skips rows past it). Lane 0 waits for the stores' shared-memory
// reads once, before the block exits.
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="stages=1 score-grads=store tma-stores=true" -canonicalize | FileCheck %s
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="stages=2 forward-schedule=ws backward-schedule=ws tma-stores=true" -canonicalize | FileCheck %s --check-prefix=WS
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="stages=1 split-keys=2 tma-stores=true" -canonicalize | FileCheck %s --check-prefix=SPLIT

// D = Dv = 64: O's map is the kernel's last argument, after Q's, K's and
// V's; one box a warp.
// CHECK-LABEL: func.func @layer(
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_0
// CHECK-SAME: %[[NULL:[0-9]+]] : !llvm.ptr, %[[NULL]] : !llvm.ptr, %[[NULL]] : !llvm.ptr, %[[NULL]] : !llvm.ptr)
// CHECK: gpu.func @spa_attention_0(
// CHECK-SAME: %[[OMAP:[a-z0-9]+]]: !llvm.ptr)
// CHECK-SAME: args = ["query", "key", "value", "output", "log_sum_exp", "bounds", "work", "query_map", "key_map", "value_map", "output_map"]
// O [1, 2, 100, 64] as dims [64, 100, 2, 1]; boxes of 64 columns x 16 rows.
// CHECK-SAME: {box = array<i64: 64, 16, 1, 1>, dims = array<i64: 64, 100, 2, 1>, dtype = "bf16", {{.*}}name = "output_map", of = "output", {{.*}}strides_bytes = array<i64: 128, 12800, 25600>, swizzle_bytes = 128 : i64}
// CHECK-SAME: spa.tensor_map_args = array<i32: 7, 8, 9, 10>
// CHECK: gpu.barrier
// CHECK-COUNT-16: vector.store %{{.*}}, %[[Q:view[_0-9]*]][%c0, %{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<1x64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: nvvm.bar.warp.sync %c-1_i32
// CHECK-NEXT: %[[LANE0:[0-9]+]] = arith.cmpi eq, %{{.*}}, %c0 : index
// CHECK-NEXT: scf.if %[[LANE0]] {
// The warp's rows start 16 x 128 bytes a warp into Q's tile.
// CHECK: arith.muli %{{.*}}, %c2048 : index
// CHECK: memref.extract_aligned_pointer_as_index %[[Q]]
// CHECK: nvvm.cp.async.bulk.tensor.global.shared.cta %[[OMAP]], %{{.*}}, box[%c0_i32, %{{.*}}, %{{.*}}, %{{.*}}] : !llvm.ptr, <3>
// CHECK-NEXT: nvvm.cp.async.bulk.commit.group
// CHECK-NEXT: }
// CHECK-NOT: vector<8xbf16>
// CHECK-NOT: vector<2xbf16>
// The lse, a row at a time; then the one wait.
// CHECK: memref.store %{{.*}}, %arg4
// CHECK: memref.store %{{.*}}, %arg4
// CHECK: scf.if
// CHECK-NEXT: nvvm.cp.async.bulk.wait_group 0 {read}
// CHECK-NEXT: }
// CHECK-NEXT: gpu.return
// The warp-specialised forward (its Q tile goes back to the producer) and
// the split-keys partials store from registers: no map.
// WS-LABEL: gpu.func @spa_attention_0(
// WS-SAME: "value_map"]
// WS-NOT: nvvm.cp.async.bulk.tensor.global.shared.cta
// WS: gpu.return
// SPLIT-LABEL: gpu.func @spa_attention_0(
// SPLIT-NOT: "output_map"
// SPLIT-NOT: nvvm.cp.async.bulk.tensor.global.shared.cta
// SPLIT: gpu.return
func.func @layer(%q: memref<1x2x100x64xbf16>, %k: memref<1x1x100x64xbf16>,
                 %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>,
                 %l: memref<1x2x100xf32>) {
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v : memref<1x2x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x1x100x64xbf16>)
      outs(%o, %l : memref<1x2x100x64xbf16>, memref<1x2x100xf32>)
  return
}

// -----

// Dv = 128 > D = 64: O does not fit in Q's tile; no map, register stores.
// CHECK-LABEL: func.func @wide_values(
// CHECK: gpu.func @spa_attention_0(
// CHECK-SAME: "value_map"]
// CHECK-NOT: nvvm.cp.async.bulk.tensor.global.shared.cta
// CHECK: vector.store %{{.*}}, %arg3[{{.*}}] {alignment = 4 : i64} : memref<1x2x100x128xbf16>, vector<2xbf16>
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

// The gradient kernels, D = 128, Dv = 64, score-grads = store (so that
// the dq_stored kernel stages dQ). dK/dV: the maps of dK and dV after the
// four load maps; dK (two boxes) through own K's tile, dV (one box) through
// own V's, each its own bulk group, then one wait for both before the exit.
// CHECK-LABEL: func.func @grad(
// CHECK: gpu.func @spa_attention_grad_0_dkdv(
// CHECK-SAME: %[[DKMAP:[a-z0-9]+]]: !llvm.ptr, %[[DVMAP:[a-z0-9]+]]: !llvm.ptr)
// CHECK-SAME: "output_grad_map", "key_grad_map", "value_grad_map"]
// CHECK-SAME: {box = array<i64: 64, 16, 1, 1>, dims = array<i64: 128, 100, 1, 1>, {{.*}}name = "key_grad_map", of = "key_grad"
// CHECK-SAME: {box = array<i64: 64, 16, 1, 1>, dims = array<i64: 64, 100, 1, 1>, {{.*}}name = "value_grad_map", of = "value_grad"
// CHECK-SAME: spa.tensor_map_args = array<i32: 11, 12, 13, 14, 15, 16>
// CHECK-COUNT-32: vector.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : memref<2x64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: nvvm.bar.warp.sync
// CHECK: nvvm.cp.async.bulk.tensor.global.shared.cta %[[DKMAP]], %{{.*}}, box[%c0_i32,
// CHECK-NEXT: arith.addi
// CHECK-NEXT: llvm.inttoptr
// CHECK-NEXT: nvvm.cp.async.bulk.tensor.global.shared.cta %[[DKMAP]], %{{.*}}, box[%c64_i32,
// CHECK-NEXT: nvvm.cp.async.bulk.commit.group
// CHECK-NOT: nvvm.cp.async.bulk.wait_group
// CHECK-COUNT-16: vector.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : memref<1x64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: nvvm.bar.warp.sync
// CHECK: nvvm.cp.async.bulk.tensor.global.shared.cta %[[DVMAP]], %{{.*}}, box[%c0_i32,
// CHECK-NEXT: nvvm.cp.async.bulk.commit.group
// CHECK-NOT: vector<8xbf16>
// CHECK: nvvm.cp.async.bulk.wait_group 0 {read}
// CHECK-NEXT: }
// CHECK-NEXT: gpu.return
// dq_stored: dQ's map after K's; two boxes through the K ring's memory.
// CHECK: gpu.func @spa_attention_grad_0_dq_stored(
// CHECK-SAME: %[[DQMAP:[a-z0-9]+]]: !llvm.ptr)
// CHECK-SAME: args = ["key", "score_grad", "query_grad", "bounds", "work", "key_map", "query_grad_map"]
// CHECK-SAME: {box = array<i64: 64, 16, 1, 1>, dims = array<i64: 128, 100, 2, 1>, {{.*}}name = "query_grad_map", of = "query_grad"
// CHECK: nvvm.fence.proxy
// CHECK-NEXT: nvvm.bar.warp.sync
// CHECK: nvvm.cp.async.bulk.tensor.global.shared.cta %[[DQMAP]], %{{.*}}, box[%c0_i32,
// CHECK: nvvm.cp.async.bulk.tensor.global.shared.cta %[[DQMAP]], %{{.*}}, box[%c64_i32,
// CHECK-NEXT: nvvm.cp.async.bulk.commit.group
// CHECK-NOT: vector<8xbf16>
// CHECK: nvvm.cp.async.bulk.wait_group 0 {read}
// CHECK-NEXT: }
// CHECK-NEXT: gpu.return
// The warp-specialised dK/dV kernel: the same maps and stores.
// WS-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// WS-SAME: "key_grad_map", "value_grad_map"]
// WS-COUNT-3: nvvm.cp.async.bulk.tensor.global.shared.cta
// WS: nvvm.cp.async.bulk.wait_group 0 {read}
func.func @grad(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>,
                %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>,
                %lse: memref<1x2x100xf32>, %do: memref<1x2x100x64xbf16>,
                %dq: memref<1x2x100x128xbf16>, %dk: memref<1x1x100x128xbf16>,
                %dv: memref<1x1x100x64xbf16>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %lse, %do : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%dq, %dk, %dv : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>)
  return
}
