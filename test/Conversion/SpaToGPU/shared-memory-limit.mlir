// Kernel shapes whose shared tiles do not fit are rejected with the numbers,
// not left to fail at launch: the mma.sync kernel has 48 KiB of static shared
// memory; the wgmma kernel's dynamic shared memory ends at 227 KiB a block.
// RUN: spa-opt %s -convert-spa-to-gpu="warps=8 tile-k=128 mma=mma.sync" -verify-diagnostics
// RUN: not spa-opt %s -convert-spa-to-gpu="warps=8 tile-k=128 mma=wgmma stages=4" 2>&1 | FileCheck %s --check-prefix=WGMMA

// WGMMA: error: 'spa.attention' op the wgmma kernel does not apply: its Q, K and V tiles need 294912 bytes of shared memory, more than the 232448 a block can have; use fewer stages

func.func @f(%q: memref<1x2x512x128xbf16>) {
  // expected-error @+1 {{the kernel's shared tile needs 69632 bytes, more than the 48 KiB of static shared memory; use fewer warps or a smaller tile-k}}
  spa.attention bands(#spa.bands<causal, [0:256], [256:512]>)
      ins(%q, %q, %q : memref<1x2x512x128xbf16>, memref<1x2x512x128xbf16>, memref<1x2x512x128xbf16>)
      outs(%q : memref<1x2x512x128xbf16>)
  return
}
