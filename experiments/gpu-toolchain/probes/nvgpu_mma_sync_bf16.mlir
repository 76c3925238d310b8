// EXPECT: error
// PIPELINE:
// One m16n8k16 tile: nvgpu.ldmatrix from shared memory + nvgpu.mma.sync with
// bf16 operands and f32 accumulators. In MLIR 22 the nvgpu -> nvvm lowering
// infers the PTX operand type from the vector element type and knows f16 but
// not bf16 ("failed to deduce operand PTX types"); for bf16 use nvvm.mma.sync
// with multiplicandAPtxType/BPtxType = bf16 and i32 operands (kernels.mlir).
module attributes {gpu.container_module} {
  gpu.module @probe {
    gpu.func @mma(%c: memref<16x8xf32>)
        workgroup(%a: memref<16x16xbf16, #gpu.address_space<workgroup>>,
                  %b: memref<8x16xbf16, #gpu.address_space<workgroup>>) kernel {
      %lane = gpu.lane_id
      %c0 = arith.constant 0 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      %ar = arith.remui %lane, %c16 : index
      %aq = arith.divui %lane, %c16 : index
      %ac = arith.muli %aq, %c8 : index
      %br = arith.remui %lane, %c8 : index
      %fa = nvgpu.ldmatrix %a[%ar, %ac] {numTiles = 4 : i32, transpose = false}
          : memref<16x16xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
      %fb = nvgpu.ldmatrix %b[%br, %c0] {numTiles = 2 : i32, transpose = false}
          : memref<8x16xbf16, #gpu.address_space<workgroup>> -> vector<2x2xbf16>
      %z = arith.constant dense<0.0> : vector<2x2xf32>
      %d = nvgpu.mma.sync (%fa, %fb, %z) {mmaShape = [16, 8, 16]}
          : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
      %g = arith.divui %lane, %c8 : index
      %v = vector.extract %d[0] : vector<2xf32> from vector<2x2xf32>
      vector.store %v, %c[%g, %c0] : memref<16x8xf32>, vector<2xf32>
      gpu.return
    }
  }
}
