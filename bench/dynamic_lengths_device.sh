#!/bin/bash
# One device run for run-time lengths (issue #14): every dynamic artifact
# at its lengths against float64, the headline shape dynamic vs static in
# the same process, compute-sanitizer memcheck/racecheck/synccheck on two
# dynamic artifacts.
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/dyn; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench
#   cp -r python/spa $S/python/ && cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/gpu_device.py bench/baselines.py bench/dynamic_lengths_device.py $S/bench/
#   cp bench/dynamic_lengths_device.sh $S/
#   PYTHONPATH=build/python_packages .venv/bin/python bench/dynamic_lengths_prepare.py --out $S/spa
#   run(command="bash .device/dyn/dynamic_lengths_device.sh", carry=[".device/dyn"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python:$PWD/bench PYTHONUNBUFFERED=1
export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
timeout 300 python3 bench/dynamic_lengths_device.py --dir spa --out $OUT 2>&1 | grep -v -i warn | tee $OUT/check.log | cut -c1-260
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck synccheck; do
  for layer in lpb_f16_d128_gqa ee_bf16_d64_bidir; do
    timeout 90 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 bench/dynamic_lengths_device.py --dir spa --only $layer --no-bench --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "$tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
  done
done | tee $OUT/sanitizers.txt
