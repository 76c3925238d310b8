#!/bin/bash
# Device run (2026-12-07, eleventh session; asked for the H200, an H100
# came): the headline forward + backward with
# the defaults against FlexAttention (staged_spec_head), the headline sweep
# (three launches beside interleaved-dq lag 256), then the SPEC table as far
# as LIMIT allows. Staged here (MLIR) into the git-ignored .device/h2:
#   S=.device/h2; (the python/launcher/bench/test copies as in
#   bench/gpu_interleaved_device.sh's header; lib.sh = bench/staged_lib.sh)
#   $P bench/gpu_grad_prepare.py --spec --out $S/spec
#   $P bench/grad_sweep_prepare.py --out $S/exclusive_equal --variants w4k64,w4k64i256o4
#   cp bench/gpu_spec_head_device.sh $S/run.sh
#   run(command="LIMIT=400 bash .device/h2/run.sh", carry=[".device/h2"])
# (the 2026-12-07 call wrote this summary as h200_summary.txt; renamed)
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/spec_summary.txt
LIMIT=${LIMIT:-560}
staged_spec_head $S head
[ $((LIMIT - SECONDS)) -gt 100 ] && staged_sweeps $S 90 exclusive_equal
[ $((LIMIT - SECONDS)) -gt 120 ] && staged_spec_table $S $LIMIT 0
staged_finish
