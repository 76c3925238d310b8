// Hopper (sm_90a) probe for the spa GPU path, MLIR 22 upstream nvgpu/nvvm ops.
//
// One CTA, one warpgroup (128 threads), C[64,64] (f32) = A[64,64] (bf16,
// row-major) times a 64x64 bf16 B operand, K = 64 (4 wgmma m64n64k16):
//   thread 0: mbarrier.init, fence.mbarrier_init, expect_tx(16 KiB), two TMA
//             tile loads (nvgpu.tma.async.load, 128B swizzle, box 64x64)
//   all:      mbarrier.try_wait.parity, wgmma descriptors
//             (nvgpu.warpgroup.generate.descriptor), 4 wgmma, wait,
//             nvgpu.warpgroup.mma.store to global.
//
//  @wgmma_kn  B given as B[K,N] row-major (N contiguous; like V in P*V):
//             nvgpu.warpgroup.mma {transposeB} -- the layout the upstream
//             lowering supports (it steps the B descriptor by K*N-rows).
//  @wgmma_nk  B given as Bt[N,K] row-major (K contiguous; like K in Q*K^T):
//             nvgpu.warpgroup.mma *without* transposeB is broken in MLIR 22
//             (iterateDescriptorB "only handles column-major": it still steps
//             by 2048 B per k16, reads past the tile -> CUDA_ERROR_ILLEGAL_ADDRESS
//             on H100, seen 2026-11-22).  So this kernel calls
//             nvvm.wgmma.mma_async directly (layout B = col, i.e. K-major) and
//             advances both descriptors by 32 B (+2 in 16-byte units) per k16.
//
// Shared memory: *dynamic*, declared as an uninitialised public memref.global
// in workgroup space with alignment 1024 (128B swizzle wants 1024-byte aligned
// tiles); that lowers to `.extern .shared .align 1024 .b8 smem_dyn[];`, real
// dynamic shared memory.  (gpu.dynamic_shared_memory lowers to an *internal*
// zero-size global, printed as a 1-byte static shared variable that overlaps
// other static shared memory: see @dynsmem_alias in kernels.mlir.)  A sits at
// byte 0 and B at byte 65536, so the launch needs 73728 B of dynamic shared
// memory: this also exercises the > 48 KiB opt-in
// (cuFuncSetAttribute MAX_DYNAMIC_SHARED_SIZE_BYTES).
//
// Tensor maps arrive as !llvm.ptr to a 128-byte CUtensorMap in global memory
// (host: cuTensorMapEncodeTiled + copy).  A !nvgpu.tensormap.descriptor kernel
// argument does not convert in convert-gpu-to-nvvm (MLIR 22: "failed to
// legalize operation 'gpu.func'"), so the pointer is cast in the body with
// builtin.unrealized_conversion_cast (the casts cancel during lowering).
!tmA = !nvgpu.tensormap.descriptor<tensor = memref<64x64xbf16, 3>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
!tmB = !nvgpu.tensormap.descriptor<tensor = memref<64x64xbf16, 3>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
!bar = !nvgpu.mbarrier.group<memorySpace = #gpu.address_space<workgroup>, num_barriers = 1>
!smemTile = memref<64x64xbf16, #gpu.address_space<workgroup>>
!wgDesc = !nvgpu.warpgroup.descriptor<tensor = !smemTile>
!acc = !nvgpu.warpgroup.accumulator<fragmented = vector<64x64xf32>>
!accS = !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)>
!accO = !llvm.struct<(struct<(f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)>)>
module attributes {gpu.container_module} {
  gpu.module @kernels_sm90 {
    memref.global @smem_dyn : memref<0xi8, #gpu.address_space<workgroup>> {alignment = 1024 : i64}

    // C = A * B, B[K,N] row-major (N contiguous), upstream nvgpu.warpgroup.mma.
    gpu.func @wgmma_kn(%pA: !llvm.ptr, %pB: !llvm.ptr, %out: memref<64x64xf32>) kernel
        attributes {known_block_size = array<i32: 128, 1, 1>} {
      %descA = builtin.unrealized_conversion_cast %pA : !llvm.ptr to !tmA
      %descB = builtin.unrealized_conversion_cast %pB : !llvm.ptr to !tmB
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c65536 = arith.constant 65536 : index
      %tx = arith.constant 16384 : index
      %ticks = arith.constant 10000000 : index
      %false = arith.constant false
      %tid = gpu.thread_id x
      %leader = arith.cmpi eq, %tid, %c0 : index
      %g = memref.get_global @smem_dyn : memref<0xi8, #gpu.address_space<workgroup>>
      %whole = memref.reinterpret_cast %g to offset: [0], sizes: [73728], strides: [1]
          : memref<0xi8, #gpu.address_space<workgroup>> to memref<73728xi8, #gpu.address_space<workgroup>>
      %tA = memref.view %whole[%c0][] : memref<73728xi8, #gpu.address_space<workgroup>> to !smemTile
      %tB = memref.view %whole[%c65536][] : memref<73728xi8, #gpu.address_space<workgroup>> to !smemTile
      %bar = nvgpu.mbarrier.create -> !bar
      scf.if %leader {
        nvgpu.mbarrier.init %bar[%c0], %c1 : !bar
        nvvm.fence.mbarrier.init
      }
      gpu.barrier
      scf.if %leader {
        nvgpu.tma.prefetch.descriptor %descA : !tmA
        nvgpu.tma.prefetch.descriptor %descB : !tmB
        nvgpu.mbarrier.arrive.expect_tx %bar[%c0], %tx : !bar
        nvgpu.tma.async.load %descA[%c0, %c0], %bar[%c0] to %tA : !tmA, !bar -> !smemTile
        nvgpu.tma.async.load %descB[%c0, %c0], %bar[%c0] to %tB : !tmB, !bar -> !smemTile
      }
      nvgpu.mbarrier.try_wait.parity %bar[%c0], %false, %ticks : !bar
      %dA = nvgpu.warpgroup.generate.descriptor %tA, %descA : !smemTile, !tmA -> !wgDesc
      %dB = nvgpu.warpgroup.generate.descriptor %tB, %descB : !smemTile, !tmB -> !wgDesc
      %acc0 = nvgpu.warpgroup.mma.init.accumulator -> !acc
      %r = nvgpu.warpgroup.mma %dA, %dB, %acc0 {transposeB}
          : !wgDesc, !wgDesc, !acc -> !acc
      nvvm.wgmma.wait.group.sync.aligned 0
      nvgpu.warpgroup.mma.store %r, %out : !acc to memref<64x64xf32>
      gpu.return
    }

    // C = A * Bt^T, Bt[N,K] row-major (K contiguous): nvvm.wgmma.mma_async
    // directly, descriptors from nvgpu.warpgroup.generate.descriptor advanced
    // by +2 (32 bytes) per k16 step for both operands.
    gpu.func @wgmma_nk(%pA: !llvm.ptr, %pB: !llvm.ptr, %out: memref<64x64xf32>) kernel
        attributes {known_block_size = array<i32: 128, 1, 1>} {
      %descA = builtin.unrealized_conversion_cast %pA : !llvm.ptr to !tmA
      %descB = builtin.unrealized_conversion_cast %pB : !llvm.ptr to !tmB
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c65536 = arith.constant 65536 : index
      %tx = arith.constant 16384 : index
      %ticks = arith.constant 10000000 : index
      %false = arith.constant false
      %tid = gpu.thread_id x
      %leader = arith.cmpi eq, %tid, %c0 : index
      %g = memref.get_global @smem_dyn : memref<0xi8, #gpu.address_space<workgroup>>
      %whole = memref.reinterpret_cast %g to offset: [0], sizes: [73728], strides: [1]
          : memref<0xi8, #gpu.address_space<workgroup>> to memref<73728xi8, #gpu.address_space<workgroup>>
      %tA = memref.view %whole[%c0][] : memref<73728xi8, #gpu.address_space<workgroup>> to !smemTile
      %tB = memref.view %whole[%c65536][] : memref<73728xi8, #gpu.address_space<workgroup>> to !smemTile
      %bar = nvgpu.mbarrier.create -> !bar
      scf.if %leader {
        nvgpu.mbarrier.init %bar[%c0], %c1 : !bar
        nvvm.fence.mbarrier.init
      }
      gpu.barrier
      scf.if %leader {
        nvgpu.tma.prefetch.descriptor %descA : !tmA
        nvgpu.tma.prefetch.descriptor %descB : !tmB
        nvgpu.mbarrier.arrive.expect_tx %bar[%c0], %tx : !bar
        nvgpu.tma.async.load %descA[%c0, %c0], %bar[%c0] to %tA : !tmA, !bar -> !smemTile
        nvgpu.tma.async.load %descB[%c0, %c0], %bar[%c0] to %tB : !tmB, !bar -> !smemTile
      }
      nvgpu.mbarrier.try_wait.parity %bar[%c0], %false, %ticks : !bar
      %dA = nvgpu.warpgroup.generate.descriptor %tA, %descA : !smemTile, !tmA -> !wgDesc
      %dB = nvgpu.warpgroup.generate.descriptor %tB, %descB : !smemTile, !tmB -> !wgDesc
      %acc0 = nvgpu.warpgroup.mma.init.accumulator -> !acc
      %iA = builtin.unrealized_conversion_cast %dA : !wgDesc to i64
      %iB = builtin.unrealized_conversion_cast %dB : !wgDesc to i64
      // the accumulator type lowers to !llvm.struct<(struct<(f32 x 32)>)>
      %o0 = builtin.unrealized_conversion_cast %acc0 : !acc to !accO
      %s0 = llvm.extractvalue %o0[0] : !accO
      nvvm.wgmma.fence.aligned
      %s1 = nvvm.wgmma.mma_async %iA, %iB, %s0, <m = 64, n = 64, k = 16>,
          D[<f32>, <one>, <wrapped>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
          : !accS -> !accS
      %inc1 = llvm.mlir.constant(2 : i64) : i64
      %dA1 = llvm.add %iA, %inc1 : i64
      %dB1 = llvm.add %iB, %inc1 : i64
      %s2 = nvvm.wgmma.mma_async %dA1, %dB1, %s1, <m = 64, n = 64, k = 16>,
          D[<f32>, <one>, <wrapped>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
          : !accS -> !accS
      %inc2 = llvm.mlir.constant(4 : i64) : i64
      %dA2 = llvm.add %iA, %inc2 : i64
      %dB2 = llvm.add %iB, %inc2 : i64
      %s3 = nvvm.wgmma.mma_async %dA2, %dB2, %s2, <m = 64, n = 64, k = 16>,
          D[<f32>, <one>, <wrapped>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
          : !accS -> !accS
      %inc3 = llvm.mlir.constant(6 : i64) : i64
      %dA3 = llvm.add %iA, %inc3 : i64
      %dB3 = llvm.add %iB, %inc3 : i64
      %s4 = nvvm.wgmma.mma_async %dA3, %dB3, %s3, <m = 64, n = 64, k = 16>,
          D[<f32>, <one>, <wrapped>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
          : !accS -> !accS
      nvvm.wgmma.commit.group.sync.aligned
      nvvm.wgmma.wait.group.sync.aligned 0
      %o4 = llvm.insertvalue %s4, %o0[0] : !accO
      %r = builtin.unrealized_conversion_cast %o4 : !accO to !acc
      nvgpu.warpgroup.mma.store %r, %out : !acc to memref<64x64xf32>
      gpu.return
    }
  }
}
