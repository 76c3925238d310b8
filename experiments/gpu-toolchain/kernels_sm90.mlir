// Hopper (sm_90a) probe for the spa GPU path, MLIR 22 upstream nvgpu ops.
//
//  @wgmma_tma  C[64,64] (f32) = A[64,64] (bf16, row-major) * Bt[64,64]^T (bf16,
//              row-major, i.e. K-contiguous like K in Q*K^T).  One CTA, one
//              warpgroup (128 threads):
//                thread 0: mbarrier.init, fence.mbarrier_init, expect_tx(16 KiB),
//                          two TMA tile loads (nvgpu.tma.async.load, 128B swizzle)
//                all:      mbarrier.try_wait.parity, wgmma descriptors,
//                          nvgpu.warpgroup.mma (4 x wgmma m64n64k16 bf16), wait,
//                          nvgpu.warpgroup.mma.store to global.
//              Shared memory: *dynamic*, declared as an uninitialised public
//              memref.global in workgroup space with alignment 1024 (128B
//              swizzle needs 1024-byte aligned tiles).  That lowers to
//              `.extern .shared .align 1024 .b8 smem_dyn[];`, real dynamic
//              shared memory.  (gpu.dynamic_shared_memory lowers to an
//              *internal* zero-size global, printed as a 1-byte static shared
//              variable: see @dynsmem_alias in kernels.mlir and the doc.)
//              A sits at byte 0 and Bt at byte 65536, so the launch needs
//              73728 B of dynamic shared memory: this also exercises the
//              > 48 KiB opt-in (cuFuncSetAttribute MAX_DYNAMIC_SHARED_SIZE).
//              Tensor maps arrive as !llvm.ptr to a 128-byte CUtensorMap in
//              global memory (host: cuTensorMapEncodeTiled + copy); a
//              !nvgpu.tensormap.descriptor kernel argument does not convert in
//              convert-gpu-to-nvvm (MLIR 22: "failed to legalize operation
//              'gpu.func'"), so the pointer is cast in the body (casts cancel).
!tmA = !nvgpu.tensormap.descriptor<tensor = memref<64x64xbf16, 3>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
!tmB = !nvgpu.tensormap.descriptor<tensor = memref<64x64xbf16, 3>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
!bar = !nvgpu.mbarrier.group<memorySpace = #gpu.address_space<workgroup>, num_barriers = 1>
!smemTile = memref<64x64xbf16, #gpu.address_space<workgroup>>
module attributes {gpu.container_module} {
  gpu.module @kernels_sm90 {
    memref.global @smem_dyn : memref<0xi8, #gpu.address_space<workgroup>> {alignment = 1024 : i64}

    gpu.func @wgmma_tma(%pA: !llvm.ptr, %pB: !llvm.ptr, %out: memref<64x64xf32>) kernel
        attributes {known_block_size = array<i32: 128, 1, 1>} {
      %descA = builtin.unrealized_conversion_cast %pA : !llvm.ptr to !tmA
      %descB = builtin.unrealized_conversion_cast %pB : !llvm.ptr to !tmB
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %tx = arith.constant 16384 : index
      %ticks = arith.constant 10000000 : index
      %false = arith.constant false
      %tid = gpu.thread_id x
      %leader = arith.cmpi eq, %tid, %c0 : index
      %g = memref.get_global @smem_dyn : memref<0xi8, #gpu.address_space<workgroup>>
      // bf16 views at byte offsets 0 and 65536 of the dynamic segment
      %whole = memref.reinterpret_cast %g to offset: [0], sizes: [73728], strides: [1]
          : memref<0xi8, #gpu.address_space<workgroup>> to memref<73728xi8, #gpu.address_space<workgroup>>
      %c65536 = arith.constant 65536 : index
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
      %dA = nvgpu.warpgroup.generate.descriptor %tA, %descA : !smemTile, !tmA -> !nvgpu.warpgroup.descriptor<tensor = !smemTile>
      %dB = nvgpu.warpgroup.generate.descriptor %tB, %descB : !smemTile, !tmB -> !nvgpu.warpgroup.descriptor<tensor = !smemTile>
      %acc = nvgpu.warpgroup.mma.init.accumulator -> <fragmented = vector<64x64xf32>>
      %r = nvgpu.warpgroup.mma %dA, %dB, %acc
          : <tensor = !smemTile>, <tensor = !smemTile>, <fragmented = vector<64x64xf32>>
            -> <fragmented = vector<64x64xf32>>
      nvvm.wgmma.wait.group.sync.aligned 0
      nvgpu.warpgroup.mma.store %r, %out : <fragmented = vector<64x64xf32>> to memref<64x64xf32>
      gpu.return
    }
  }
}
