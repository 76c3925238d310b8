// EXPECT: error
// PIPELINE:
// Reinterpreting an nvgpu.ldmatrix result (vector<4x2xbf16>) as i32 registers
// with a 2-D vector.bitcast does not lower in the GPU pipeline ("LLVM
// Translation failed for operation: builtin.unrealized_conversion_cast").
// Extract the rows first: vector.extract -> vector<2xbf16>, vector.bitcast to
// vector<1xi32>, vector.extract [0] (what kernels.mlir does).
module attributes {gpu.container_module} {
  gpu.module @probe {
    gpu.func @k(%out: memref<4xi32>)
        workgroup(%a: memref<16x16xbf16, #gpu.address_space<workgroup>>) kernel {
      %lane = gpu.lane_id
      %c0 = arith.constant 0 : index
      %c16 = arith.constant 16 : index
      %r = arith.remui %lane, %c16 : index
      %f = nvgpu.ldmatrix %a[%r, %c0] {numTiles = 4 : i32, transpose = false}
          : memref<16x16xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
      %i = vector.bitcast %f : vector<4x2xbf16> to vector<4x1xi32>
      %e = vector.extract %i[0, 0] : i32 from vector<4x1xi32>
      memref.store %e, %out[%c0] : memref<4xi32>
      gpu.return
    }
  }
}
