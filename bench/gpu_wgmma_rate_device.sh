#!/bin/bash
# Device run (issues #11, #14, 2026-12-06 sixth session): the tensor pipe's
# rate for the wgmma shapes spa's kernels issue, alone
# (bench/wgmma_rate_probe.py). Prediction: m64n64k16 from shared memory
# well under m64n128k16's rate at one and two warpgroups an SM.
#
# Staged here into the git-ignored .device/wg:
#   S=.device/wg; rm -rf $S; mkdir -p $S/bench
#   python3 bench/wgmma_rate_gen.py > $S/wgmma_rate_probe.cu
#   /usr/local/cuda/bin/nvcc -arch=sm_90a -cubin -O3 -use_fast_math -diag-suppress 177 \
#     -o $S/wgmma_rate_probe.cubin $S/wgmma_rate_probe.cu
#   cp bench/{wgmma_rate_gen,wgmma_rate_probe}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_wgmma_rate_device.sh $S/run.sh
#   run(command="bash .device/wg/run.sh", carry=[".device/wg"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/wgmma_summary.txt
timeout 150 python3 bench/wgmma_rate_probe.py --cubin wgmma_rate_probe.cubin \
  --out $OUT/wgmma 2>&1 | grep -v -i warn | cut -c1-300 | tee -a $S
staged_finish
