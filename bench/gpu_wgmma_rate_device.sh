#!/bin/bash
# Device run (issues #11, #14, 2026-12-06 sixth session): the tensor pipe's
# rate for the wgmma shapes spa's kernels issue, alone
# (bench/wgmma_rate_probe.py), then the forward and dK/dV tiles' chains
# and their data paths. Measured on an H100 the same day (four calls;
# docs/benchmarks.md "The tensor pipe's rate for spa's wgmma shapes"):
# every shape 955-992 TFLOP/s from two warpgroups (the prediction, that
# m64n64k16 from shared memory is well under m64n128k16, missed); the
# forward chain 703-711 at three warpgroups, dK/dV's 839-856 at two; the
# forward's data path: barriers -3%, K/V copies from L2 -21%, items -13%,
# next item's copies early +2%.
# Fifth call (H100, 2026-12-06, seventh session; rows timed by bench_ms
# from then on): HALF_RINGS, K and V in one ring of 16 KiB half-tile
# slots: 542 TFLOP/s at three warpgroups against the single buffers' 545
# (predicted 600-650: missed; every forward form moves 8.5 TB/s of K/V
# into the SMs there). DKDV_PATHS, the dK/dV chain with its Q/dO ring from
# L2: 916 at two warpgroups, 798 with dS staged and bulk-stored (predicted
# 600-700 and 500-600).
#
# Staged here into the git-ignored .device/wg:
#   S=.device/wg; rm -rf $S; mkdir -p $S/bench $S/python
#   python3 bench/wgmma_rate_gen.py > $S/wgmma_rate_probe.cu
#   /usr/local/cuda/bin/nvcc -arch=sm_90a -cubin -O3 -use_fast_math -diag-suppress 177 \
#     -o $S/wgmma_rate_probe.cubin $S/wgmma_rate_probe.cu
#   cp bench/{wgmma_rate_gen,wgmma_rate_probe}.py $S/bench/ && cp -r python/spa $S/python/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_wgmma_rate_device.sh $S/run.sh
#   run(command="bash .device/wg/run.sh", carry=[".device/wg"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/wgmma_summary.txt
timeout 150 python3 bench/wgmma_rate_probe.py --cubin wgmma_rate_probe.cubin \
  --out $OUT/wgmma 2>&1 | grep -v -i warn | cut -c1-300 | tee -a $S
staged_finish
