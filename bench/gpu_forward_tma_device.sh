#!/bin/bash
# One device run (about 5 minutes) for the forward kernel's TMA tile loads
# (issue #14): the forward correctness matrix against float64 with TMA on
# (bench/gpu_prepare.py --no-bench: both wgmma schedules, f32 on mma.sync),
# decode at Nk = 32768 with and without TMA (bench/decode_device.py), the
# headline shape's forward (and backward) with and without TMA for the four
# policies (bench/grad_sweep.py: bitwise equal gradients), and
# compute-sanitizer memcheck, racecheck and synccheck on two layers.
# SWEEPS="" skips the timed sweeps.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/ftma; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench
#   cp -r python/spa $S/python/ && cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/gpu_device.py bench/baselines.py bench/decode_device.py bench/grad_sweep.py $S/bench/
#   cp bench/gpu_forward_tma_device.sh $S/
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_prepare.py --no-bench --out $S/spa
#   $P bench/decode_device.py prepare --out $S/decode --variants default,c,w4s3,w4s3c
#   for p in exclusive_equal local_plus_band pair_balanced tile_balanced; do
#     $P bench/grad_sweep_prepare.py --out $S/sweep_$p --variants w4k64,w4k64c --policy $p; done
#   run(command="bash .device/ftma/gpu_forward_tma_device.sh", carry=[".device/ftma"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python:$PWD/bench PYTHONUNBUFFERED=1
export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
timeout 200 python3 bench/gpu_device.py --dir spa --out $OUT/check --no-bench 2>&1 | grep -v -i warn | tee $OUT/check.log | tail -32
timeout 150 python3 bench/decode_device.py run --dir decode --out $OUT/decode 2>&1 | grep -v -i warn | tee $OUT/decode.log | tail -16
for s in ${SWEEPS-sweep_*}; do
  timeout 90 python3 bench/grad_sweep.py --dir $s --out /tmp/$s > /dev/null 2>&1
  python3 -c "
import json
d=json.load(open('/tmp/$s/grad_sweep.json'))
for r in d['results']:
    print('$s', r['name'], 'fwd %.4f bwd %.4f' % (r['fwd_ms'], r['bwd_ms']), 'regs', list(r['registers'].values()), 'diff', r['max_diff_vs_first'], 'finite', r['finite'])
"
done | tee $OUT/sweep_summary.txt
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck synccheck; do
  for layer in w8k16_bf16_d64_n300_wgmma many_f16_d128_bidir_nq200_nk333; do
    timeout 60 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 bench/gpu_device.py --dir spa --only $layer --no-bench --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "$tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
  done
done | tee $OUT/sanitizers.txt
