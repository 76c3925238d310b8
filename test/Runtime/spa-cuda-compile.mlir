// spa-cuda-compile writes the artifact spa.runtime.cuda loads without MLIR:
// the cubin, its PTX and launch.json (format spa-cuda-artifact-2, the
// launch contract of every kernel). Options are spa-to-nvvm's.
// REQUIRES: ptxas
// RUN: rm -rf %t && spa-cuda-compile %s -o %t --warps=8 --mma=wgmma --stages=1 | FileCheck %s --check-prefix=TOOL
// RUN: FileCheck %s --input-file=%t/launch.json --check-prefix=JSON
// RUN: FileCheck %s --input-file=%t/kernel.ptx --check-prefix=PTX
// RUN: head -c 4 %t/kernel.cubin | od -c | FileCheck %s --check-prefix=ELF
// RUN: rm -rf %t.sync && spa-cuda-compile %s -o %t.sync --mma=mma.sync
// RUN: FileCheck %s --input-file=%t.sync/launch.json --check-prefix=SYNC
// RUN: not spa-cuda-compile %s -o %t.bad --mma=wmma 2>&1 | FileCheck %s --check-prefix=BADMMA
// RUN: not spa-cuda-compile %s -o %t.bad --tiles=3 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not spa-cuda-compile %s -o %t.bad --warps=3 2>&1 | FileCheck %s --check-prefix=WARPS
// RUN: spa-cuda-compile --help | FileCheck %s --check-prefix=HELP

// TOOL: wrote {{.*}} (cubin {{[0-9]+}} bytes)

// JSON: "abi": "bare-pointers",
// JSON: "chip": "sm_90a",
// JSON: "format": "spa-cuda-artifact-2",
// JSON: "kernels": [
// JSON: "args": [
// JSON: "dtype": "bf16",
// JSON-NEXT: "kind": "input",
// JSON-NEXT: "name": "query",
// JSON-NEXT: "shape": [
// JSON-NEXT: 1,
// JSON-NEXT: 4,
// JSON-NEXT: 200,
// JSON-NEXT: 64
// JSON: "kind": "output",
// JSON-NEXT: "name": "output",
// JSON: "kind": "output",
// JSON-NEXT: "name": "log_sum_exp",
// JSON: "dtype": "i32",
// JSON-NEXT: "kind": "constant",
// JSON-NEXT: "name": "bounds",
// JSON: "values": [
// JSON: "kind": "constant",
// JSON-NEXT: "name": "work",
// JSON: "bands": "#spa.bands<causal, [0:76], [0:150], [0:76, 150:225], [0:76, 225:300]>",
// JSON: "block": [
// JSON-NEXT: 256,
// JSON: "grid": [
// JSON-NEXT: 8,
// Q 16 KiB + K 8 KiB + V 8 KiB, then three 8-byte TMA barriers, all
// dynamic.
// JSON: "kernel_shared_bytes": 32792,
// JSON: "mma": "wgmma",
// JSON: "name": "spa_attention_0",
// JSON: "shared_bytes": 32792,
// JSON: "tile": [
// JSON-NEXT: 128,
// JSON-NEXT: 64

// The mma.sync tiles are static: nothing to pass at launch.
// SYNC: "kernel_shared_bytes": 18432,
// SYNC: "mma": "mma.sync",
// SYNC: "shared_bytes": 0,

// PTX: .target sm_90a
// PTX: .entry spa_attention_0(
// ELF: 177   E   L   F

// BADMMA: spa-cuda-compile: error: bad spa-to-nvvm option: bad value 'wmma' for option 'mma'; options and defaults: {backward-schedule=auto blocks-per-sm=0 chip=sm_90a
// UNKNOWN: spa-cuda-compile: error: bad spa-to-nvvm option: unknown option 'tiles'
// WARPS: error: convert-spa-to-gpu: warps must be 1, 2, 4, 8 or 12
// WARPS: spa-cuda-compile: error: generating the GPU kernel failed
// HELP: OPTIONS (those of the spa-to-nvvm pipeline):
// HELP: --chip=<string>
// HELP: --mma=<value>
// HELP: =mma.sync
// HELP: --stages=<long>
// HELP: --warps=<long>

func.func @layer(%q: tensor<1x4x200x64xbf16>, %k: tensor<1x2x300x64xbf16>,
                 %v: tensor<1x2x300x64xbf16>)
    -> (tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>) {
  %out = tensor.empty() : tensor<1x4x200x64xbf16>
  %lse = tensor.empty() : tensor<1x4x200xf32>
  %o, %l = spa.attention bands(#spa.band_policy<causal, local_plus_band>)
      ins(%q, %k, %v : tensor<1x4x200x64xbf16>, tensor<1x2x300x64xbf16>, tensor<1x2x300x64xbf16>)
      outs(%out, %lse : tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>)
      -> tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>
  return %o, %l : tensor<1x4x200x64xbf16>, tensor<1x4x200xf32>
}
