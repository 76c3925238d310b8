#!/bin/bash
# Device run (issues #11, #14, 2026-12-06 seventh session): an ablation of
# the real kernels. The probes (bench/wgmma_rate_probe.py) put the forward
# tile's chain with its data path at ~470-545 TFLOP/s and the dK/dV chain
# with its Q/dO ring and dS store at ~800, against the real kernels' ~350
# and ~380. Which parts of the real kernels hold them there? A scratch
# build (branch `ablate-scratch`, never merged: SPA_ABLATE=a,b,... read by
# the generator, lib/Conversion/SpaToGPU/AblationScratch.h) removes one
# part at a time; the outputs are wrong, only the times count:
#   nomask  every tile taken as interior (forward and backward: no edge
#           masks)
#   noepi   the forward's O/lse epilogue and the dK/dV kernel's dK/dV
#           stores under a run-time-false condition (kept in the code, so
#           nothing before them is removed)
#   nostats the dK/dV kernel's lse and Delta as constants (no reads)
#   nostore the dK/dV kernel's dS staging and bulk store skipped
#   all     the four together
# and two candidate changes to the dK/dV kernel's masks (correct results):
#   rowmasks the query columns a key row admits computed once per row
#            (as auto does for two-interval heads) on the headline too
#   dspzero  dS^T never in a masked branch: zero where P^T is zero (P^T
#            already is on inadmissible pairs; the select keeps a NaN in
#            dP^T off rows that do not reach the key)
# Each sweep times the default build's kernels (w4k64) and the ablated
# ones in one process (bench/grad_sweep.py: forward and backward by
# bench_ms, each backward kernel by the CUDA profiler).
#
# Staged here into the git-ignored .device/abl, first on a scratch branch
# with the hooks (git checkout -b ablate-scratch && python3
# bench/ablation_scratch_patch.py . && git commit -am scratch; ninja -C build):
#   S=.device/abl; mkdir -p $S/python $S/launcher $S/bench $S/test
#   P="env PYTHONPATH=build/python_packages .venv/bin/python bench/grad_sweep_prepare.py"
#   for pol in exclusive_equal local_plus_band; do
#     $P --out $S/$pol --variants w4k64 --policy $pol
#     for a in nomask noepi nostats nostore nomask,noepi,nostats,nostore; do
#       tag=$(echo $a | tr -d ,); [ $a = nomask,noepi,nostats,nostore ] && tag=all
#       SPA_ABLATE=$a $P --out $S/$pol --variants w4k64 --policy $pol --append --tag $tag
#     done
#   done
#   for a in rowmasks dspzero rowmasks,dspzero; do
#     SPA_ABLATE=$a $P --out $S/exclusive_equal --variants w4k64 --policy exclusive_equal --append --tag $(echo $a | tr -d ,)
#   done
#   SPA_ABLATE=dspzero $P --out $S/local_plus_band --variants w4k64 --policy local_plus_band --append --tag dspzero
#   (the 2026-12-07 call ran with each manifest's variants reordered after w4k64,
#   nomask, all and the candidates first, so that a call cut short keeps them)
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_ablation_device.sh $S/run.sh
#   git checkout main, rebuild, then the SPEC rows of main's build (the
#   headline row is timed against FlexAttention in the same call):
#   cp bench/{baselines,gpu_grad_check}.py $S/bench/
#   env PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_grad_prepare.py --spec --out $S/spec
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/abl/run.sh", carry=[".device/abl"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
export TORCHINDUCTOR_COMPILE_THREADS=1
S=$OUT/ablation_summary.txt
staged_sweeps $S 200 exclusive_equal
# The headline forward + backward against FlexAttention (issue #11's floor),
# in a process of its own, then local_plus_band's ablation with the time left.
[ $SECONDS -lt 300 ] && staged_spec_head $S head
[ $SECONDS -lt 420 ] && staged_sweeps $S 150 local_plus_band
staged_finish
