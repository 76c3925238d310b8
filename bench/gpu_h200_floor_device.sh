#!/bin/bash
# Device run (issue #11's floor, 2026-12-07, twelfth session; restaged in
# the thirteenth once programmatic-launch and tma-stores became defaults):
# #11 sets its floor (forward + backward at most 0.6x FlexAttention's time)
# on the H200, and the defaults have not run on one since 2026-12-05. On an
# H200: the headline forward + backward against FlexAttention twice, each
# in a process of its own (staged_spec_head), the headline sweep (the
# defaults, and the old defaults w4k64he: programmatic-launch and
# tma-stores off; bench/grad_sweep.py, one process),
# then the SPEC table as far as LIMIT allows. On any other card only the
# sweep (~150 s), so that a call landing on an H100 costs little; with
# ONLY_H200=1 nothing at all there.
#
# Staged here (MLIR) into the git-ignored .device/h3:
#   S=.device/h3; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{gpu_grad_check,gpu_device,baselines,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_h200_floor_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --spec --out $S/spec
#   $P bench/grad_sweep_prepare.py --out $S/exclusive_equal --variants w4k64,w4k64he
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/h3/run.sh", carry=[".device/h3"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
LIMIT=${LIMIT:-470}
if grep -q H200 "$OUT/device.txt"; then
  S=$OUT/spec_summary.txt
  cat "$OUT/device.txt" >> $S
  staged_spec_head $S head
  [ $((LIMIT - SECONDS)) -gt 160 ] && staged_sweeps $S 150 exclusive_equal
  [ $((LIMIT - SECONDS)) -gt 60 ] && staged_spec_head $S head2
  [ $((LIMIT - SECONDS)) -gt 120 ] && staged_spec_table $S $LIMIT 0
elif [ "$ONLY_H200" = 1 ]; then
  echo "not an H200: nothing run" | tee -a $OUT/device.txt
else
  S=$OUT/sweep_summary.txt
  cat "$OUT/device.txt" >> $S
  staged_sweeps $S 170 exclusive_equal
fi
staged_finish
