// A kernel shape whose shared tile exceeds 48 KiB of static shared memory is
// rejected with the numbers, not left to fail at launch.
// RUN: spa-opt %s -convert-spa-to-gpu="warps=8 tile-k=128" -verify-diagnostics

func.func @f(%q: memref<1x2x512x128xbf16>) {
  // expected-error @+1 {{the kernel's shared tile needs 69632 bytes, more than the 48 KiB of static shared memory; use fewer warps or a smaller tile-k}}
  spa.attention bands(#spa.bands<causal, [0:256], [256:512]>)
      ins(%q, %q, %q : memref<1x2x512x128xbf16>, memref<1x2x512x128xbf16>, memref<1x2x512x128xbf16>)
      outs(%q : memref<1x2x512x128xbf16>)
  return
}
