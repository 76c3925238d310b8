// stmatrix-staging=true (StagedStores.h, stageFragmentsByMatrix): the rows
// a warp stages in shared memory are written by stmatrix (m8n8, x4, b16),
// two 8-column tiles an instruction, instead of one 4-byte store per
// fragment pair. Lane l addresses row l % 8 of matrix l / 8: matrices 0
// and 1 are tile t's rows g and g + 8, matrices 2 and 3 tile t + 1's, so
// lane l's row is 16 warp + 8 ((l / 8) % 2) + l % 8 and its 16-byte chunk
// (t % 8) ^ (l / 16) ^ (l % 8), the swizzle the 4-byte stores write.
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="stages=1 stmatrix-staging=true" -canonicalize | FileCheck %s
// The gradient: the stored dS tiles, dK, dV and dQ; the atomic dQ's dS^T
// (classic and warp-specialised kernels).
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="score-grads=store stmatrix-staging=true" -canonicalize | FileCheck %s --check-prefix=GRAD
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="deterministic=false backward-schedule=classic stmatrix-staging=true" -canonicalize | FileCheck %s --check-prefix=ATOMIC
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="deterministic=false backward-schedule=ws stmatrix-staging=true" -canonicalize | FileCheck %s --check-prefix=ATOMIC
// Off by default, and nothing to do without wgmma (stmatrix is sm_90).
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu -canonicalize | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="chip=sm_80 stmatrix-staging=true" -canonicalize | FileCheck %s --check-prefix=OFF
// OFF-NOT: nvvm.stmatrix

// D = Dv = 64, one warpgroup: 8 tiles of O, 4 stmatrix into Q's tile, then
// the warp's 16-byte chunk reads.
// CHECK-LABEL: gpu.func @spa_attention_0(
// CHECK: %[[MATRIX:.*]] = arith.divui %[[LANE:[0-9]+]], %c8 : index
// CHECK-NEXT: %[[MROW:.*]] = arith.remui %[[LANE]], %c8 : index
// CHECK-NEXT: %[[HALF:.*]] = arith.remui %[[MATRIX]], %c2 : index
// CHECK-NEXT: %[[HALFROW:.*]] = arith.muli %[[HALF]], %c8 : index
// CHECK-NEXT: %[[ROWA:.*]] = arith.addi %{{.*}}, %[[HALFROW]] : index
// CHECK-NEXT: %[[ROW:.*]] = arith.addi %[[ROWA]], %[[MROW]] : index
// CHECK-NEXT: %[[LANETILE:.*]] = arith.divui %[[MATRIX]], %c2 : index
// CHECK-NEXT: %[[CHUNK:.*]] = arith.xori %[[LANETILE]], %[[MROW]] : index
// CHECK-NEXT: %[[COL:.*]] = arith.muli %[[CHUNK]], %c8 : index
// CHECK-NEXT: %[[ROWEL:.*]] = arith.muli %[[ROW]], %c64 : index
// CHECK-NEXT: %[[EL:.*]] = arith.addi %[[ROWEL]], %[[COL]] : index
// CHECK-NEXT: %[[BYTES:.*]] = arith.muli %[[EL]], %c2 : index
// CHECK-NEXT: %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %[[Q:view[_0-9]*]] : memref<1x64x64xbf16, #gpu.address_space<workgroup>> -> index
// CHECK-NEXT: %[[AT:.*]] = arith.addi %[[BASE]], %[[BYTES]] : index
// CHECK: nvvm.stmatrix %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : !llvm.ptr<3>, i32, i32, i32, i32
// Tiles 2, 3: chunk 2 ^ the lane's.
// CHECK: arith.xori %[[CHUNK]], %c2 : index
// CHECK-COUNT-3: nvvm.stmatrix
// CHECK-NOT: vector<2xbf16>, #gpu.address_space<workgroup>
// CHECK-NOT: nvvm.stmatrix
// CHECK: nvvm.bar.warp.sync %c-1_i32
// CHECK-COUNT-4: vector.load %[[Q]][%c0, %{{.*}}, %{{.*}}] {alignment = 16 : i64} : memref<1x64x64xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK: gpu.return
func.func @layer(%q: memref<1x2x100x64xbf16>, %k: memref<1x1x100x64xbf16>,
                 %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>,
                 %l: memref<1x2x100xf32>) {
  spa.attention bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v : memref<1x2x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x1x100x64xbf16>)
      outs(%o, %l : memref<1x2x100x64xbf16>, memref<1x2x100xf32>)
  return
}

// -----

// The stored-dS dK/dV kernel at D = Dv = 64: per tile the dS^T tile (8
// tiles, 4 stmatrix), at the end dK and dV (4 each); the dq_stored kernel
// dQ (4).
// GRAD-LABEL: gpu.func @spa_attention_grad_0_dkdv(
// GRAD-COUNT-4: nvvm.stmatrix {{.*}} : !llvm.ptr<3>, i32, i32, i32, i32
// GRAD-NEXT: nvvm.fence.proxy
// GRAD-COUNT-8: nvvm.stmatrix
// GRAD-NOT: nvvm.stmatrix
// GRAD-NOT: vector<2xbf16>, #gpu.address_space<workgroup>
// GRAD-LABEL: gpu.func @spa_attention_grad_0_dq_stored(
// GRAD-COUNT-4: nvvm.stmatrix
// GRAD-NOT: nvvm.stmatrix
// GRAD-NOT: vector<2xbf16>, #gpu.address_space<workgroup>
// The atomic dQ: dS^T staged for its wgmma (A from shared memory).
// ATOMIC-LABEL: gpu.func @spa_attention_grad_0_dkdv_dq(
// ATOMIC-COUNT-4: nvvm.stmatrix {{.*}} : !llvm.ptr<3>, i32, i32, i32, i32
// ATOMIC-NEXT: nvvm.fence.proxy
func.func @grad(%q: memref<1x2x100x64xbf16>, %k: memref<1x1x100x64xbf16>,
                %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>,
                %l: memref<1x2x100xf32>, %do: memref<1x2x100x64xbf16>,
                %dq: memref<1x2x100x64xbf16>, %dk: memref<1x1x100x64xbf16>,
                %dv: memref<1x1x100x64xbf16>) {
  spa.attention_grad bands(#spa.bands<causal, [0:51], [51:100]>)
      ins(%q, %k, %v, %o, %l, %do : memref<1x2x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%dq, %dk, %dv : memref<1x2x100x64xbf16>, memref<1x1x100x64xbf16>, memref<1x1x100x64xbf16>)
  return
}
