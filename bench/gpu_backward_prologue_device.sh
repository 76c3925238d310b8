#!/bin/bash
# Device runs for the backward kernels' prologues (issue #11, 2026-12-04):
# (1) Delta computed in the dQ kernel (the deterministic backward's
# preprocess launch folded into the dQ kernel, which now runs first and
# writes Delta for the dK/dV kernel); (2) the own tiles' TMA wait deferred
# to the first stream tile's wait in both product kernels (their copies and
# the first stream copies in flight together). Each run: the wgmma,
# atomic, warp-specialised and fused gradient matrices against float64,
# sanitizers on odd-size layers, spa.torch's strided configurations
# (bitwise against contiguous, under torch.compile), then the headline and
# the D = 64 local_plus_band layers before/after in one process
# (bench/grad_sweep.py; "before" = the same build compiled with the step's
# experiment switch: SPA_EXP_PREPROCESS=1 for (1), SPA_EXP_OWN_WAIT_FIRST=1
# for (2), both since removed) and the SPEC shapes' forward + backward
# against FlexAttention.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/dq; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{gpu_grad_check,baselines,grad_sweep,grad_sweep_summary,torch_device_check}.py bench/torch_device_strided.json $S/bench/
#   cp bench/gpu_backward_prologue_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --wgmma --out $S/grad     (and --atomic, --ws, --ws --atomic into atomic, ws, wsa)
#   $P bench/gpu_grad_prepare.py --bench-only --out $S/hbench
#   $P bench/grad_sweep_prepare.py --out $S/sweepA --variants w4k64
#   $P bench/grad_sweep_prepare.py --out $S/sweepB --variants w4k64 --seq-len 16384 --head-dim 64 --policy local_plus_band
#   env SPA_EXP_...=1 $P bench/grad_sweep_prepare.py --append --tag before --out $S/sweepA --variants w4k64   (and sweepB)
#   PYTHONPATH=build/python_packages .venv/bin/python -m spa.torch.precompile --configs bench/torch_device_strided.json --cache-dir $S/torch-cache
#   run(command="bash .device/dq/run.sh", carry=[".device/dq"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python:$PWD/bench PYTHONUNBUFFERED=1
export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
export SPA_TORCH_NATIVE_LIB=$PWD/launcher/_spa_torch_native.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
# PART=time: the timings only; PART=check: the matrices, sanitizers and
# strided checks only; unset: both (about 9 minutes).
if [ "$PART" != check ]; then
for d in sweepA sweepB; do
  timeout 120 python3 bench/grad_sweep.py --dir $d --out $OUT/$d 2>&1 | grep -v -i warn > /dev/null
done
python3 bench/grad_sweep_summary.py sweepA=$OUT/sweepA/grad_sweep.json sweepB=$OUT/sweepB/grad_sweep.json | tee $OUT/sweep_summary.txt
timeout 200 python3 bench/gpu_grad_check.py --dir hbench --bench --only none --out $OUT/hbench 2>&1 | grep -v Warning > $OUT/hbench.log; grep BENCH $OUT/hbench.log | cut -c1-200
fi
if [ "$PART" != time ]; then
timeout 60 python3 bench/gpu_grad_check.py --dir grad --only wg_sw_bf16_bidir_n64 --out $OUT/smoke > $OUT/smoke.log 2>&1
rc=$?; grep -v Warning $OUT/smoke.log | tail -3
[ $rc = 0 ] || { echo "smoke layer failed (rc=$rc): stopping"; exit 1; }
timeout 120 python3 bench/gpu_grad_check.py --dir grad --out $OUT/grad 2>&1 | grep -v Warning > $OUT/grad.log; tail -3 $OUT/grad.log
timeout 90 python3 bench/gpu_grad_check.py --dir atomic --no-nan --out $OUT/atomic 2>&1 | grep -v Warning > $OUT/atomic.log; tail -2 $OUT/atomic.log
for d in ws wsa; do
  timeout 100 python3 bench/gpu_grad_check.py --dir $d --out $OUT/$d 2>&1 | grep -v Warning > $OUT/$d.log; tail -1 $OUT/$d.log
done
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck synccheck; do
  for layer in wg_w8k32_bf16_d128_n333 wg_ee_f16_n2047_d128_dv64 wg_k16_bf16_bidir_gqa_n130; do
    timeout $([ $tool = racecheck ] && echo 200 || echo 60) $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 bench/gpu_grad_check.py --dir grad --only $layer --no-nan --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "grad $tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
  done
done | tee $OUT/sanitizers.txt
SPA_CACHE_DIR=$PWD/torch-cache timeout 200 python3 bench/torch_device_check.py \
  --configs bench/torch_device_strided.json --out $OUT/strided > $OUT/strided.log 2>&1
echo "strided rc=$?"; grep -v -i warn $OUT/strided.log | tail -4
fi
cd $OUT && tar czf results.tgz --exclude=results.tgz . 2>/dev/null; exit 0
