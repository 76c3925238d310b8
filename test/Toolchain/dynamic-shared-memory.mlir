// MLIR 22 limitation: gpu.dynamic_shared_memory lowers to an internal
// zero-size workgroup global, which NVPTX prints as a 1-byte static shared
// variable (`.shared .align 16 .b8 __dynamic_shmem__0;`) instead of an
// extern array. On the H100 that "dynamic" buffer overlapped the kernel's
// static shared memory (docs/gpu-toolchain.md, section 2).
//
// Depends on it: the wgmma kernel in lib/Conversion/SpaToGPU/SpaToGPU.cpp
// declares its dynamic shared memory itself, as the public extern workgroup
// global `spa_dynamic_shared` (memref.get_global + reinterpret_cast + view),
// which prints as `.extern .shared .align 1024 .b8 spa_dynamic_shared[];`.
// When this test fails because the op lowers to an extern array: a newer
// MLIR fixed it; the kernel may use gpu.dynamic_shared_memory (then delete
// this test).
//
// RUN: mlir-opt %s -convert-gpu-to-nvvm | FileCheck %s --check-prefix=LLVM
// The PTX is an escaped string; sed splits it at its newlines.
// RUN: mlir-opt %s \
// RUN:   -gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90a cubin-features=+ptx80 cubin-format=isa" \
// RUN:   | sed -e 's/\\0A/\n/g' -e 's/\\09/ /g' | FileCheck %s --check-prefix=PTX

// LLVM: llvm.mlir.global internal @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// PTX-NOT: .extern .shared
// PTX: .shared .align 16 .b8 __dynamic_shmem__0;
// PTX-NOT: .extern .shared
gpu.module @kernels {
  // Each thread writes its element and reads its mirror image after a
  // barrier (so that the shared buffer is not optimised away).
  gpu.func @mirror(%data: memref<64xf32>) kernel {
    %c0 = arith.constant 0 : index
    %c63 = arith.constant 63 : index
    %tid = gpu.thread_id x
    %dyn = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
    %tile = memref.view %dyn[%c0][] : memref<?xi8, #gpu.address_space<workgroup>>
        to memref<64xf32, #gpu.address_space<workgroup>>
    %x = memref.load %data[%tid] : memref<64xf32>
    memref.store %x, %tile[%tid] : memref<64xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %mirror = arith.subi %c63, %tid : index
    %y = memref.load %tile[%mirror] : memref<64xf32, #gpu.address_space<workgroup>>
    memref.store %y, %data[%tid] : memref<64xf32>
    gpu.return
  }
}
