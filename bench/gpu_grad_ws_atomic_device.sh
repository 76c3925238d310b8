#!/bin/bash
# One device run for dQ fused into the warp-specialised dK/dV kernel (issue
# #11, docs/backward-plan.md step 4; backward_schedule = "ws" with
# deterministic = False, BackwardQueryReduceWs.h): a small layer first under
# a short timeout (a barrier bug hangs rather than fails), the ws-atomic
# correctness matrix against float64 (dQ may differ between calls, dK and
# dV must not), the classic atomic matrix, per-kernel times of the four backward forms at the headline
# shape and at D = 64 N = 16384 local_plus_band (bench/grad_sweep.py, one
# process each), the headline layer in the four forms against
# FlexAttention (gpu_grad_check.py --bench), then compute-sanitizer
# memcheck, racecheck and synccheck on three odd-size layers.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/wsa; rm -rf $S; mkdir -p $S/python $S/launcher
#   cp -r python/spa $S/python/ && cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/gpu_grad_check.py bench/baselines.py bench/grad_sweep.py bench/grad_sweep_summary.py bench/gpu_grad_ws_atomic_device.sh $S/
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --ws --atomic --bench --out $S/art
#   $P bench/gpu_grad_prepare.py --atomic --out $S/classic
#   $P bench/grad_sweep_prepare.py --out $S/sweepA --variants w4k64,w4k64s,w4k64a,w4k64as
#   $P bench/grad_sweep_prepare.py --out $S/sweepB --variants w4k64,w4k64s,w4k64a,w4k64as --seq-len 16384 --head-dim 64 --policy local_plus_band
#   run(command="bash .device/wsa/gpu_grad_ws_atomic_device.sh", carry=[".device/wsa"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1
export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
timeout 60 python3 gpu_grad_check.py --dir art --only wa_sw_bf16_bidir_n64 --out $OUT/smoke > $OUT/smoke.log 2>&1
rc=$?; grep -v Warning $OUT/smoke.log | tail -4
[ $rc = 0 ] || { echo "smoke layer failed (rc=$rc): stopping"; exit 1; }
timeout 150 python3 gpu_grad_check.py --dir art --out $OUT/check 2>&1 | grep -v Warning | tee $OUT/check.log | tail -24
[ -n "$SMOKE_ONLY" ] && exit 0
# The classic dkdv_dq kernel (its dS^T staging and reductions now shared
# with the fused kernel): its matrix without the NaN runs.
[ -d classic ] && timeout 90 python3 gpu_grad_check.py --dir classic --no-nan --out $OUT/classic 2>&1 | grep -v Warning | tee $OUT/check_classic.log | tail -3
timeout 90 python3 grad_sweep.py --dir sweepA --out $OUT/sweepA 2>&1 | grep -v -i warn > /dev/null
timeout 90 python3 grad_sweep.py --dir sweepB --out $OUT/sweepB 2>&1 | grep -v -i warn > /dev/null
python3 grad_sweep_summary.py sweepA=$OUT/sweepA/grad_sweep.json sweepB=$OUT/sweepB/grad_sweep.json | tee $OUT/sweep_summary.txt
timeout 150 python3 gpu_grad_check.py --dir art --bench --only none --out $OUT/bench 2>&1 | grep -v Warning | tee $OUT/bench.log | tail -8
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck synccheck; do
  for layer in wa_dense_bf16_nq300_nk200 wa_k16_bf16_bidir_gqa_n130 wa_many_f16_bidir_nq200_nk333; do
    timeout 60 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 gpu_grad_check.py --dir art --only $layer --no-nan --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "$tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
    grep -E 'ok|Error|error|Race|Hazard' /tmp/$tool-$layer.log | head -5
  done
done | tee $OUT/sanitizers.txt
