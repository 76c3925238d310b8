#!/bin/bash
# Device run of the backward check (bench/gpu_grad_check.py), then
# compute-sanitizer memcheck/racecheck on small layers, then the timing of
# forward + backward against FlexAttention and dense SDPA (BENCH=0: skip).
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/gpu-grad; mkdir -p $S/python
#   cp -r python/spa $S/python/; cp bench/gpu_grad_check.py bench/gpu_grad_device.sh $S/
#   PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_grad_prepare.py --out $S/art --bench
#   run(command="bash .device/gpu-grad/gpu_grad_device.sh", carry=[".device/gpu-grad"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" | tee -a $OUT/device.txt
timeout 200 python3 gpu_grad_check.py --dir art --out $OUT 2>&1 | tee $OUT/check.log
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
timeout 100 $CS --tool memcheck --report-api-errors no python3 gpu_grad_check.py --dir art --only sanitize --no-nan --out /tmp/mc > $OUT/memcheck.log 2>&1
echo "memcheck rc=$?" | tee -a $OUT/memcheck.log; tail -4 $OUT/memcheck.log
timeout 80 $CS --tool racecheck --report-api-errors no python3 gpu_grad_check.py --dir art --only sw_bf16_bidir_n64,w2k16_f16_d16_n77 --no-nan --out /tmp/rc > $OUT/racecheck.log 2>&1
echo "racecheck rc=$?" | tee -a $OUT/racecheck.log; tail -4 $OUT/racecheck.log
if [ "${BENCH:-1}" = 1 ]; then
  timeout 170 python3 gpu_grad_check.py --dir art --only none --bench --out $OUT/bench 2>&1 | tee $OUT/bench.log
fi
