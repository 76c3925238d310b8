#!/bin/bash
# One device run (about 6 minutes) for the non-deterministic backward
# (deterministic=False: dQ by bulk f32 reductions from the dK/dV kernel):
# the correctness matrix of bench/gpu_grad_prepare.py --atomic
# (gpu_grad_check.py against float64; dQ may differ between calls, dK and
# dV must not), the atomic and deterministic wgmma backward timed side by
# side at B=2 H=16 N=8192 D=128 bf16 exclusive_equal (gpu_grad_time.py),
# per-kernel times of the sweep (grad_sweep.py: deterministic, the scalar
# red.global atomics of main before the change, the bulk reductions at
# warps 4 and 8), then compute-sanitizer memcheck, racecheck and synccheck
# on one small odd-size atomic layer each.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/atomic-grad; rm -rf $S; mkdir -p $S/python
#   cp -r python/spa $S/python/
#   cp bench/gpu_grad_check.py bench/gpu_grad_time.py bench/grad_sweep.py bench/baselines.py bench/gpu_grad_atomic_device.sh $S/
#   PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_grad_prepare.py --atomic --bench --out $S/art
#   PYTHONPATH=build/python_packages .venv/bin/python bench/grad_sweep_prepare.py --variants w4k64,w4k64a,w8k64a --out $S/sweep
#   PYTHONPATH=/work/main/build/python_packages .venv/bin/python bench/grad_sweep_prepare.py --variants w4k64a --tag scalar --append --out $S/sweep
#   run(command="bash .device/atomic-grad/gpu_grad_atomic_device.sh", carry=[".device/atomic-grad"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
timeout 120 python3 gpu_grad_check.py --dir art --out $OUT 2>&1 | grep -v Warning | tee $OUT/check.log
timeout 60 python3 gpu_grad_time.py --dir art --out $OUT bench_exclusive_equal_b2_h16_n8192_d128_atomic bench_exclusive_equal_b2_h16_n8192_d128 2>&1 | tee $OUT/time.log
[ -d sweep ] && timeout 90 python3 grad_sweep.py --dir sweep --out $OUT 2>&1 | grep -v Warning | tee $OUT/sweep.log
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
# One small odd-size layer (Nq 300 != Nk 200, GQA, D = 128: padding rows
# and unaligned stream tiles) under each tool.
L=at_dense_bf16_nq300_nk200
for tool in memcheck racecheck synccheck; do
  timeout 50 $CS --tool $tool --report-api-errors no python3 gpu_grad_check.py --dir art --only $L --no-nan --out /tmp/$tool > $OUT/$tool.log 2>&1
  echo "$tool rc=$?" | tee -a $OUT/$tool.log; tail -3 $OUT/$tool.log
done
