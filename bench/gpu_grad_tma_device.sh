#!/bin/bash
# One device run (about 6 minutes) for the TMA tile loads of the wgmma
# backward (issue #11, docs/backward-plan.md step 1): the wgmma and atomic
# correctness matrices against float64 with TMA on (the compiled launcher
# encoding the tensor maps), a few layers through the cuda-python launcher,
# TMA against cp.async timed in one process (bench/grad_sweep.py: the
# variants' gradients must be bitwise equal), and compute-sanitizer
# memcheck, racecheck and synccheck on small layers.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/tma; rm -rf $S; mkdir -p $S/python $S/launcher
#   cp -r python/spa $S/python/ && cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/gpu_grad_check.py bench/baselines.py bench/grad_sweep.py bench/grad_sweep_summary.py bench/gpu_grad_tma_device.sh $S/
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --wgmma --out $S/wg
#   $P bench/gpu_grad_prepare.py --atomic --out $S/at
#   $P bench/grad_sweep_prepare.py --out $S/sweepA --variants w4k64,w4k64c,w4k64a,w4k64ac
#   $P bench/grad_sweep_prepare.py --out $S/sweepB --variants w4k64,w4k64c --seq-len 16384 --head-dim 64 --policy local_plus_band
#   run(command="bash .device/tma/gpu_grad_tma_device.sh", carry=[".device/tma"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
python3 -c "import spa.runtime.launcher as L; print(L.launcher_status())" | tee -a $OUT/device.txt
timeout 120 python3 gpu_grad_check.py --dir wg --out $OUT/wg 2>&1 | grep -v Warning | tee $OUT/check_wg.log | tail -25
timeout 120 python3 gpu_grad_check.py --dir at --out $OUT/at 2>&1 | grep -v Warning | tee $OUT/check_at.log | tail -25
SPA_LAUNCHER=python timeout 60 python3 gpu_grad_check.py --dir wg --only wg_ee_bf16_n1,wg_lpb_f16_d128_gqa_nq500,wg_k16_bf16_bidir_gqa_n130 --out $OUT/py 2>&1 | grep -v Warning | tee $OUT/check_py.log | tail -8
timeout 90 python3 grad_sweep.py --dir sweepA --out $OUT/sweepA 2>&1 | grep -v -i warn > /dev/null
timeout 90 python3 grad_sweep.py --dir sweepB --out $OUT/sweepB 2>&1 | grep -v -i warn > /dev/null
python3 grad_sweep_summary.py sweepA=$OUT/sweepA/grad_sweep.json sweepB=$OUT/sweepB/grad_sweep.json | tee $OUT/sweep_summary.txt
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
# racecheck --racecheck-report all: warnings count as well as errors.
for tool in memcheck racecheck synccheck; do
  for layer in wg_dense_bf16_nq300_nk200 wg_k16_bf16_bidir_gqa_n130; do
    timeout 60 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 gpu_grad_check.py --dir wg --only $layer --no-nan --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "$tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
    grep -E 'ok|Error|error' /tmp/$tool-$layer.log | head -5
  done
done | tee $OUT/sanitizers.txt
