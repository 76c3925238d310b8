#!/bin/bash
# Device runs for score-grads = store (issue #11, 2026-12-04): the dK/dV
# kernel stores each tile pair's dS, the dQ kernel is one product a tile
# pair (ScoreGradStore.h). PART=check: the stored gradient matrix against
# float64 and compute-sanitizer on three of its layers; PART=time: the
# headline and the D = 64 local_plus_band layers recomputing and storing in
# one process (bench/grad_sweep.py; the "nowrite" variant, compiled with the
# experiment switch SPA_EXP_NO_WRITE=1, is the dK/dV kernel without its
# stores: timing only, its dQ reads an unwritten scratch), and the SPEC
# shapes' forward + backward against FlexAttention, stored and recomputing.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/sd; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{gpu_grad_check,baselines,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/gpu_score_grads_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --stored --bench --out $S/grad
#   $P bench/grad_sweep_prepare.py --out $S/sweepA --variants w4k64,w4k64d
#   $P bench/grad_sweep_prepare.py --out $S/sweepB --variants w4k64,w4k64d --seq-len 16384 --head-dim 64 --policy local_plus_band
#   run(command="PART=check bash .device/sd/run.sh", carry=[".device/sd"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python:$PWD/bench PYTHONUNBUFFERED=1
export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
export SPA_TORCH_NATIVE_LIB=$PWD/launcher/_spa_torch_native.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
if [ "$PART" != time ]; then
timeout 60 python3 bench/gpu_grad_check.py --dir grad --only sd_sw_bf16_bidir_n64 --out $OUT/smoke > $OUT/smoke.log 2>&1
rc=$?; grep -v Warning $OUT/smoke.log | tail -3
[ $rc = 0 ] || { echo "smoke layer failed (rc=$rc): stopping"; cd $OUT && tar czf results.tgz --exclude=results.tgz . ; exit 1; }
timeout 150 python3 bench/gpu_grad_check.py --dir grad --out $OUT/grad 2>&1 | grep -v Warning > $OUT/grad.log; tail -3 $OUT/grad.log
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck synccheck; do
  for layer in sd_dense_bf16_nq300_nk200 sd_k16_bf16_bidir_gqa_n130 sd_many_f16_bidir_nq200_nk333; do
    timeout $([ $tool = racecheck ] && echo 150 || echo 60) $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 bench/gpu_grad_check.py --dir grad --only $layer --no-nan --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "stored $tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
  done
done | tee $OUT/sanitizers.txt
fi
if [ "$PART" != check ]; then
for d in sweepA sweepB; do
  timeout 150 python3 bench/grad_sweep.py --dir $d --out $OUT/$d 2>&1 | grep -v -i warn > /dev/null
done
python3 bench/grad_sweep_summary.py sweepA=$OUT/sweepA/grad_sweep.json sweepB=$OUT/sweepB/grad_sweep.json | tee $OUT/sweep_summary.txt
timeout 240 python3 bench/gpu_grad_check.py --dir grad --bench --only none --out $OUT/hbench 2>&1 | grep -v Warning > $OUT/hbench.log; grep BENCH $OUT/hbench.log | cut -c1-200
fi
cd $OUT && tar czf results.tgz --exclude=results.tgz . 2>/dev/null; exit 0
