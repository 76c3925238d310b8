#!/bin/bash
# One device run for the overlapped forward schedule (issue #14,
# forward-schedule=overlap, MainloopSm90Overlap.cpp): the forward
# correctness matrix against float64 with overlap twins of every wgmma
# layer (stages 3 and 2, warps 4 and 8), the headline shape's four policies
# timed with both schedules and the overlap's shape variants (FlexAttention,
# dense SDPA in the same process), and compute-sanitizer memcheck,
# racecheck and synccheck on two overlap layers. CHECK=0 skips the matrix;
# SANITIZE names other layers for the sanitizers (the ws schedule's run:
# bench/gpu_prepare.py --ws, SANITIZE="... _ws ...").
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/fov; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench
#   cp -r python/spa $S/python/ && cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/gpu_device.py bench/baselines.py $S/bench/ && cp bench/gpu_forward_overlap_device.sh $S/
#   PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_prepare.py --overlap --quick --out $S/spa
#   run(command="bash .device/fov/gpu_forward_overlap_device.sh", carry=[".device/fov"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python:$PWD/bench PYTHONUNBUFFERED=1
export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
if [ "${CHECK-1}" = 1 ]; then
  timeout 240 python3 bench/gpu_device.py --dir spa --out $OUT/check --no-bench 2>&1 | grep -v -i warn > $OUT/check.log
  grep -c PASS $OUT/check.log; grep -v PASS $OUT/check.log | tail -12
fi
timeout 300 python3 bench/gpu_device.py --dir spa --out $OUT/bench --no-check 2>&1 | grep -v -i warn | tee $OUT/bench.log | grep -E "bench_|device" | cut -c1-230
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck synccheck; do
  for layer in ${SANITIZE:-lpb_f16_d128_gqa_nq500_overlap_s2 many_f16_d128_bidir_nq200_nk333_overlap_w8}; do
    timeout 60 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 bench/gpu_device.py --dir spa --only $layer --no-bench --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "$tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
  done
done | tee $OUT/sanitizers.txt
