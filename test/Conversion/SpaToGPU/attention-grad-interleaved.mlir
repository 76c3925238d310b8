// interleaved-dq (BackwardInterleaved.cpp, InterleavedSync.h): with the
// stored dS, the dK/dV and dq_stored kernels' blocks run in one launch
// (role dkdv_dq_stored) after the preprocess, which also zeroes the i32
// scratch grad_sync (the claim counter, then one flag a dK/dV item: here
// 1 + B 1 x Hkv 1 x 2 key tiles = 3). The op: B = 1, Hq = 2, Hkv = 1,
// N = 100, D = 128 (two key tiles, two query tiles a head): 2 dK/dV
// blocks and 4 dQ blocks, so the work table is 2 + 4 + 6 rows.
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store interleaved-dq=true interleaved-dq-lag=1" -canonicalize | FileCheck %s
// The order follows the lag: with lag 0 each dQ block comes right after the
// last dK/dV block it reads (the query tile 0 items, entries 4 and 5, read
// key tile 0 only; the tile 1 items, 2 and 3, both), with a lag past the
// list after every dK/dV block.
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store interleaved-dq=true interleaved-dq-lag=0" | FileCheck %s --check-prefix=LAG0
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store interleaved-dq=true interleaved-dq-lag=100" | FileCheck %s --check-prefix=LAGEND
// The dQ blocks' ring: interleaved-dq-stages (4 by default, 2 here).
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store interleaved-dq=true interleaved-dq-stages=2" -canonicalize | FileCheck %s --check-prefix=STAGES2
// Without it, the three launches are unchanged:
// RUN: spa-opt %s -convert-spa-to-gpu="score-grads=store" -canonicalize | FileCheck %s --check-prefix=OFF
// OFF-NOT: grad_sync
// OFF: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv
// OFF-NEXT: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dq_stored
// OFF-NOT: grad_sync
// RUN: spa-opt %s --spa-to-nvvm="score-grads=store interleaved-dq=true format=isa" | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX

// CHECK: %[[SYNC:.*]] = gpu.alloc () : memref<3xi32>
// CHECK: gpu.launch_func @spa_kernels::@spa_attention_grad_0_preprocess {{.*}} args({{.*}}, %[[SYNC]] : memref<3xi32>, %{{.*}} : memref<2x2x2xi32>)
// The dK/dV kernel's shared memory (115480 bytes), rounded to 16, then
// the claim's i32: two blocks an SM still fit (2 x (115504 + 1024) <=
// 233472).
// CHECK-NEXT: gpu.launch_func @spa_kernels::@spa_attention_grad_0_dkdv_dq_stored blocks in (%c6, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %c115504_i32 args(
// CHECK-SAME: %[[SYNC]] : memref<3xi32>, %{{.*}} : memref<2x2x2xi32>, %{{.*}} : memref<12x3xi32>,
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.dealloc %[[SYNC]]

// The preprocess zeroes grad_sync: each thread the elements at its global
// index, strided by the grid's threads.
// CHECK: gpu.func @spa_attention_grad_0_preprocess(
// CHECK-SAME: args = ["output", "output_grad", "delta", "grad_sync", "bounds"]
// CHECK: scf.for %[[AT:.*]] = %{{.*}} to %c3 step %c{{[0-9]+}} {
// CHECK-NEXT: memref.store %c0_i32, %{{.*}}[%[[AT]]] : memref<3xi32>

