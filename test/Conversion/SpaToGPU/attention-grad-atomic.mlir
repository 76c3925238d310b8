// deterministic=false: dQ by f32 atomics from the dK/dV kernel (wgmma
// backward). Launches preprocess (Delta and zeros into dq_accum), dkdv_dq
// (dK, dV, and each tile's dQ = dS K added by red.global.add.f32) and
// dq_convert (dQ = scale * dq_accum); dq_accum is a scratch buffer of the
// launch contract. D = 128, Dv = 64, GQA 2:1, Nq = Nk = 100 (rows past Nq
// in the last tile), 64 own rows, 64 stream rows.
// RUN: spa-opt %s -convert-spa-to-gpu="deterministic=false" -canonicalize | FileCheck %s
// RUN: spa-opt %s --spa-to-nvvm="deterministic=false format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX
// The default is deterministic: no dq_accum, no atomics.
// RUN: spa-opt %s -convert-spa-to-gpu | FileCheck %s --check-prefix=DET --implicit-check-not=dq_accum --implicit-check-not=red.global.add --implicit-check-not=dq_convert

// DET: role = "preprocess"
// DET: role = "dkdv"
// DET: role = "dq"

// f32 dq_accum [B, Hq, Nq, D] next to Delta, freed after the launches.
// CHECK: %[[DELTA:.*]] = gpu.alloc () : memref<1x2x100xf32>
// CHECK: %[[ACC:.*]] = gpu.alloc () : memref<1x2x100x128xf32>
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_preprocess {{.*}} args({{.*}}, %[[DELTA]] : memref<1x2x100xf32>, %[[ACC]] : memref<1x2x100x128xf32>)
// (64 + 2 x 64) x (128 + 64) x 2 bytes of mainloop tiles + 64 x 64 x 2 of dS^T.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv_dq {{.*}} dynamic_shared_memory_size %c81920_i32
// 1 x 2 x 100 x 128 / 8 = 3200 chunks, 128 threads: 25 blocks.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_convert blocks in (%c25, %c1, %c1) threads in (%c128, %c1, %c1) args(%[[ACC]] : memref<1x2x100x128xf32>, %arg6 : memref<1x2x100x128xbf16>)
// CHECK: gpu.dealloc %[[DELTA]]
// CHECK: gpu.dealloc %[[ACC]]

// The preprocess zeroes its rows of dq_accum: D / 16 = 8 stores of 4 f32.
// CHECK: gpu.func @spa_attention_grad_0_preprocess(%{{.*}}, %[[PACC:arg[0-9]+]]: memref<1x2x100x128xf32>)
// CHECK-SAME: args = ["output", "output_grad", "delta", "dq_accum"]
// CHECK-SAME: role = "preprocess"
// CHECK-COUNT-8: vector.store %{{.*}}, %[[PACC]][{{.*}}] {alignment = 16 : i64} : memref<1x2x100x128xf32>, vector<4xf32>

// CHECK: gpu.func @spa_attention_grad_0_dkdv_dq
// CHECK-SAME: args = ["query", "key", "value", "log_sum_exp", "output_grad", "delta", "key_grad", "value_grad", "dq_accum", "bounds", "work"]
// CHECK-SAME: dynamic_shared_bytes = 81920 : i64{{.*}}mma = "wgmma", op = 0 : i64, role = "dkdv_dq"
// The dS^T tile after the mainloop's 73728 bytes: [warpgroups][tile-k/64][64][64].
// CHECK: memref.view {{.*}}[%c73728][] : memref<81920xi8, #gpu.address_space<workgroup>> to memref<1x1x64x64xbf16, #gpu.address_space<workgroup>>
// Per tile: S^T, dP^T, dV as before ...
// CHECK: scf.for
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// ... dS^T rounded into the staging tile (8 tiles x 2 rows), made visible to wgmma ...
// CHECK-COUNT-16: vector.store {{.*}} : memref<1x1x64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK: llvm.inline_asm has_side_effects "fence.proxy.async.shared::cta;"
// CHECK-NEXT: gpu.barrier
// ... dQ = dS K in chunks of 64 query rows x 64 columns (32 accumulators,
// one chunk in flight): chunk 0 (4 k steps of m64n64k16, A and B from
// shared memory, both transposed: layout col for A, row for B) ...
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>{{.*}}A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// ... then dK += dS^T Q; dV and chunk 0 waited for with dK in flight ...
// CHECK-COUNT-8: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}p, 1, 1, 1;
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// ... each lane's 16 values of a row of the chunk in one statement of
// red.global.add.f32 (rows >= Nq skipped) ...
// CHECK: arith.cmpi slt, %{{.*}}, %c100
// CHECK: llvm.inline_asm has_side_effects "{\0A.reg .u64 a;\0Acvta.to.global.u64 a, $0;\0Ared.global.add.f32 [a+0], $1;\0Ared.global.add.f32 [a+4], $2;\0Ared.global.add.f32 [a+32], $3;
// CHECK-SAME: red.global.add.f32 [a+228], $16;\0A}"
// ... then chunk 1 (columns 64 ..), waited for with dK.
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}}A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: red.global.add.f32 [a+228], $16;

// The convert kernel: eight f32 -> scale -> bf16.
// CHECK: gpu.func @spa_attention_grad_0_dq_convert(%[[CACC:arg[0-9]+]]: memref<1x2x100x128xf32>, %[[DQ:arg[0-9]+]]: memref<1x2x100x128xbf16>)
// CHECK-SAME: args = ["dq_accum", "query_grad"]
// CHECK-SAME: role = "dq_convert"
// CHECK: vector.load %[[CACC]]{{.*}} : memref<1x2x100x128xf32>, vector<8xf32>
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : vector<8xf32>
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store {{.*}}, %[[DQ]]

// PTX: .entry spa_attention_grad_0_dkdv_dq(
// PTX: fence.proxy.async.shared::cta;
// PTX: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}, %rd{{[0-9]+}}, %rd{{[0-9]+}}, p, 1, 1, 1, 1;
// PTX: cvta.to.global.u64 a,
// PTX: red.global.add.f32 [a+0],
// PTX: .entry spa_attention_grad_0_dq_convert(

func.func @grad(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>, %do: memref<1x2x100x64xbf16>, %dq: memref<1x2x100x128xbf16>, %dk: memref<1x1x100x128xbf16>, %dv: memref<1x1x100x64xbf16>) {
  spa.attention_grad bands(#spa.bands<causal, [0:40], [40:100]>)
      ins(%q, %k, %v, %o, %l, %do : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%dq, %dk, %dv : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>)
  return
}
