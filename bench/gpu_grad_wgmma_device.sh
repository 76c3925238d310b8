#!/bin/bash
# One device run (about 4 minutes) for the wgmma backward: the correctness
# matrix of bench/gpu_grad_prepare.py --wgmma (gpu_grad_check.py against
# float64), the mma.sync and wgmma backward timed side by side at B=2 H=16
# N=8192 D=128 bf16 exclusive_equal (gpu_grad_time.py, bench_ms), then
# compute-sanitizer memcheck and racecheck on one small layer each.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=/work/main/.device/wgmma-grad; mkdir -p $S/python
#   cp -r python/spa $S/python/
#   cp bench/gpu_grad_check.py bench/gpu_grad_time.py bench/gpu_grad_wgmma_device.sh $S/
#   PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_grad_prepare.py --wgmma --bench --out $S/art
#   run(command="bash .device/wgmma-grad/gpu_grad_wgmma_device.sh", carry=[".device/wgmma-grad"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
timeout 95 python3 gpu_grad_check.py --dir art --out $OUT 2>&1 | grep -v Warning | tee $OUT/check.log
timeout 45 python3 gpu_grad_time.py --dir art --out $OUT bench_ee_bf16_b2_h16_n8192_d128 bench_ee_bf16_b2_h16_n8192_d128_wgmma 2>&1 | tee $OUT/time.log
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
timeout 40 $CS --tool memcheck --report-api-errors no python3 gpu_grad_check.py --dir art --only wg_dense_bf16_nq300_nk200 --no-nan --out /tmp/mc > $OUT/memcheck.log 2>&1
echo "memcheck rc=$?" | tee -a $OUT/memcheck.log; tail -3 $OUT/memcheck.log
timeout 45 $CS --tool racecheck --report-api-errors no python3 gpu_grad_check.py --dir art --only wg_k16_bf16_bidir_gqa_n130 --no-nan --out /tmp/rc > $OUT/racecheck.log 2>&1
echo "racecheck rc=$?" | tee -a $OUT/racecheck.log; tail -3 $OUT/racecheck.log
