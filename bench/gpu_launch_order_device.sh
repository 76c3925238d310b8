#!/bin/bash
# Device run (issue #11, 2026-12-06 fifth session): docs/backward-plan.md
# section 7's candidates 1 (dS from L2) and 3 (programmatic dependent
# launch), each measured before anything more is built on it.
#
# 1. programmatic-launch (every kernel waits for the grids before it with
#    griddepcontrol and is launched with programmatic stream
#    serialization; launcher ABI 3). Correct first: the wgmma gradient
#    matrix compiled with it (11 layers against float64; forward and
#    backward kernels launched back to back, so a kernel that ran before
#    its predecessor finished would read stale O, lse, Delta or dS), and
#    memcheck on one layer. Then bench/kernel_timeline.py: each variant's
#    forward + backward in context, kernel by kernel with the gaps, and
#    bench_ms of the pair (ABAB). Prediction: fwd+bwd -1 to -2% at the
#    headline (~5 us of gaps over four kernel boundaries, plus the blocks'
#    start), gradients bitwise equal.
# 2. The dq_stored kernel's work list permuted on the device
#    (bench/dq_order_probe.py): compiled, reversed, written-last-first.
#    Prediction: written-last-first dq_stored -3 to -8% (the L2 holds the
#    dK/dV kernel's last wave's dS), reversed within noise; bitwise equal.
#
# Staged here (MLIR) into the git-ignored .device/plo (about 20 MB):
#   S=.device/plo; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/{baselines,gpu_grad_check,grad_sweep,grad_sweep_summary,sweep_tables,dq_order_probe,kernel_timeline}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_launch_order_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --wgmma --programmatic-launch --out $S/wg
#   $P bench/grad_sweep_prepare.py --variants w4k64,w4k64g --out $S/hE
#   $P bench/grad_sweep_prepare.py --policy tile_balanced --variants w4k64,w4k64g --out $S/hT
#   $P bench/grad_sweep_prepare.py --batch 4 --seq-len 4096 --head-dim 64 --variants w4k64,w4k64g --out $S/h64
#   $P bench/grad_sweep_prepare.py --batch 1 --heads 32 --seq-len 16384 --variants w4k64,w4k64g --out $S/hL
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/plo/run.sh", carry=[".device/plo"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/plo_summary.txt
staged_grad_matrix $S 200 wg
staged_grad_sanitize $S memcheck wg gwg_lpb_f16_d128_gqa_nq500
for d in hE hT h64 hL; do
  timeout 100 python3 bench/kernel_timeline.py --dir $d --out $OUT/tl_$d 2>&1 |
    grep -v -i warn | cut -c1-900 | sed "s/^/timeline $d: /" | tee -a $S
done
for d in hE hL; do
  [ $SECONDS -lt 480 ] || break
  timeout 100 python3 bench/dq_order_probe.py --dir $d --out $OUT/ord_$d 2>&1 |
    grep -v -i warn | cut -c1-600 | sed "s/^/order $d: /" | tee -a $S
done
staged_finish
