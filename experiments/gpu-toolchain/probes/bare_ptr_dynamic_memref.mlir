// EXPECT: error
// PIPELINE: --gpu-lower-to-nvvm-pipeline=cubin-chip=sm_90a cubin-features=+ptx80 opt-level=3 cubin-format=isa kernel-bare-ptr-calling-convention=1
// The bare-pointer kernel ABI (convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1})
// rejects a memref argument without a static shape, even a 1-D one with static
// stride/offset: "failed to legalize operation 'gpu.func' that was explicitly
// marked illegal".  Static shapes (or a static upper bound, as build.sh does
// for kernel_bare.cubin) work.
module attributes {gpu.container_module} {
  gpu.module @probe {
    gpu.func @k(%x: memref<?xf32>) kernel {
      %c0 = arith.constant 0 : index
      %v = arith.constant 1.0 : f32
      memref.store %v, %x[%c0] : memref<?xf32>
      gpu.return
    }
  }
}
