// deterministic=false: dQ by bulk f32 reductions from the dK/dV kernel
// (wgmma backward). Launches preprocess (Delta and zeros into dq_accum),
// dkdv_dq (dK, dV, and each tile's dQ = dS K staged in shared memory and
// added by cp.reduce.async.bulk) and dq_convert (dQ = scale * dq_accum);
// dq_accum is a scratch buffer of the launch contract. D = 128, Dv = 64, GQA
// 2:1, Nq = Nk = 100 (rows past Nq in the last tile), 64 own rows, 64 stream
// rows.
// RUN: spa-opt %s -convert-spa-to-gpu="deterministic=false backward-schedule=classic" -canonicalize | FileCheck %s
// RUN: spa-opt %s --spa-to-nvvm="deterministic=false backward-schedule=classic format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX
// The default is deterministic: no dq_accum, no atomics.
// RUN: spa-opt %s -convert-spa-to-gpu | FileCheck %s --check-prefix=DET --implicit-check-not=dq_accum --implicit-check-not=cp.reduce.async.bulk --implicit-check-not=red.global.add --implicit-check-not=dq_convert

// DET-NOT: role = "preprocess"
// DET: role = "dq"
// DET: role = "dkdv"

// f32 dq_accum next to Delta, freed after the launches: [B][Hq][ceil(100 /
// 64) + 64 / 64 = 3 blocks][D / P][64][P], P = 64 (the mainloop's 73728
// bytes + 8192 of dS^T + 2 x 64 x 64 x 4 of staging + 24 of TMA barriers =
// 114712 <= 115712, two blocks an SM).
// CHECK: %[[DELTA:.*]] = gpu.alloc () : memref<1x2x100xf32>
// CHECK: %[[ACC:.*]] = gpu.alloc () : memref<1x2x3x2x64x64xf32>
// The preprocess reads the bounds too: rows without keys load nothing.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_preprocess {{.*}} args({{.*}}, %[[DELTA]] : memref<1x2x100xf32>, %[[ACC]] : memref<1x2x3x2x64x64xf32>, %{{.*}} : memref<2x1x2xi32>)
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv_dq {{.*}} dynamic_shared_memory_size %c114712_i32
// 1 x 2 x 100 x 128 / 8 = 3200 chunks, 128 threads: 25 blocks.
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_convert blocks in (%c25, %c1, %c1) threads in (%c128, %c1, %c1) args(%[[ACC]] : memref<1x2x3x2x64x64xf32>, %arg6 : memref<1x2x100x128xbf16>)
// CHECK: gpu.dealloc %[[DELTA]]
// CHECK: gpu.dealloc %[[ACC]]

// The preprocess zeroes all of dq_accum, padding included: 49152 f32 =
// 12288 stores of 4 by 8 x 128 threads, 12 grid-strided steps.
// CHECK: gpu.func @spa_attention_grad_0_preprocess(%{{.*}}, %[[PACC:arg[0-9]+]]: memref<1x2x3x2x64x64xf32>, %{{.*}}: memref<2x1x2xi32>)
// CHECK-SAME: args = ["output", "output_grad", "delta", "dq_accum", "bounds"]
// CHECK-SAME: role = "preprocess"
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %[[PACC]] {{\[}}[0, 1, 2, 3, 4, 5]] : memref<1x2x3x2x64x64xf32> into memref<49152xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c12 step %c1
// CHECK: arith.cmpi slt, %{{.*}}, %c12288
// CHECK: vector.store %{{.*}}, %[[FLAT]][{{.*}}] {alignment = 16 : i64} : memref<49152xf32>, vector<4xf32>

