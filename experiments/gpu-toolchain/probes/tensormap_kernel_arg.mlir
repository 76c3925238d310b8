// EXPECT: error
// PIPELINE:
// A !nvgpu.tensormap.descriptor kernel argument: convert-gpu-to-nvvm cannot
// convert the gpu.func signature ("failed to legalize operation 'gpu.func'").
// Workaround (kernels_sm90.mlir): take !llvm.ptr and
// builtin.unrealized_conversion_cast it to the descriptor type in the body.
!tm = !nvgpu.tensormap.descriptor<tensor = memref<64x64xbf16, 3>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
module attributes {gpu.container_module} {
  gpu.module @probe {
    gpu.func @k(%d: !tm) kernel {
      nvgpu.tma.prefetch.descriptor %d : !tm
      gpu.return
    }
  }
}
