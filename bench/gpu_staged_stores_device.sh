#!/bin/bash
# One device run for the staged epilogue stores (StagedStores.h: the forward's
# O, the dK/dV and dQ kernels' gradients out through shared memory in 16-byte
# row chunks) and the chained forward's deferred Q wait (issues #11, #14):
# the wgmma gradient matrix and the classic atomic matrix against float64,
# the forward correctness matrix, the run-time-length artifacts, sanitizers
# on odd-size layers, then the headline layer before/after in one process
# (bench/grad_sweep.py: fwd and bwd by bench_ms, per-kernel times; variants
# compiled with the change's parts switched off are tagged) and the forward
# benchmark shapes before/after, the SPEC shapes' forward + backward against
# FlexAttention. (On 2026-12-03 the warp-specialised dK/dV part was checked
# and timed in a second call with the same commands.)
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/stg; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench
#   cp -r python/spa $S/python/ && cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/{gpu_grad_check,baselines,grad_sweep,grad_sweep_summary,gpu_device,dynamic_lengths_device}.py $S/bench/
#   cp bench/gpu_staged_stores_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --wgmma --out $S/grad
#   $P bench/gpu_grad_prepare.py --atomic --out $S/atomic
#   $P bench/gpu_grad_prepare.py --ws --out $S/ws
#   $P bench/gpu_grad_prepare.py --ws --atomic --out $S/wsa
#   $P bench/gpu_grad_prepare.py --bench-only --out $S/hbench
#   $P bench/gpu_prepare.py --no-bench --out $S/fwd
#   $P bench/dynamic_lengths_prepare.py --out $S/dyn
#   $P bench/grad_sweep_prepare.py --out $S/sweepA --variants w4k64,w4k64as
#   $P bench/grad_sweep_prepare.py --out $S/sweepB --variants w4k64,w4k64as --seq-len 16384 --head-dim 64 --policy local_plus_band
#   $P bench/gpu_prepare.py --bench-only --quick --out $S/fbench
# and the "before" kernels from the parent commit's build, into the same
# sweeps (grad_sweep_prepare.py --append --tag before) and $S/fbench_before.
#   run(command="FWD_SANITIZE='lpb_f16_d128_gqa_nq500 tb_f16_n2047_dv64 w8k64_bf16_bidir_n200' bash .device/stg/run.sh", carry=[".device/stg"])
#   run(command="PART=time bash .device/stg/run.sh", carry=[".device/stg"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python:$PWD/bench PYTHONUNBUFFERED=1
export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/device.txt
# PART=check (default): the matrices and sanitizers; PART=time: the timings.
if [ "$PART" != time ]; then
timeout 60 python3 bench/gpu_grad_check.py --dir grad --only wg_sw_bf16_bidir_n64 --out $OUT/smoke > $OUT/smoke.log 2>&1
rc=$?; grep -v Warning $OUT/smoke.log | tail -3
[ $rc = 0 ] || { echo "smoke layer failed (rc=$rc): stopping"; exit 1; }
timeout 120 python3 bench/gpu_grad_check.py --dir grad --out $OUT/grad 2>&1 | grep -v Warning > $OUT/grad.log; tail -3 $OUT/grad.log
timeout 90 python3 bench/gpu_grad_check.py --dir atomic --no-nan --out $OUT/atomic 2>&1 | grep -v Warning > $OUT/atomic.log; tail -2 $OUT/atomic.log
timeout 200 python3 bench/gpu_device.py --dir fwd --out $OUT/fwd --no-bench 2>&1 | grep -v -i warn > $OUT/fwd.log; tail -3 $OUT/fwd.log
timeout 150 python3 bench/dynamic_lengths_device.py --dir dyn --out $OUT/dyn --no-bench 2>&1 | grep -v -i warn > $OUT/dyn.log; tail -2 $OUT/dyn.log
for d in ws wsa; do
  timeout 100 python3 bench/gpu_grad_check.py --dir $d --out $OUT/$d 2>&1 | grep -v Warning > $OUT/$d.log; tail -1 $OUT/$d.log
done
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck racecheck synccheck; do
  for layer in wg_w8k32_bf16_d128_n333 wg_ee_f16_n2047_d128_dv64 wg_k16_bf16_bidir_gqa_n130; do
    timeout 60 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 bench/gpu_grad_check.py --dir grad --only $layer --no-nan --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "grad $tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
  done
  for layer in ws_k16_bf16_bidir_gqa_n130 ws_dense_bf16_nq300_nk200; do
    timeout 50 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 bench/gpu_grad_check.py --dir ws --only $layer --no-nan --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "ws $tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
  done
  for layer in $FWD_SANITIZE; do
    timeout 60 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 bench/gpu_device.py --dir fwd --only $layer --no-bench --out /tmp/$tool > /tmp/f$tool-$layer.log 2>&1
    echo "fwd $tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/f$tool-$layer.log | tail -1)"
  done
done | tee $OUT/sanitizers.txt
exit 0
fi
for d in sweepA sweepB; do
  timeout 120 python3 bench/grad_sweep.py --dir $d --out $OUT/$d 2>&1 | grep -v -i warn > /dev/null
done
python3 bench/grad_sweep_summary.py sweepA=$OUT/sweepA/grad_sweep.json sweepB=$OUT/sweepB/grad_sweep.json | tee $OUT/sweep_summary.txt
for d in fbench fbench_before; do
  timeout 150 python3 bench/gpu_device.py --dir $d --out $OUT/$d --no-check 2>&1 | grep "^bench" | tee $OUT/$d.txt
done
# The SPEC shapes' forward + backward against FlexAttention, same process.
timeout 200 python3 bench/gpu_grad_check.py --dir hbench --bench --only none --out $OUT/hbench 2>&1 | grep -v Warning > $OUT/hbench.log; grep BENCH $OUT/hbench.log | cut -c1-200
