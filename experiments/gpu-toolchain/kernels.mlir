// Toolchain probe for the spa GPU path (MLIR 22 upstream ops only).
//
// gpu.module @kernels:
//  @axpy    out[i] = alpha * x[i] + y[i]   (f32, 1-D grid; sanity check)
//  @exp2_scale out[i] = exp2(alpha * x[i]) (f32; checks how math.exp2 lowers)
//  @extsmem_alias: static vs dynamic shared memory (extern memref.global)
//  @matmul  (below)
// gpu.module @dynsmem:
//  @dynsmem_alias: static vs dynamic shared memory (gpu.dynamic_shared_memory;
//           on the H100 the two overlap: see docs/gpu-toolchain.md)
//
//  @matmul  C[M,N] (f32) = A[M,K] (bf16, row-major) * Bt[N,K]^T (bf16, row-major)
//           i.e. C = A * B with B stored "K-contiguous" per column, exactly the
//           layout of Q * K^T in attention (K is [N, D] row-major).
//           Block tile 64x64, K step 32, 128 threads = 4 warps in a 2x2 grid,
//           each warp owns a 32x32 sub-tile = 2 (m16) x 4 (n8) mma.sync
//           m16n8k16 accumulators.  Operands are staged global -> shared with
//           cp.async (nvgpu.device_async_copy, 16 B per copy) into a 2-stage
//           ring in a workgroup attribution (static shared memory), shared ->
//           registers with nvgpu.ldmatrix, math with nvvm.mma.sync (bf16 operands
//           as i32 pairs: nvgpu.mma.sync cannot lower bf16 in MLIR 22, see doc).
//           Requires M % 64 == 0, N % 64 == 0, K % 32 == 0 (launcher checks).
//           Grid = (N/64, M/64), block = (128, 1, 1).
//
// Shared rows are padded from 32 to 40 bf16 (80 B): the 8 row addresses of an
// ldmatrix 8x8 matrix then fall into 8 disjoint groups of 4 banks.
// The workgroup attributions carry {llvm.align = 128}: without it MLIR 22
// emits `.shared .align 2` (the element alignment), while cp.async (16 B) and
// ldmatrix need 16-byte aligned addresses.
//
// Memref arguments are 1-D with dynamic size, so one binary serves all sizes
// with the default (memref descriptor) kernel ABI: each memref<?xT> becomes
// (allocated ptr, aligned ptr, i64 offset, i64 size, i64 stride), index -> i64.
// The bare-pointer ABI needs static shapes; build.sh makes that variant by
// rewriting memref<?xT> to memref<1073741824xT> (docs/gpu-toolchain.md).

