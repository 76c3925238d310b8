#!/bin/bash
# split-keys on the H200: the forward matrix with split twins against
# float64, decode variants timed against the copy floor, sanitizers.
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/split; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench
#   cp -r python/spa $S/python/ && cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/gpu_device.py bench/baselines.py bench/decode_device.py $S/bench/ && cp bench/split_keys_device.sh $S/run.sh
#   PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_prepare.py --no-bench --split --out $S/spa
#   PYTHONPATH=build/python_packages .venv/bin/python bench/decode_device.py prepare --out $S/decode --variants default,x2,x4,x8,x16
#   run(command="bash .device/split/run.sh", carry=[".device/split"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python:$PWD/bench PYTHONUNBUFFERED=1
export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
timeout 240 python3 bench/gpu_device.py --dir spa --out $OUT/check --no-bench 2>&1 | grep -v -i warn > $OUT/check.log
echo "PASS $(grep -c PASS $OUT/check.log)"; grep -v PASS $OUT/check.log | tail -8 | cut -c1-300
timeout 240 python3 bench/decode_device.py run --dir decode --out $OUT/decode 2>&1 | grep -v -i warn | tee $OUT/decode.log | cut -c1-330
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck synccheck; do
  for layer in lpb_f16_d128_gqa_nq500_split8 many_f16_d128_bidir_nq200_nk333_ring_split3; do
    timeout 60 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 bench/gpu_device.py --dir spa --only $layer --no-bench --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "$tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
  done
done | tee $OUT/sanitizers.txt
