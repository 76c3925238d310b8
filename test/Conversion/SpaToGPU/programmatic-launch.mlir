// programmatic-launch (GridDependency.h): every kernel of the forward and
// of the gradient (preprocess, dK/dV, dq_stored at D = 128; the recomputing
// dQ and warp-specialised dK/dV kernels at D = 64; split-keys' combine)
// begins with griddepcontrol.wait, then launch_dependents, before anything
// else, and its launch contract says programmatic_launch. `auto` (the
// default) turns it on for chip sm_90a only: off for sm_90 and sm_80, and
// with `false`. `true` below sm_90 is refused.
// RUN: spa-opt %s -convert-spa-to-gpu -split-input-file | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="programmatic-launch=true" -split-input-file | FileCheck %s
// RUN: spa-opt %s -convert-spa-to-gpu="programmatic-launch=false" -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="chip=sm_90 mma=mma.sync" -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="chip=sm_80 mma=mma.sync" -split-input-file | FileCheck %s --check-prefix=OFF
// RUN: spa-opt %s -convert-spa-to-gpu="chip=sm_90 mma=mma.sync programmatic-launch=true" -split-input-file | FileCheck %s --check-prefix=SM90
// RUN: spa-opt %s -convert-spa-to-gpu="split-keys=2" -split-input-file | FileCheck %s --check-prefix=SPLIT
// RUN: not spa-opt %s -convert-spa-to-gpu="programmatic-launch=true chip=sm_80 mma=mma.sync" -split-input-file 2>&1 | FileCheck %s --check-prefix=OLD
// RUN: not spa-opt %s -convert-spa-to-gpu="programmatic-launch=sometimes" 2>&1 | FileCheck %s --check-prefix=VALUE
// OLD: error: convert-spa-to-gpu: programmatic-launch needs chip sm_90 or sm_90a (griddepcontrol); got 'sm_80'
// VALUE: for the --programmatic-launch option: Cannot find option named 'sometimes'!
// OFF-NOT: griddepcontrol
// OFF-NOT: programmatic_launch
// SM90-LABEL: gpu.func @spa_attention_0({{.*}}programmatic_launch
// SM90-NEXT: nvvm.griddepcontrol wait
// SM90-NEXT: nvvm.griddepcontrol launch_dependents

// CHECK-LABEL: gpu.func @spa_attention_0({{.*}}programmatic_launch
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-LABEL: gpu.func @spa_attention_grad_1_preprocess({{.*}}programmatic_launch
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-LABEL: gpu.func @spa_attention_grad_1_dkdv({{.*}}programmatic_launch
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-LABEL: gpu.func @spa_attention_grad_1_dq_stored({{.*}}programmatic_launch
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
func.func @layer_d128(%q: memref<1x2x256x128xbf16>, %k: memref<1x2x256x128xbf16>, %v: memref<1x2x256x128xbf16>, %o: memref<1x2x256x128xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>)
      outs(%o, %l : memref<1x2x256x128xbf16>, memref<1x2x256xf32>)
  spa.attention_grad bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256xf32>, memref<1x2x256x128xbf16>)
      outs(%q, %k, %v : memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>)
  return
}

// -----

// CHECK-LABEL: gpu.func @spa_attention_grad_0_dq({{.*}}programmatic_launch
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-LABEL: gpu.func @spa_attention_grad_0_dkdv({{.*}}programmatic_launch
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
func.func @grad_d64(%q: memref<1x2x256x64xbf16>, %k: memref<1x2x256x64xbf16>, %v: memref<1x2x256x64xbf16>, %o: memref<1x2x256x64xbf16>, %l: memref<1x2x256xf32>) {
  spa.attention_grad bands(#spa.bands<causal, [0:128], [128:256]>)
      ins(%q, %k, %v, %o, %l, %o : memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256xf32>, memref<1x2x256x64xbf16>)
      outs(%q, %k, %v : memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>, memref<1x2x256x64xbf16>)
  return
}

// -----

// split-keys = 2: the combine kernel too.
// SPLIT-LABEL: gpu.func @spa_attention_0({{.*}}programmatic_launch
// SPLIT-NEXT: nvvm.griddepcontrol wait
// SPLIT-NEXT: nvvm.griddepcontrol launch_dependents
// SPLIT-LABEL: gpu.func @spa_attention_0_combine({{.*}}programmatic_launch
// SPLIT-NEXT: nvvm.griddepcontrol wait
// SPLIT-NEXT: nvvm.griddepcontrol launch_dependents
func.func @decode(%q: memref<1x2x1x128xbf16>, %k: memref<1x2x512x128xbf16>, %v: memref<1x2x512x128xbf16>, %o: memref<1x2x1x128xbf16>, %l: memref<1x2x1xf32>) {
  spa.attention bands(#spa.bands<causal, [0:256], [256:512]>)
      ins(%q, %k, %v : memref<1x2x1x128xbf16>, memref<1x2x512x128xbf16>, memref<1x2x512x128xbf16>)
      outs(%o, %l : memref<1x2x1x128xbf16>, memref<1x2x1xf32>)
  return
}