module attributes {gpu.container_module} {
  gpu.module @kernels {

    gpu.func @axpy(%x: memref<?xf32>, %y: memref<?xf32>, %out: memref<?xf32>,
                   %alpha: f32, %n: index) kernel {
      %bid = gpu.block_id x
      %bdim = gpu.block_dim x
      %tid = gpu.thread_id x
      %base = arith.muli %bid, %bdim : index
      %i = arith.addi %base, %tid : index
      %inb = arith.cmpi ult, %i, %n : index
      scf.if %inb {
        %xv = memref.load %x[%i] : memref<?xf32>
        %yv = memref.load %y[%i] : memref<?xf32>
        %ax = arith.mulf %alpha, %xv : f32
        %r = arith.addf %ax, %yv : f32
        memref.store %r, %out[%i] : memref<?xf32>
      }
      gpu.return
    }

    // out[i] = exp2(alpha * x[i]): checks that math.exp2 lowers (to libdevice
    // __nv_exp2f, which gpu-module-to-binary must link) inside a gpu.func.
    gpu.func @exp2_scale(%x: memref<?xf32>, %out: memref<?xf32>, %alpha: f32,
                         %n: index) kernel {
      %bid = gpu.block_id x
      %bdim = gpu.block_dim x
      %tid = gpu.thread_id x
      %base = arith.muli %bid, %bdim : index
      %i = arith.addi %base, %tid : index
      %inb = arith.cmpi ult, %i, %n : index
      scf.if %inb {
        %xv = memref.load %x[%i] : memref<?xf32>
        %ax = arith.mulf %alpha, %xv : f32
        %e = math.exp2 %ax : f32
        memref.store %e, %out[%i] : memref<?xf32>
      }
      gpu.return
    }

    // ---- Shared-memory aliasing probes (64 threads, 1 block, 256 B dynamic
    // shared memory).  Each kernel has a 64 x f32 *static* buffer (workgroup
    // attribution) and a 64 x f32 *dynamic* one; thread t writes 1000 + t to
    // the static and 2000 + t to the dynamic buffer, then reads both back:
    //   out[t] = static[t], out[64 + t] = dynamic[t].
    // Correct: out = [1000.., 2000..].  If the "dynamic" buffer overlaps the
    // static one, out[0:64] reads 2000 + t.
    //  @extsmem_alias (here) uses the public, uninitialised memref.global
    //  @smem_ext (lowers to `.extern .shared .align 16 .b8 smem_ext[];`);
    //  @dynsmem_alias (gpu.module @dynsmem below) uses the upstream op
    //  gpu.dynamic_shared_memory.  It lives in its own gpu.module because the
    //  lowering of gpu.dynamic_shared_memory *reuses* a zero-sized workgroup
    //  global of the same alignment already in the module (here: @smem_ext).
    memref.global @smem_ext : memref<0xi8, #gpu.address_space<workgroup>> {alignment = 16 : i64}

    gpu.func @extsmem_alias(%out: memref<?xf32>)
        workgroup(%st: memref<64xf32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %c64 = arith.constant 64 : index
      %tid = gpu.thread_id x
      %g = memref.get_global @smem_ext : memref<0xi8, #gpu.address_space<workgroup>>
      %whole = memref.reinterpret_cast %g to offset: [0], sizes: [256], strides: [1]
          : memref<0xi8, #gpu.address_space<workgroup>> to memref<256xi8, #gpu.address_space<workgroup>>
      %dvw = memref.view %whole[%c0][] : memref<256xi8, #gpu.address_space<workgroup>> to memref<64xf32, #gpu.address_space<workgroup>>
      %ti = arith.index_cast %tid : index to i32
      %tf = arith.sitofp %ti : i32 to f32
      %k1 = arith.constant 1000.0 : f32
      %k2 = arith.constant 2000.0 : f32
      %v1 = arith.addf %tf, %k1 : f32
      %v2 = arith.addf %tf, %k2 : f32
      memref.store %v1, %st[%tid] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %v2, %dvw[%tid] : memref<64xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %r1 = memref.load %st[%tid] : memref<64xf32, #gpu.address_space<workgroup>>
      %r2 = memref.load %dvw[%tid] : memref<64xf32, #gpu.address_space<workgroup>>
      %i2 = arith.addi %tid, %c64 : index
      memref.store %r1, %out[%tid] : memref<?xf32>
      memref.store %r2, %out[%i2] : memref<?xf32>
      gpu.return
    }

    gpu.func @matmul(%A: memref<?xbf16>, %Bt: memref<?xbf16>, %C: memref<?xf32>,
                     %M: index, %N: index, %K: index)
        workgroup(%As: memref<2x64x40xbf16, #gpu.address_space<workgroup>> {llvm.align = 128 : i64},
                  %Bs: memref<2x64x40xbf16, #gpu.address_space<workgroup>> {llvm.align = 128 : i64})
        kernel attributes {known_block_size = array<i32: 128, 1, 1>} {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      %c24 = arith.constant 24 : index
      %c32 = arith.constant 32 : index
      %c64 = arith.constant 64 : index
      %c128 = arith.constant 128 : index
      %zacc = llvm.mlir.zero : !llvm.struct<(f32, f32, f32, f32)>

      %tid = gpu.thread_id x
      %bn = gpu.block_id x
      %bm = gpu.block_id y
      %warp = arith.divui %tid, %c32 : index
      %lane = arith.remui %tid, %c32 : index
      %wm = arith.divui %warp, %c2 : index
      %wn = arith.remui %warp, %c2 : index
      %row0 = arith.muli %bm, %c64 : index   // first row of C for this block
      %col0 = arith.muli %bn, %c64 : index   // first col of C for this block

      // Copy assignment: a 64x32 bf16 tile is 64 rows x 4 chunks of 8 bf16
      // (16 B) = 256 chunks; thread t copies chunks t and t + 128.
      // chunk c -> row c / 4, col (c % 4) * 8.
      %cA0 = arith.addi %tid, %c0 : index
      %cA1 = arith.addi %tid, %c128 : index
      %r_0 = arith.divui %cA0, %c4 : index
      %r_1 = arith.divui %cA1, %c4 : index
      %q_0 = arith.remui %cA0, %c4 : index
      %q_1 = arith.remui %cA1, %c4 : index
      %k_0 = arith.muli %q_0, %c8 : index
      %k_1 = arith.muli %q_1, %c8 : index
      // global row offsets (elements) of the copied rows, without the k part
      %ga_0r = arith.addi %row0, %r_0 : index
      %ga_1r = arith.addi %row0, %r_1 : index
      %gb_0r = arith.addi %col0, %r_0 : index
      %gb_1r = arith.addi %col0, %r_1 : index
      %ga_0 = arith.muli %ga_0r, %K : index
      %ga_1 = arith.muli %ga_1r, %K : index
      %gb_0 = arith.muli %gb_0r, %K : index
      %gb_1 = arith.muli %gb_1r, %K : index

      %KT = arith.divui %K, %c32 : index

      // ---- prologue: tile 0 -> stage 0
      %p0 = arith.addi %ga_0, %k_0 : index
      %p1 = arith.addi %ga_1, %k_1 : index
      %p2 = arith.addi %gb_0, %k_0 : index
      %p3 = arith.addi %gb_1, %k_1 : index
      %t0 = nvgpu.device_async_copy %A[%p0], %As[%c0, %r_0, %k_0], 8 {bypassL1}
          : memref<?xbf16> to memref<2x64x40xbf16, #gpu.address_space<workgroup>>
      %t1 = nvgpu.device_async_copy %A[%p1], %As[%c0, %r_1, %k_1], 8 {bypassL1}
          : memref<?xbf16> to memref<2x64x40xbf16, #gpu.address_space<workgroup>>
      %t2 = nvgpu.device_async_copy %Bt[%p2], %Bs[%c0, %r_0, %k_0], 8 {bypassL1}
          : memref<?xbf16> to memref<2x64x40xbf16, #gpu.address_space<workgroup>>
      %t3 = nvgpu.device_async_copy %Bt[%p3], %Bs[%c0, %r_1, %k_1], 8 {bypassL1}
          : memref<?xbf16> to memref<2x64x40xbf16, #gpu.address_space<workgroup>>
      %g0 = nvgpu.device_async_create_group %t0, %t1, %t2, %t3

      // ldmatrix lane addressing (per lane, within a warp tile)
      //  A (x4, 16x16):  row = lane % 16,      col = (lane / 16) * 8
      //  B (x2, 8nx16k): row = lane % 8,       col = ((lane / 8) % 2) * 8
      %la_r = arith.remui %lane, %c16 : index
      %la_q = arith.divui %lane, %c16 : index
      %la_c = arith.muli %la_q, %c8 : index
      %lb_r = arith.remui %lane, %c8 : index
      %lb_q0 = arith.divui %lane, %c8 : index
      %lb_q = arith.remui %lb_q0, %c2 : index
      %lb_c = arith.muli %lb_q, %c8 : index
      %wm32 = arith.muli %wm, %c32 : index
      %wn32 = arith.muli %wn, %c32 : index
      %a_r0 = arith.addi %wm32, %la_r : index          // mi = 0
      %a_r1 = arith.addi %a_r0, %c16 : index           // mi = 1
      %b_r0 = arith.addi %wn32, %lb_r : index          // ni = 0
      %b_r1 = arith.addi %b_r0, %c8 : index
      %b_r2 = arith.addi %b_r0, %c16 : index
      %b_r3 = arith.addi %b_r0, %c24 : index

      %res:8 = scf.for %kt = %c0 to %KT step %c1
          iter_args(%a00 = %zacc, %a01 = %zacc, %a02 = %zacc, %a03 = %zacc,
                    %a10 = %zacc, %a11 = %zacc, %a12 = %zacc, %a13 = %zacc)
          -> (!llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>,
              !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>) {
        %s = arith.remui %kt, %c2 : index
        %kn = arith.addi %kt, %c1 : index
        %more = arith.cmpi ult, %kn, %KT : index
        scf.if %more {
          // prefetch tile kt+1 into the other stage, then wait for tile kt
          %sn = arith.remui %kn, %c2 : index
          %kb = arith.muli %kn, %c32 : index
          %q0 = arith.addi %p0, %kb : index
          %q1 = arith.addi %p1, %kb : index
          %q2 = arith.addi %p2, %kb : index
          %q3 = arith.addi %p3, %kb : index
          %u0 = nvgpu.device_async_copy %A[%q0], %As[%sn, %r_0, %k_0], 8 {bypassL1}
              : memref<?xbf16> to memref<2x64x40xbf16, #gpu.address_space<workgroup>>
          %u1 = nvgpu.device_async_copy %A[%q1], %As[%sn, %r_1, %k_1], 8 {bypassL1}
              : memref<?xbf16> to memref<2x64x40xbf16, #gpu.address_space<workgroup>>
          %u2 = nvgpu.device_async_copy %Bt[%q2], %Bs[%sn, %r_0, %k_0], 8 {bypassL1}
              : memref<?xbf16> to memref<2x64x40xbf16, #gpu.address_space<workgroup>>
          %u3 = nvgpu.device_async_copy %Bt[%q3], %Bs[%sn, %r_1, %k_1], 8 {bypassL1}
              : memref<?xbf16> to memref<2x64x40xbf16, #gpu.address_space<workgroup>>
          %g = nvgpu.device_async_create_group %u0, %u1, %u2, %u3
          nvgpu.device_async_wait %g {numGroups = 1 : i32}
        } else {
          nvgpu.device_async_wait %g0 {numGroups = 0 : i32}
        }
        gpu.barrier

        %o:8 = scf.for %kk = %c0 to %c32 step %c16
            iter_args(%b00 = %a00, %b01 = %a01, %b02 = %a02, %b03 = %a03,
                      %b10 = %a10, %b11 = %a11, %b12 = %a12, %b13 = %a13)
            -> (!llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>,
                !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>) {
          %ac = arith.addi %kk, %la_c : index
          %bc = arith.addi %kk, %lb_c : index
          %fa0 = nvgpu.ldmatrix %As[%s, %a_r0, %ac] {numTiles = 4 : i32, transpose = false}
              : memref<2x64x40xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
          %fa1 = nvgpu.ldmatrix %As[%s, %a_r1, %ac] {numTiles = 4 : i32, transpose = false}
              : memref<2x64x40xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
          %fb0 = nvgpu.ldmatrix %Bs[%s, %b_r0, %bc] {numTiles = 2 : i32, transpose = false}
              : memref<2x64x40xbf16, #gpu.address_space<workgroup>> -> vector<2x2xbf16>
          %fb1 = nvgpu.ldmatrix %Bs[%s, %b_r1, %bc] {numTiles = 2 : i32, transpose = false}
              : memref<2x64x40xbf16, #gpu.address_space<workgroup>> -> vector<2x2xbf16>
          %fb2 = nvgpu.ldmatrix %Bs[%s, %b_r2, %bc] {numTiles = 2 : i32, transpose = false}
              : memref<2x64x40xbf16, #gpu.address_space<workgroup>> -> vector<2x2xbf16>
          %fb3 = nvgpu.ldmatrix %Bs[%s, %b_r3, %bc] {numTiles = 2 : i32, transpose = false}
              : memref<2x64x40xbf16, #gpu.address_space<workgroup>> -> vector<2x2xbf16>
          %ai0_0h = vector.extract %fa0[0] : vector<2xbf16> from vector<4x2xbf16>
          %ai0_0v = vector.bitcast %ai0_0h : vector<2xbf16> to vector<1xi32>
          %ai0_0 = vector.extract %ai0_0v[0] : i32 from vector<1xi32>
          %ai0_1h = vector.extract %fa0[1] : vector<2xbf16> from vector<4x2xbf16>
          %ai0_1v = vector.bitcast %ai0_1h : vector<2xbf16> to vector<1xi32>
          %ai0_1 = vector.extract %ai0_1v[0] : i32 from vector<1xi32>
          %ai0_2h = vector.extract %fa0[2] : vector<2xbf16> from vector<4x2xbf16>
          %ai0_2v = vector.bitcast %ai0_2h : vector<2xbf16> to vector<1xi32>
          %ai0_2 = vector.extract %ai0_2v[0] : i32 from vector<1xi32>
          %ai0_3h = vector.extract %fa0[3] : vector<2xbf16> from vector<4x2xbf16>
          %ai0_3v = vector.bitcast %ai0_3h : vector<2xbf16> to vector<1xi32>
          %ai0_3 = vector.extract %ai0_3v[0] : i32 from vector<1xi32>
          %ai1_0h = vector.extract %fa1[0] : vector<2xbf16> from vector<4x2xbf16>
          %ai1_0v = vector.bitcast %ai1_0h : vector<2xbf16> to vector<1xi32>
          %ai1_0 = vector.extract %ai1_0v[0] : i32 from vector<1xi32>
          %ai1_1h = vector.extract %fa1[1] : vector<2xbf16> from vector<4x2xbf16>
          %ai1_1v = vector.bitcast %ai1_1h : vector<2xbf16> to vector<1xi32>
          %ai1_1 = vector.extract %ai1_1v[0] : i32 from vector<1xi32>
          %ai1_2h = vector.extract %fa1[2] : vector<2xbf16> from vector<4x2xbf16>
          %ai1_2v = vector.bitcast %ai1_2h : vector<2xbf16> to vector<1xi32>
          %ai1_2 = vector.extract %ai1_2v[0] : i32 from vector<1xi32>
          %ai1_3h = vector.extract %fa1[3] : vector<2xbf16> from vector<4x2xbf16>
          %ai1_3v = vector.bitcast %ai1_3h : vector<2xbf16> to vector<1xi32>
          %ai1_3 = vector.extract %ai1_3v[0] : i32 from vector<1xi32>
          %bi0_0h = vector.extract %fb0[0] : vector<2xbf16> from vector<2x2xbf16>
          %bi0_0v = vector.bitcast %bi0_0h : vector<2xbf16> to vector<1xi32>
          %bi0_0 = vector.extract %bi0_0v[0] : i32 from vector<1xi32>
          %bi0_1h = vector.extract %fb0[1] : vector<2xbf16> from vector<2x2xbf16>
          %bi0_1v = vector.bitcast %bi0_1h : vector<2xbf16> to vector<1xi32>
          %bi0_1 = vector.extract %bi0_1v[0] : i32 from vector<1xi32>
          %bi1_0h = vector.extract %fb1[0] : vector<2xbf16> from vector<2x2xbf16>
          %bi1_0v = vector.bitcast %bi1_0h : vector<2xbf16> to vector<1xi32>
          %bi1_0 = vector.extract %bi1_0v[0] : i32 from vector<1xi32>
          %bi1_1h = vector.extract %fb1[1] : vector<2xbf16> from vector<2x2xbf16>
          %bi1_1v = vector.bitcast %bi1_1h : vector<2xbf16> to vector<1xi32>
          %bi1_1 = vector.extract %bi1_1v[0] : i32 from vector<1xi32>
          %bi2_0h = vector.extract %fb2[0] : vector<2xbf16> from vector<2x2xbf16>
          %bi2_0v = vector.bitcast %bi2_0h : vector<2xbf16> to vector<1xi32>
          %bi2_0 = vector.extract %bi2_0v[0] : i32 from vector<1xi32>
          %bi2_1h = vector.extract %fb2[1] : vector<2xbf16> from vector<2x2xbf16>
          %bi2_1v = vector.bitcast %bi2_1h : vector<2xbf16> to vector<1xi32>
          %bi2_1 = vector.extract %bi2_1v[0] : i32 from vector<1xi32>
          %bi3_0h = vector.extract %fb3[0] : vector<2xbf16> from vector<2x2xbf16>
          %bi3_0v = vector.bitcast %bi3_0h : vector<2xbf16> to vector<1xi32>
          %bi3_0 = vector.extract %bi3_0v[0] : i32 from vector<1xi32>
          %bi3_1h = vector.extract %fb3[1] : vector<2xbf16> from vector<2x2xbf16>
          %bi3_1v = vector.bitcast %bi3_1h : vector<2xbf16> to vector<1xi32>
          %bi3_1 = vector.extract %bi3_1v[0] : i32 from vector<1xi32>
          %c00_0 = llvm.extractvalue %b00[0] : !llvm.struct<(f32, f32, f32, f32)>
          %c00_1 = llvm.extractvalue %b00[1] : !llvm.struct<(f32, f32, f32, f32)>
          %c00_2 = llvm.extractvalue %b00[2] : !llvm.struct<(f32, f32, f32, f32)>
          %c00_3 = llvm.extractvalue %b00[3] : !llvm.struct<(f32, f32, f32, f32)>
          %n00 = nvvm.mma.sync A[%ai0_0, %ai0_1, %ai0_2, %ai0_3] B[%bi0_0, %bi0_1]
              C[%c00_0, %c00_1, %c00_2, %c00_3] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
               multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
               shape = #nvvm.shape<m = 16, n = 8, k = 16>}
              : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
          %c01_0 = llvm.extractvalue %b01[0] : !llvm.struct<(f32, f32, f32, f32)>
          %c01_1 = llvm.extractvalue %b01[1] : !llvm.struct<(f32, f32, f32, f32)>
          %c01_2 = llvm.extractvalue %b01[2] : !llvm.struct<(f32, f32, f32, f32)>
          %c01_3 = llvm.extractvalue %b01[3] : !llvm.struct<(f32, f32, f32, f32)>
          %n01 = nvvm.mma.sync A[%ai0_0, %ai0_1, %ai0_2, %ai0_3] B[%bi1_0, %bi1_1]
              C[%c01_0, %c01_1, %c01_2, %c01_3] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
               multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
               shape = #nvvm.shape<m = 16, n = 8, k = 16>}
              : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
          %c02_0 = llvm.extractvalue %b02[0] : !llvm.struct<(f32, f32, f32, f32)>
          %c02_1 = llvm.extractvalue %b02[1] : !llvm.struct<(f32, f32, f32, f32)>
          %c02_2 = llvm.extractvalue %b02[2] : !llvm.struct<(f32, f32, f32, f32)>
          %c02_3 = llvm.extractvalue %b02[3] : !llvm.struct<(f32, f32, f32, f32)>
          %n02 = nvvm.mma.sync A[%ai0_0, %ai0_1, %ai0_2, %ai0_3] B[%bi2_0, %bi2_1]
              C[%c02_0, %c02_1, %c02_2, %c02_3] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
               multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
               shape = #nvvm.shape<m = 16, n = 8, k = 16>}
              : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
          %c03_0 = llvm.extractvalue %b03[0] : !llvm.struct<(f32, f32, f32, f32)>
          %c03_1 = llvm.extractvalue %b03[1] : !llvm.struct<(f32, f32, f32, f32)>
          %c03_2 = llvm.extractvalue %b03[2] : !llvm.struct<(f32, f32, f32, f32)>
          %c03_3 = llvm.extractvalue %b03[3] : !llvm.struct<(f32, f32, f32, f32)>
          %n03 = nvvm.mma.sync A[%ai0_0, %ai0_1, %ai0_2, %ai0_3] B[%bi3_0, %bi3_1]
              C[%c03_0, %c03_1, %c03_2, %c03_3] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
               multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
               shape = #nvvm.shape<m = 16, n = 8, k = 16>}
              : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
          %c10_0 = llvm.extractvalue %b10[0] : !llvm.struct<(f32, f32, f32, f32)>
          %c10_1 = llvm.extractvalue %b10[1] : !llvm.struct<(f32, f32, f32, f32)>
          %c10_2 = llvm.extractvalue %b10[2] : !llvm.struct<(f32, f32, f32, f32)>
          %c10_3 = llvm.extractvalue %b10[3] : !llvm.struct<(f32, f32, f32, f32)>
          %n10 = nvvm.mma.sync A[%ai1_0, %ai1_1, %ai1_2, %ai1_3] B[%bi0_0, %bi0_1]
              C[%c10_0, %c10_1, %c10_2, %c10_3] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
               multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
               shape = #nvvm.shape<m = 16, n = 8, k = 16>}
              : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
          %c11_0 = llvm.extractvalue %b11[0] : !llvm.struct<(f32, f32, f32, f32)>
          %c11_1 = llvm.extractvalue %b11[1] : !llvm.struct<(f32, f32, f32, f32)>
          %c11_2 = llvm.extractvalue %b11[2] : !llvm.struct<(f32, f32, f32, f32)>
          %c11_3 = llvm.extractvalue %b11[3] : !llvm.struct<(f32, f32, f32, f32)>
          %n11 = nvvm.mma.sync A[%ai1_0, %ai1_1, %ai1_2, %ai1_3] B[%bi1_0, %bi1_1]
              C[%c11_0, %c11_1, %c11_2, %c11_3] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
               multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
               shape = #nvvm.shape<m = 16, n = 8, k = 16>}
              : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
          %c12_0 = llvm.extractvalue %b12[0] : !llvm.struct<(f32, f32, f32, f32)>
          %c12_1 = llvm.extractvalue %b12[1] : !llvm.struct<(f32, f32, f32, f32)>
          %c12_2 = llvm.extractvalue %b12[2] : !llvm.struct<(f32, f32, f32, f32)>
          %c12_3 = llvm.extractvalue %b12[3] : !llvm.struct<(f32, f32, f32, f32)>
          %n12 = nvvm.mma.sync A[%ai1_0, %ai1_1, %ai1_2, %ai1_3] B[%bi2_0, %bi2_1]
              C[%c12_0, %c12_1, %c12_2, %c12_3] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
               multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
               shape = #nvvm.shape<m = 16, n = 8, k = 16>}
              : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
          %c13_0 = llvm.extractvalue %b13[0] : !llvm.struct<(f32, f32, f32, f32)>
          %c13_1 = llvm.extractvalue %b13[1] : !llvm.struct<(f32, f32, f32, f32)>
          %c13_2 = llvm.extractvalue %b13[2] : !llvm.struct<(f32, f32, f32, f32)>
          %c13_3 = llvm.extractvalue %b13[3] : !llvm.struct<(f32, f32, f32, f32)>
          %n13 = nvvm.mma.sync A[%ai1_0, %ai1_1, %ai1_2, %ai1_3] B[%bi3_0, %bi3_1]
              C[%c13_0, %c13_1, %c13_2, %c13_3] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
               multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
               shape = #nvvm.shape<m = 16, n = 8, k = 16>}
              : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
          scf.yield %n00, %n01, %n02, %n03, %n10, %n11, %n12, %n13
              : !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>,
                !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>
        }
        // everyone is done reading stage s before it is refilled next iteration
        gpu.barrier
        scf.yield %o#0, %o#1, %o#2, %o#3, %o#4, %o#5, %o#6, %o#7
            : !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>,
              !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>, !llvm.struct<(f32, f32, f32, f32)>
      }

      // ---- epilogue: accumulator layout of m16n8 (per lane):
      //   acc[0] = C[g, 2q .. 2q+1], acc[1] = C[g+8, 2q .. 2q+1],
      //   g = lane / 4, q = lane % 4.
      %g_ = arith.divui %lane, %c4 : index
      %q_ = arith.remui %lane, %c4 : index
      %q2_ = arith.muli %q_, %c2 : index
      %er = arith.addi %row0, %wm32 : index
      %erg = arith.addi %er, %g_ : index
      %ec = arith.addi %col0, %wn32 : index
      %ecq = arith.addi %ec, %q2_ : index
      // rows: mi*16 + {0, 8}; cols: ni*8
      %erow0 = arith.addi %erg, %c0 : index
      %erow1 = arith.addi %erg, %c16 : index
      %ecol0 = arith.addi %ecq, %c0 : index
      %ecol1 = arith.addi %ecq, %c8 : index
      %ecol2 = arith.addi %ecq, %c16 : index
      %ecol3 = arith.addi %ecq, %c24 : index
      // helper offsets: row * N + col
      %o_r0 = arith.muli %erow0, %N : index
      %erow0p8 = arith.addi %erow0, %c8 : index
      %o_r0p8 = arith.muli %erow0p8, %N : index
      %o_r1 = arith.muli %erow1, %N : index
      %erow1p8 = arith.addi %erow1, %c8 : index
      %o_r1p8 = arith.muli %erow1p8, %N : index

      %e00_0 = llvm.extractvalue %res#0[0] : !llvm.struct<(f32, f32, f32, f32)>
      %e00_1 = llvm.extractvalue %res#0[1] : !llvm.struct<(f32, f32, f32, f32)>
      %e00_2 = llvm.extractvalue %res#0[2] : !llvm.struct<(f32, f32, f32, f32)>
      %e00_3 = llvm.extractvalue %res#0[3] : !llvm.struct<(f32, f32, f32, f32)>
      %v000 = vector.from_elements %e00_0, %e00_1 : vector<2xf32>
      %v001 = vector.from_elements %e00_2, %e00_3 : vector<2xf32>
      %e01_0 = llvm.extractvalue %res#1[0] : !llvm.struct<(f32, f32, f32, f32)>
      %e01_1 = llvm.extractvalue %res#1[1] : !llvm.struct<(f32, f32, f32, f32)>
      %e01_2 = llvm.extractvalue %res#1[2] : !llvm.struct<(f32, f32, f32, f32)>
      %e01_3 = llvm.extractvalue %res#1[3] : !llvm.struct<(f32, f32, f32, f32)>
      %v010 = vector.from_elements %e01_0, %e01_1 : vector<2xf32>
      %v011 = vector.from_elements %e01_2, %e01_3 : vector<2xf32>
      %e02_0 = llvm.extractvalue %res#2[0] : !llvm.struct<(f32, f32, f32, f32)>
      %e02_1 = llvm.extractvalue %res#2[1] : !llvm.struct<(f32, f32, f32, f32)>
      %e02_2 = llvm.extractvalue %res#2[2] : !llvm.struct<(f32, f32, f32, f32)>
      %e02_3 = llvm.extractvalue %res#2[3] : !llvm.struct<(f32, f32, f32, f32)>
      %v020 = vector.from_elements %e02_0, %e02_1 : vector<2xf32>
      %v021 = vector.from_elements %e02_2, %e02_3 : vector<2xf32>
      %e03_0 = llvm.extractvalue %res#3[0] : !llvm.struct<(f32, f32, f32, f32)>
      %e03_1 = llvm.extractvalue %res#3[1] : !llvm.struct<(f32, f32, f32, f32)>
      %e03_2 = llvm.extractvalue %res#3[2] : !llvm.struct<(f32, f32, f32, f32)>
      %e03_3 = llvm.extractvalue %res#3[3] : !llvm.struct<(f32, f32, f32, f32)>
      %v030 = vector.from_elements %e03_0, %e03_1 : vector<2xf32>
      %v031 = vector.from_elements %e03_2, %e03_3 : vector<2xf32>
      %e10_0 = llvm.extractvalue %res#4[0] : !llvm.struct<(f32, f32, f32, f32)>
      %e10_1 = llvm.extractvalue %res#4[1] : !llvm.struct<(f32, f32, f32, f32)>
      %e10_2 = llvm.extractvalue %res#4[2] : !llvm.struct<(f32, f32, f32, f32)>
      %e10_3 = llvm.extractvalue %res#4[3] : !llvm.struct<(f32, f32, f32, f32)>
      %v100 = vector.from_elements %e10_0, %e10_1 : vector<2xf32>
      %v101 = vector.from_elements %e10_2, %e10_3 : vector<2xf32>
      %e11_0 = llvm.extractvalue %res#5[0] : !llvm.struct<(f32, f32, f32, f32)>
      %e11_1 = llvm.extractvalue %res#5[1] : !llvm.struct<(f32, f32, f32, f32)>
      %e11_2 = llvm.extractvalue %res#5[2] : !llvm.struct<(f32, f32, f32, f32)>
      %e11_3 = llvm.extractvalue %res#5[3] : !llvm.struct<(f32, f32, f32, f32)>
      %v110 = vector.from_elements %e11_0, %e11_1 : vector<2xf32>
      %v111 = vector.from_elements %e11_2, %e11_3 : vector<2xf32>
      %e12_0 = llvm.extractvalue %res#6[0] : !llvm.struct<(f32, f32, f32, f32)>
      %e12_1 = llvm.extractvalue %res#6[1] : !llvm.struct<(f32, f32, f32, f32)>
      %e12_2 = llvm.extractvalue %res#6[2] : !llvm.struct<(f32, f32, f32, f32)>
      %e12_3 = llvm.extractvalue %res#6[3] : !llvm.struct<(f32, f32, f32, f32)>
      %v120 = vector.from_elements %e12_0, %e12_1 : vector<2xf32>
      %v121 = vector.from_elements %e12_2, %e12_3 : vector<2xf32>
      %e13_0 = llvm.extractvalue %res#7[0] : !llvm.struct<(f32, f32, f32, f32)>
      %e13_1 = llvm.extractvalue %res#7[1] : !llvm.struct<(f32, f32, f32, f32)>
      %e13_2 = llvm.extractvalue %res#7[2] : !llvm.struct<(f32, f32, f32, f32)>
      %e13_3 = llvm.extractvalue %res#7[3] : !llvm.struct<(f32, f32, f32, f32)>
      %v130 = vector.from_elements %e13_0, %e13_1 : vector<2xf32>
      %v131 = vector.from_elements %e13_2, %e13_3 : vector<2xf32>

      %i000 = arith.addi %o_r0, %ecol0 : index
      %i001 = arith.addi %o_r0p8, %ecol0 : index
      %i010 = arith.addi %o_r0, %ecol1 : index
      %i011 = arith.addi %o_r0p8, %ecol1 : index
      %i020 = arith.addi %o_r0, %ecol2 : index
      %i021 = arith.addi %o_r0p8, %ecol2 : index
      %i030 = arith.addi %o_r0, %ecol3 : index
      %i031 = arith.addi %o_r0p8, %ecol3 : index
      %i100 = arith.addi %o_r1, %ecol0 : index
      %i101 = arith.addi %o_r1p8, %ecol0 : index
      %i110 = arith.addi %o_r1, %ecol1 : index
      %i111 = arith.addi %o_r1p8, %ecol1 : index
      %i120 = arith.addi %o_r1, %ecol2 : index
      %i121 = arith.addi %o_r1p8, %ecol2 : index
      %i130 = arith.addi %o_r1, %ecol3 : index
      %i131 = arith.addi %o_r1p8, %ecol3 : index

      vector.store %v000, %C[%i000] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v001, %C[%i001] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v010, %C[%i010] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v011, %C[%i011] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v020, %C[%i020] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v021, %C[%i021] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v030, %C[%i030] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v031, %C[%i031] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v100, %C[%i100] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v101, %C[%i101] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v110, %C[%i110] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v111, %C[%i111] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v120, %C[%i120] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v121, %C[%i121] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v130, %C[%i130] {alignment = 8} : memref<?xf32>, vector<2xf32>
      vector.store %v131, %C[%i131] {alignment = 8} : memref<?xf32>, vector<2xf32>
      gpu.return
    }
  }

  // See @extsmem_alias above.
  gpu.module @dynsmem {
    gpu.func @dynsmem_alias(%out: memref<?xf32>)
        workgroup(%st: memref<64xf32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %c64 = arith.constant 64 : index
      %tid = gpu.thread_id x
      %dyn = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %dv = memref.view %dyn[%c0][%c64] : memref<?xi8, #gpu.address_space<workgroup>> to memref<?xf32, #gpu.address_space<workgroup>>
      %ti = arith.index_cast %tid : index to i32
      %tf = arith.sitofp %ti : i32 to f32
      %k1 = arith.constant 1000.0 : f32
      %k2 = arith.constant 2000.0 : f32
      %v1 = arith.addf %tf, %k1 : f32
      %v2 = arith.addf %tf, %k2 : f32
      memref.store %v1, %st[%tid] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %v2, %dv[%tid] : memref<?xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %r1 = memref.load %st[%tid] : memref<64xf32, #gpu.address_space<workgroup>>
      %r2 = memref.load %dv[%tid] : memref<?xf32, #gpu.address_space<workgroup>>
      %i2 = arith.addi %tid, %c64 : index
      memref.store %r1, %out[%tid] : memref<?xf32>
      memref.store %r2, %out[%i2] : memref<?xf32>
      gpu.return
    }
  }
}
