// The kernel choice (mma = auto | mma.sync | wgmma, chip, stages): what auto
// picks, and a located error for every combination that cannot be built.
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu | FileCheck %s --check-prefix=AUTO
// RUN: spa-opt %s -split-input-file -convert-spa-to-gpu="chip=sm_80" | FileCheck %s --check-prefix=SM80
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="mma=wmma" 2>&1 | FileCheck %s --check-prefix=BADMMA
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="stages=5" 2>&1 | FileCheck %s --check-prefix=BADSTAGES
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="tma=maybe" 2>&1 | FileCheck %s --check-prefix=BADTMA
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="mma=wgmma" 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="mma=wgmma chip=sm_80" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="mma=wgmma warps=2" 2>&1 | FileCheck %s --check-prefix=WARPS
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="stages=2 mma=mma.sync" 2>&1 | FileCheck %s --check-prefix=SYNCSTAGES
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="stages=2" 2>&1 | FileCheck %s --check-prefix=AUTOSTAGES
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="chip=sm90a" 2>&1 | FileCheck %s --check-prefix=BADCHIP
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="chip=sm_30" 2>&1 | FileCheck %s --check-prefix=OLDCHIP
// RUN: not spa-opt %s -split-input-file -spa-to-nvvm="chip=sm_70" 2>&1 | FileCheck %s --check-prefix=OLDNVVM
// RUN: not spa-opt %s -split-input-file -spa-to-nvvm="chip=sm_100" 2>&1 | FileCheck %s --check-prefix=NEWCHIP
// RUN: not spa-opt %s -split-input-file -convert-spa-to-gpu="chip=sm_80a" 2>&1 | FileCheck %s --check-prefix=ACHIP

// D = 32 takes mma.sync even on sm_90a; D = 64 takes wgmma there, mma.sync
// elsewhere. Auto stages: a two-tile K/V ring (Q 8 KiB + 2 x 16 KiB), as
// three such blocks still fit on an SM; then five 8-byte TMA barriers (Q's,
// two K and two V buffers').
// AUTO: spa.launch = {{.*}}mma = "mma.sync"
// AUTO: spa.launch = {{.*}}dynamic_shared_bytes = 41000 : i64{{.*}}mma = "wgmma"
// SM80: spa.launch = {{.*}}mma = "mma.sync"
// SM80: spa.launch = {{.*}}mma = "mma.sync"

// BADMMA: for the --mma option: Cannot find option named 'wmma'!
// BADSTAGES: error: convert-spa-to-gpu: stages must be 0 (auto) to 4; got 5
// BADTMA: for the --tma option: 'maybe' is invalid value for boolean argument! Try 0 or 1
// BADCHIP: error: convert-spa-to-gpu: chip must look like sm_90a or sm_80; got 'sm90a'
// Chips before sm_80 are refused before the NVPTX backend sees them (it
// aborts on the kernel's bf16 and tf32 mma.sync).
// OLDCHIP: error: convert-spa-to-gpu: chip must be sm_80 or newer (the kernel needs bf16 and tf32 mma.sync); got 'sm_30'
// OLDNVVM: error: convert-spa-to-gpu: chip must be sm_80 or newer (the kernel needs bf16 and tf32 mma.sync); got 'sm_70'
// Past sm_90a the +ptx80 PTX ISA ends the backend with an LLVM ERROR.
// NEWCHIP: error: convert-spa-to-gpu: chip must be one of sm_80, sm_86, sm_87, sm_89, sm_90, sm_90a (the chips the kernels are built for); got 'sm_100'
// ACHIP: error: convert-spa-to-gpu: chip must be one of sm_80, sm_86, sm_87, sm_89, sm_90, sm_90a (the chips the kernels are built for); got 'sm_80a'
// SHAPE: mma-options.mlir:[[@LINE+10]]:3: error: 'spa.attention' op the wgmma kernel does not apply: it needs D and Dv multiples of 64, got D = 32, Dv = 32
// CHIP: mma-options.mlir:[[@LINE+9]]:3: error: 'spa.attention' op mma = wgmma needs chip = sm_90a, got sm_80
// WARPS: error: 'spa.attention' op the wgmma kernel does not apply: it runs one, two or three warpgroups (warps = 4, 8 or 12), got warps = 2
// SYNCSTAGES: error: 'spa.attention' op stages = 2 needs the wgmma kernel (the mma.sync kernel copies synchronously); mma = mma.sync was asked for
// AUTOSTAGES: error: 'spa.attention' op stages = 2 needs the wgmma kernel (the mma.sync kernel copies synchronously); wgmma does not apply: it needs D and Dv multiples of 64, got D = 32, Dv = 32
// AUTOSTAGES-NOT: error
// AUTOSTAGES: spa.launch = {{.*}}mma = "wgmma"

// Queries 1 x 2 heads x 64 rows, D = 32.
func.func @narrow(%q: memref<1x2x64x32xbf16>) {
  spa.attention bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q : memref<1x2x64x32xbf16>, memref<1x2x64x32xbf16>, memref<1x2x64x32xbf16>)
      outs(%q : memref<1x2x64x32xbf16>)
  return
}

// -----

func.func @wide(%q: memref<1x2x64x64xbf16>) {
  spa.attention bands(#spa.bands<causal, [0:32], [32:64]>)
      ins(%q, %q, %q : memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>, memref<1x2x64x64xbf16>)
      outs(%q : memref<1x2x64x64xbf16>)
  return
}
