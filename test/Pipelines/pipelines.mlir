// The registered pipelines are built from passes with typed options: what
// they run, with which options, and that bad option values end in a located
// error (never an abort while the pipeline is built).
// RUN: spa-opt %s --spa-to-llvm-cpu="tile-q=16 tile-k=32 policy=pair_balanced vector-lanes=8 threads=2" --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=CPU
// RUN: spa-opt %s --spa-to-llvm-cpu="vector-lanes=0 threads=1" --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=SCALAR
// RUN: not spa-opt %s --spa-to-llvm-cpu="threads=-1" 2>&1 | FileCheck %s --check-prefix=THREADS
// RUN: not spa-opt %s --spa-to-llvm-cpu="vector-lanes=12" 2>&1 | FileCheck %s --check-prefix=LANES
// RUN: spa-opt %s --spa-to-nvvm="warps=8 tile-k=32 mma=mma.sync stages=1 chip=sm_80 format=isa" --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=GPU
// RUN: not spa-opt %s --spa-to-llvm-cpu="tile-q=0" 2>&1 | FileCheck %s --check-prefix=TILEQ
// RUN: not spa-opt %s --spa-to-nvvm="warps=3" 2>&1 | FileCheck %s --check-prefix=WARPS
// RUN: not spa-opt %s --spa-to-nvvm="mma=wmma" 2>&1 | FileCheck %s --check-prefix=MMA
// RUN: not spa-opt %s "--spa-to-llvm-cpu=policy=}" 2>&1 | FileCheck %s --check-prefix=BRACE

// CPU: builtin.module(
// CPU-NEXT: spa-check-input,
// The CPU lowering's balance also uses its own tile shape.
// CPU-NEXT: spa-balance-bands{{{.*}}policy=pair_balanced{{.*}}tile-k=32 tile-q=16},
// CPU-NEXT: spa-expand-band-bounds,
// CPU-NEXT: convert-spa-to-linalg{static-tiles=false tile-k=32 tile-q=16 vector-lanes=8},
// Output tiles written in place, then the work items on OpenMP threads
// with a dynamic schedule.
// CPU: eliminate-empty-tensors
// CPU: one-shot-bufferize{{{.*}}bufferize-function-boundaries=true{{.*}}function-boundary-type-conversion=identity-layout-map
// The clones deallocation makes become allocations and copies.
// CPU: convert-bufferization-to-memref
// CPU-NEXT: convert-linalg-to-loops,
// CPU-NEXT: scf-forall-to-parallel,
// CPU-NEXT: convert-scf-to-openmp{num-threads=2},
// CPU-NEXT: spa-schedule-work-items,
// CPU: convert-vector-to-scf{full-unroll=true
// CPU: arith-expand{include-bf16=true
// CPU: convert-vector-to-llvm
// CPU: convert-openmp-to-llvm
// CPU: reconcile-unrealized-casts

// The scalar linalg form on one thread: no OpenMP at all.
// SCALAR: convert-spa-to-linalg{static-tiles=false tile-k=64 tile-q=32 vector-lanes=0},
// SCALAR: convert-linalg-to-loops,
// SCALAR-NEXT: scf-forall-to-for,
// SCALAR-NOT: openmp

// The kernel's balance uses its own tile shape (16 rows per warp).
// GPU: spa-check-input,
// GPU-NEXT: spa-balance-bands{{{.*}}tile-k=32 tile-q=128},
// Run-time lengths: spa.band_bounds as host arithmetic, loops after the
// kernels' conversion (no-ops for static lengths).
// GPU-NEXT: spa-expand-band-bounds,
// GPU-NEXT: convert-elementwise-to-linalg,
// GPU-NEXT: one-shot-bufferize
// GPU-NEXT: convert-spa-to-gpu{backward-schedule=auto blocks-per-sm=0 chip=sm_80 deterministic=true forward-schedule=auto interleaved-dq=false interleaved-dq-lag=256 interleaved-dq-stages=4 mma=mma.sync programmatic-launch=auto score-grad-layout=auto score-grad-prefetch=0 score-grad-warp-stores=false score-grads=auto shared-stream-delta=auto shared-stream-lse=auto split-keys=1 stages=1 stmatrix-staging=false stored-dq-rows=0 successor-prefetch=0 tile-k=32 tma=true tma-stores=true warps=8 wave-stagger-ns=0 zero-tail-items=0 zero-tail-spread=auto zero-tail-with-items=auto},
// GPU-NEXT: convert-linalg-to-loops,
// Upstream's NVVM lowering, with tensor-map parameters marked after the
// kernels' conversion.
// GPU: convert-gpu-to-nvvm{{{.*}}use-bare-ptr-memref-call-conv=true}
// GPU: spa-tensor-map-params
// GPU-NEXT: ),
// GPU-NEXT: gpu-to-llvm{{{.*}}use-bare-pointers-for-host=true use-bare-pointers-for-kernels=true}
// GPU-NEXT: gpu-module-to-binary{{{.*}}format=isa
// GPU-SAME: opts=

// THREADS: for the --threads option: '-1' value invalid for uint argument!
// LANES: error: convert-spa-to-linalg: vector-lanes must be 0 or a power of two from 2 to 64, got 12
// TILEQ: error: spa-balance-bands: tile shape and SM count must be positive, got tile 0x64, 132 SMs
// WARPS: error: convert-spa-to-gpu: warps must be 1, 2, 4, 8 or 12 and tile-k 16, 32, 64 or 128; got warps = 3, tile-k = 64
// MMA: for the --mma option: Cannot find option named 'wmma'!
// BRACE: for the --policy option: unknown policy '}'; expected one of exclusive_equal,

func.func @layer(%q: tensor<1x2x64x64xbf16>, %k: tensor<1x2x64x64xbf16>,
                 %v: tensor<1x2x64x64xbf16>) -> tensor<1x2x64x64xbf16> {
  %out = tensor.empty() : tensor<1x2x64x64xbf16>
  %o = spa.attention bands(#spa.band_policy<causal, exclusive_equal>)
      ins(%q, %k, %v : tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>)
      outs(%out : tensor<1x2x64x64xbf16>) -> tensor<1x2x64x64xbf16>
  return %o : tensor<1x2x64x64xbf16>
}