// The fused kernel: the dK/dV kernel's arguments, query_grad, grad_sync,
// the constants, the dK/dV kernel's maps (its key_map serves the dQ
// blocks too). Thread 0 claims the next entry, a barrier shares it, the
// order's row (after the 2 + 4 list rows) names the block's work.
// CHECK: gpu.func @spa_attention_grad_0_dkdv_dq_stored(
// CHECK-SAME: args = ["query", "key", "value", "log_sum_exp", "output_grad", "delta", "key_grad", "value_grad", "score_grad", "query_grad", "grad_sync", "bounds", "work", "key_map", "value_map", "query_map", "output_grad_map", "key_grad_map", "value_grad_map", "query_grad_map"]
// CHECK-SAME: role = "dkdv_dq_stored"
// The table: dK/dV items (b, g, key tile) (0,0,0), (0,0,1); dQ items
// (b, h, query tile), heaviest first, (0,0,1), (0,1,1), (0,0,0), (0,1,0);
// then the order (lag 1 is past this 2-block list: every dQ block last).
// CHECK-SAME: work = array<i32: 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0, 5, 0, 0>
// CHECK: %[[KVWORK:.*]] = memref.subview %[[WORK:.*]][0, 0] [2, 3] [1, 1]
// CHECK: %[[DQWORK:.*]] = memref.subview %[[WORK]][2, 0] [4, 3] [1, 1]
// CHECK: memref.view %{{.*}}[%c115488][] : memref<115504xi8, #gpu.address_space<workgroup>> to memref<1xi32, #gpu.address_space<workgroup>>
// CHECK: scf.if
// CHECK-NEXT: %[[CLAIM:.*]] = memref.atomic_rmw addi %c1_i32, %[[SYNCARG:.*]][%c0] : (i32, memref<3xi32>) -> i32
// CHECK-NEXT: memref.store %[[CLAIM]]
// CHECK-NEXT: }
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: %[[ENTRY:.*]] = memref.load
// CHECK-NEXT: %[[E:.*]] = arith.index_cast %[[ENTRY]] : i32 to index
// CHECK-NEXT: %[[ROW:.*]] = arith.addi %[[E]], %c6 : index
// CHECK-NEXT: %[[BLOCK:.*]] = memref.load %[[WORK]][%[[ROW]], %c0] : memref<12x3xi32>
// CHECK-NEXT: %[[B:.*]] = arith.index_cast %[[BLOCK]] : i32 to index
// CHECK-NEXT: %[[KV:.*]] = arith.cmpi slt, %[[B]], %c2 : index
// CHECK-NEXT: scf.if %[[KV]] {
// The dK/dV block reads its item from its list's view; after its epilogue
// thread 0 publishes its key tile: membar.gl, then the flag's atomic add.
// CHECK: memref.load %[[KVWORK]][%[[B]], %c0]
// CHECK: nvvm.cp.async.bulk.wait_group 0{{$}}
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.global>}
// CHECK: nvvm.memory.barrier <gpu>
// CHECK: %[[FLAG:.*]] = arith.addi %{{.*}}, %c1 : index
// CHECK-NEXT: memref.atomic_rmw addi %c1_i32, %[[SYNCARG]][%[[FLAG]]]
// CHECK-NEXT: }
// CHECK-NEXT: } else {
// The dQ block: its item from the dQ list's view; before each copy of a
// key tile's K and dS tiles the copying thread waits for the tile's flag
// (atomic adds of 0, a 64 ns sleep between), then fences the async proxy.
// CHECK-NEXT: %[[Q:.*]] = arith.subi %[[B]], %c2 : index
// CHECK: memref.load %[[DQWORK]][%[[Q]], %c0]
// CHECK: scf.while : () -> () {
// CHECK-NEXT: %[[SEEN:.*]] = memref.atomic_rmw addi %c0_i32, %[[SYNCARG]][%{{.*}}] : (i32, memref<3xi32>) -> i32
// CHECK-NEXT: %[[UNSET:.*]] = arith.cmpi eq, %[[SEEN]], %c0_i32 : i32
// CHECK-NEXT: scf.condition(%[[UNSET]])
// CHECK-NEXT: } do {
// CHECK-NEXT: nvvm.nanosleep %c64_i32
// CHECK-NEXT: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.global>}
// CHECK: nvvm.cp.async.bulk.shared.cluster.global

// LAG0: work = array<i32: 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 4, 0, 0, 5, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0>
// LAGEND: work = array<i32: 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0, 5, 0, 0>

// STAGES2: gpu.func @spa_attention_grad_0_dkdv_dq_stored(
// STAGES2: } else {
// STAGES2-COUNT-2: nvvm.mbarrier.init
// STAGES2-NOT: nvvm.mbarrier.init

// Atomics at run time: the claim and the flags are atom adds, the wait
// sleeps between reads.
// PTX: .entry spa_attention_grad_0_dkdv_dq_stored(
// PTX: atom.{{.*}}add.u32
// PTX: membar.gl;
// PTX: nanosleep.u32 64;
// PTX: fence.proxy.async.global;

func.func @f(%q: memref<1x2x100x128xbf16>, %k: memref<1x1x100x128xbf16>, %v: memref<1x1x100x128xbf16>, %o: memref<1x2x100x128xbf16>, %l: memref<1x2x100xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:8, 60:100], [8:60]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x2x100x128xbf16>, memref<1x2x100xf32>, memref<1x2x100x128xbf16>)
      outs(%q, %k, %v : memref<1x2x100x128xbf16>, memref<1x1x100x128xbf16>, memref<1x1x100x128xbf16>)
  return
}