// CHECK: gpu.func @spa_attention_grad_0_dkdv_dq
// CHECK-SAME: args = ["query", "key", "value", "log_sum_exp", "output_grad", "delta", "key_grad", "value_grad", "dq_accum", "bounds", "work", "key_map", "value_map", "query_map", "output_grad_map", "key_grad_map", "value_grad_map"]
// CHECK-SAME: dynamic_shared_bytes = 114712 : i64{{.*}}mma = "wgmma", op = 0 : i64, programmatic_launch, role = "dkdv_dq"
// The dS^T tile after the mainloop's 73728 bytes: [warpgroups][tile-k/64][64][64];
// then the staging ring [warpgroups][2][64][P] f32.
// CHECK: memref.view {{.*}}[%c73728][] : memref<114712xi8, #gpu.address_space<workgroup>> to memref<1x1x64x64xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[RING:.*]] = memref.view {{.*}}[%c81920][] : memref<114712xi8, #gpu.address_space<workgroup>> to memref<1x2x64x64xf32, #gpu.address_space<workgroup>>
// Per tile: S^T, dP^T, dV as before ...
// CHECK: scf.for
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// ... dS^T rounded into the staging tile (8 tiles x 2 rows), made visible to wgmma ...
// CHECK-COUNT-16: vector.store {{.*}} : memref<1x1x64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// ... dQ = dS K in chunks of 64 query rows x 64 columns (32 accumulators,
// one chunk in flight): chunk 0 (4 k steps of m64n64k16, A and B from
// shared memory, both transposed: layout col for A, row for B) ...
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>{{.*}}A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// ... then dK += dS^T Q (4 k steps, one m64n128k16 each); dV and chunk 0
// waited for with dK in flight ...
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}p, 1, 1, 1;
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// ... chunk 0 is one piece (P = 64) in buffer 0: the issuing thread waits
// until the buffer's previous reduction has read it, warpgroup barrier
// (1 + warpgroup, 128 threads), the 32 fragments as 16 pairs (rows g, g + 8
// x 8 tiles) at swizzled columns, proxy fence, barrier ...
// CHECK: scf.if %[[ISSUER:.*]] {
// CHECK-NEXT: nvvm.cp.async.bulk.wait_group 1 {read}
// CHECK: llvm.inline_asm has_side_effects "bar.sync $0, 128;", "r"
// CHECK-COUNT-16: vector.store %{{.*}}, %[[RING]][%{{.*}}, %c0, %{{.*}}, %{{.*}}] {alignment = 8 : i64} : memref<1x2x64x64xf32, #gpu.address_space<workgroup>>, vector<2xf32>
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: llvm.inline_asm has_side_effects "bar.sync $0, 128;", "r"
// ... then one thread adds staged rows [0, 64 - s) to block i0 / 64 from
// row s = i0 % 64 and, when s > 0, rows [64 - s, 64) to the next block,
// 256 bytes a row, and commits the group ...
// CHECK: scf.if %[[ISSUER]] {
// CHECK: arith.muli %{{.*}}, %c256 : index
// CHECK: llvm.inline_asm has_side_effects "{\0A.reg .u64 g;\0Acvta.to.global.u64 g, $0;\0Acp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [g], [$1], $2;\0A}", "l,r,r"
// CHECK: arith.cmpi sgt, %{{.*}}, %c0 : index
// CHECK: llvm.inline_asm has_side_effects "{\0A.reg .u64 g;\0Acvta.to.global.u64 g, $0;\0Acp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [g], [$1], $2;\0A}", "l,r,r"
// CHECK: nvvm.cp.async.bulk.commit.group
// ... then chunk 1 (columns 64 ..), waited for with dK, through buffer 1.
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}}A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: nvvm.cp.async.bulk.wait_group 1 {read}
// CHECK: vector.store %{{.*}}, %[[RING]][%{{.*}}, %c1, %{{.*}}, %{{.*}}]
// CHECK: nvvm.cp.async.bulk.commit.group
// The kernel ends once the issuing thread's reductions are complete.
// CHECK: scf.if %[[ISSUER]] {
// CHECK-NEXT: nvvm.cp.async.bulk.wait_group 0{{$}}

// The convert kernel: eight f32 of one swizzled group -> scale -> bf16.
// CHECK: gpu.func @spa_attention_grad_0_dq_convert(%[[CACC:arg[0-9]+]]: memref<1x2x3x2x64x64xf32>, %[[DQ:arg[0-9]+]]: memref<1x2x100x128xbf16>)
// CHECK-SAME: args = ["dq_accum", "query_grad"]
// CHECK-SAME: role = "dq_convert"
// CHECK: arith.xori
// CHECK: vector.load %[[CACC]]{{.*}} {alignment = 32 : i64} : memref<1x2x3x2x64x64xf32>, vector<8xf32>
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : vector<8xf32>
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store {{.*}}, %[[DQ]]

// PTX: .entry spa_attention_grad_0_dkdv_dq(
// PTX: fence.proxy.async.shared::cta;
// PTX: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}, %rd{{[0-9]+}}, %rd{{[0-9]+}}, p, 1, 1, 1, 1;
// PTX: cp.async.bulk.wait_group.read 1;
// PTX: bar.sync %r{{[0-9]+}}, 128;
// PTX: st.shared.v2.{{f32|b32}}
// PTX: cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [g], [%r{{[0-9]+}}], %r{{[0-9]+}};
// PTX: cp.async.bulk.commit_group;
// PTX: cp.async.bulk.wait_group 0;
// PTX: .entry spa_attention_grad_0_dq_convert(

func.func @grad(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x64xbf16>, %o: memref<1x2x100x64xbf16>, %l: memref<1x2x100xf32>, %do: memref<1x2x100x64xbf16>, %dq: memref<1x2x100x128xbf16>, %dk: memref<1x1x100x128xbf16>, %dv: memref<1x1x100x64xbf16>) {
  spa.attention_grad bands(#spa.bands<causal, [0:40], [40:100]>)
      ins(%q, %k, %v, %o, %l, %do : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>, memref<1x2x100x64xbf16>, memref<1x2x100xf32>, memref<1x2x100x64xbf16>)
      outs(%dq, %dk, %dv : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x64xbf16>)
  return
}
