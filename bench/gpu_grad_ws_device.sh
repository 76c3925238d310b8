#!/bin/bash
# One device run for the warp-specialised dK/dV kernel (issue #11,
# docs/backward-plan.md step 2; backward_schedule = "ws"): the ws
# correctness matrix against float64 (a small layer first, under a short
# timeout: a barrier bug hangs rather than fails), ws against classic timed
# in one process (bench/grad_sweep.py; their gradients must agree to
# rounding), the headline layer against FlexAttention (bench/gpu_grad_check.py
# --bench), and compute-sanitizer memcheck, racecheck and synccheck.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/ws; rm -rf $S; mkdir -p $S/python $S/launcher
#   cp -r python/spa $S/python/ && cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/gpu_grad_check.py bench/baselines.py bench/grad_sweep.py bench/grad_sweep_summary.py bench/gpu_grad_ws_device.sh $S/
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --ws --out $S/ws
#   $P bench/gpu_grad_prepare.py --ws --bench-only --out $S/bench
#   $P bench/grad_sweep_prepare.py --out $S/sweepA --variants w4k64l,w4k64s
#   $P bench/grad_sweep_prepare.py --out $S/sweepB --variants w4k64l,w4k64s --seq-len 16384 --head-dim 64 --policy local_plus_band
#   run(command="bash .device/ws/gpu_grad_ws_device.sh", carry=[".device/ws"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
timeout 60 python3 gpu_grad_check.py --dir ws --only ws_sw_bf16_bidir_n64 --out $OUT/smoke > $OUT/smoke.log 2>&1
rc=$?; grep -v Warning $OUT/smoke.log | tail -4
[ $rc = 0 ] || { echo "smoke layer failed (rc=$rc): stopping"; exit 1; }
timeout 150 python3 gpu_grad_check.py --dir ws --out $OUT/ws 2>&1 | grep -v Warning | tee $OUT/check_ws.log | tail -18
[ -n "$SMOKE_ONLY" ] && exit 0
timeout 90 python3 grad_sweep.py --dir sweepA --out $OUT/sweepA 2>&1 | grep -v -i warn > /dev/null
timeout 90 python3 grad_sweep.py --dir sweepB --out $OUT/sweepB 2>&1 | grep -v -i warn > /dev/null
python3 grad_sweep_summary.py sweepA=$OUT/sweepA/grad_sweep.json sweepB=$OUT/sweepB/grad_sweep.json | tee $OUT/sweep_summary.txt
timeout 150 python3 gpu_grad_check.py --dir bench --bench --out $OUT/bench 2>&1 | grep -v Warning | tee $OUT/bench.log | tail -8
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck synccheck; do
  for layer in ws_dense_bf16_nq300_nk200 ws_k16_bf16_bidir_gqa_n130 ws_many_f16_bidir_nq200_nk333; do
    timeout 60 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 gpu_grad_check.py --dir ws --only $layer --no-nan --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "$tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
    grep -E 'ok|Error|error|Race|Hazard' /tmp/$tool-$layer.log | head -5
  done
done | tee $OUT/sanitizers.txt
