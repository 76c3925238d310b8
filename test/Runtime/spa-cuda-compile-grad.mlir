// spa-cuda-compile on a module with a forward op and its gradient op: one
// cubin holding the forward kernel and the two backward kernels, listed in
// launch order in launch.json with their role, op and the scratch argument;
// for sm_90a (forward, dK/dV and dQ on wgmma) and sm_80 (everything on
// mma.sync).
// REQUIRES: ptxas
// RUN: rm -rf %t && spa-cuda-compile %s -o %t | FileCheck %s --check-prefix=TOOL
// RUN: FileCheck %s --input-file=%t/launch.json --check-prefix=JSON
// RUN: FileCheck %s --input-file=%t/kernel.ptx --check-prefix=PTX90
// RUN: head -c 4 %t/kernel.cubin | od -c | FileCheck %s --check-prefix=ELF
// RUN: rm -rf %t.80 && spa-cuda-compile %s -o %t.80 --chip=sm_80
// RUN: FileCheck %s --input-file=%t.80/kernel.ptx --check-prefix=PTX80
// RUN: head -c 4 %t.80/kernel.cubin | od -c | FileCheck %s --check-prefix=ELF

// TOOL: wrote {{.*}} (cubin {{[0-9]+}} bytes)
// ELF: 177   E   L   F

// JSON: "format": "spa-cuda-artifact-2",
// JSON: "kernels": [
// JSON: "mma": "wgmma",
// JSON: "name": "spa_attention_0",
// JSON-NEXT: "op": 0,
// JSON-NEXT: "programmatic_launch": true,
// JSON-NEXT: "role": "forward",
// The dQ kernel, launched first: it computes Delta from O and dO into the
// f32 scratch [B, Hq, Nq] that the dK/dV kernel reads.
// JSON: "name": "output_grad",
// JSON: "dtype": "f32",
// JSON-NEXT: "kind": "scratch",
// JSON-NEXT: "name": "delta",
// JSON-NEXT: "shape": [
// JSON-NEXT: 1,
// JSON-NEXT: 4,
// JSON-NEXT: 200
// JSON: "kind": "input",
// JSON-NEXT: "name": "output",
// JSON: "kind": "output",
// JSON-NEXT: "name": "query_grad",
// JSON: "name": "spa_attention_grad_1_dq",
// JSON-NEXT: "op": 1,
// JSON-NEXT: "programmatic_launch": true,
// JSON-NEXT: "role": "dq",
// The dQ kernel: (64 + 2 x 64) rows x (64 + 64) x 2 bytes, two stream
// stages, three mbarriers.
// JSON-NEXT: "shared_bytes": 49176,
// dK/dV: the gradients of K and V are its outputs.
// JSON: "dtype": "f32",
// JSON-NEXT: "kind": "input",
// JSON-NEXT: "name": "log_sum_exp",
// JSON: "kind": "scratch",
// JSON-NEXT: "name": "delta",
// JSON: "kind": "output",
// JSON-NEXT: "name": "key_grad",
// JSON: "kind": "output",
// JSON-NEXT: "name": "value_grad",
// JSON: "name": "work",
// The tensor maps of the own tiles (K, V: 128-row boxes, the
// warp-specialised kernel's key tile, which backward-schedule = auto takes
// at D = Dv = 64) and the stream tiles (Q, dO: 64-row boxes), [D, N, H, B]
// with byte strides.
// JSON: "box": [
// JSON-NEXT: 64,
// JSON-NEXT: 128,
// JSON-NEXT: 1,
// JSON-NEXT: 1
// JSON-NEXT: ],
// JSON-NEXT: "dims": [
// JSON-NEXT: 64,
// JSON-NEXT: 300,
// JSON-NEXT: 2,
// JSON-NEXT: 1
// JSON-NEXT: ],
// JSON-NEXT: "dtype": "bf16",
// JSON: "kind": "tensor_map",
// JSON-NEXT: "l2_promotion_bytes": 128,
// JSON-NEXT: "name": "key_map",
// JSON-NEXT: "of": "key",
// JSON-NEXT: "oob_fill": "zero",
// JSON-NEXT: "strides_bytes": [
// JSON-NEXT: 128,
// JSON-NEXT: 38400,
// JSON-NEXT: 76800
// JSON-NEXT: ],
// JSON-NEXT: "swizzle_bytes": 128
// JSON: "name": "value_map",
// JSON: "name": "query_map",
// JSON: "name": "output_grad_map",
// JSON: "mma": "wgmma",
// JSON: "name": "spa_attention_grad_1_dkdv",
// JSON-NEXT: "op": 1,
// JSON-NEXT: "programmatic_launch": true,
// JSON-NEXT: "role": "dkdv",
// Warp-specialised (auto at D = Dv = 64): (128 + 3 x 64) rows x (64 + 64)
// x 2 bytes (swizzled, three stream stages), 3 x 2 x 64 f32 statistics,
// seven 8-byte mbarriers.
// JSON-NEXT: "shared_bytes": 83512,

// PTX90: .target sm_90a
// PTX90: wgmma.mma_async
// PTX90-NOT: .entry spa_attention_grad_1_preprocess
// PTX90: .entry spa_attention_grad_1_dq
// PTX90: .entry spa_attention_grad_1_dkdv
// PTX90: .param .align 64 .b8 spa_attention_grad_1_dkdv_param_{{[0-9]+}}[128]
// PTX90: cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// PTX90: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}p, 1, 1, 1;
// PTX80: .target sm_80
// PTX80-NOT: wgmma
// PTX80: .entry spa_attention_grad_1_dkdv
// PTX80: ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16
// PTX80: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32

func.func @layer(%q: tensor<1x4x200x64xbf16>, %k: tensor<1x2x300x64xbf16>, %v: tensor<1x2x300x64xbf16>, %do: tensor<1x4x200x64xbf16>) -> (tensor<1x4x200x64xbf16>, tensor<1x2x300x64xbf16>, tensor<1x2x300x64xbf16>) {
  %o0 = tensor.empty() : tensor<1x4x200x64xbf16>
  %l0 = tensor.empty() : tensor<1x4x200xf32>
  %o, %l = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %k, %v : tensor<1x4x200x64xbf16>, tensor<1x2x300x64xbf16>, tensor<1x2x300x64xbf16>)
      outs(%o0, %l0 : tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>) -> tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>
  %dq0 = tensor.empty() : tensor<1x4x200x64xbf16>
  %dk0 = tensor.empty() : tensor<1x2x300x64xbf16>
  %dv0 = tensor.empty() : tensor<1x2x300x64xbf16>
  %dq, %dk, %dv = spa.attention_grad bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %k, %v, %o, %l, %do : tensor<1x4x200x64xbf16>, tensor<1x2x300x64xbf16>, tensor<1x2x300x64xbf16>, tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>, tensor<1x4x200x64xbf16>)
      outs(%dq0, %dk0, %dv0 : tensor<1x4x200x64xbf16>, tensor<1x2x300x64xbf16>, tensor<1x2x300x64xbf16>) -> tensor<1x4x200x64xbf16>, tensor<1x2x300x64xbf16>, tensor<1x2x300x64xbf16>
  return %dq, %dk, %dv : tensor<1x4x200x64xbf16>, tensor<1x2x300x64xbf16>, tensor<1x2x300x64xbf16>
}
