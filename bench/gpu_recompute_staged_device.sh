#!/bin/bash
# Device run (issue #11, 2026-12-06, fourth session): the staged lse and
# Delta (shared-stream-lse, shared-stream-delta: each query tile's row
# statistics through shared memory with the tile) on the recomputing
# classic dK/dV kernel at D = 128, which score-grads = auto takes where the
# dS scratch would pass 1 GiB (local_plus_band at N = 8192 and 16384,
# tile_balanced N = 8192, pair/tile_balanced N = 16384). At the headline
# (gpu_dq_zero_tail_device.sh) the pair cut that kernel 0.213 -> 0.185 ms
# (-13%); the lse alone had measured within noise there (2026-12-06).
# Prediction: dK/dV -8 to -13%, backward -4 to -7% on these rows. The
# recomputing kernels with both options passed the cp.async gradient
# matrix against float64 (2026-12-06, second session).
#
# Staged here (MLIR) into the git-ignored .device/xy (about 8 MB):
#   S=.device/xy; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{baselines,gpu_grad_check,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_recompute_staged_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/grad_sweep_prepare.py --policy local_plus_band --variants w4k64,w4k64xy --out $S/lpb8
#   $P bench/grad_sweep_prepare.py --policy tile_balanced --variants w4k64,w4k64xy --out $S/tb8
#   for p in pair_balanced:pb16 tile_balanced:tb16 local_plus_band:lpb16; do
#     $P bench/grad_sweep_prepare.py --policy ${p%:*} --batch 1 --heads 32 --seq-len 16384 --variants w4k64,w4k64xy --out $S/${p#*:}; done
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/xy/run.sh", carry=[".device/xy"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/xy_summary.txt
staged_sweeps $S 90 lpb8 tb8 pb16 tb16
[ $SECONDS -lt 420 ] && staged_sweeps $S 120 lpb16
staged_finish
