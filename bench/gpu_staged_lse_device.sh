#!/bin/bash
# Device run for shared-stream-lse (issue #11, 2026-12-05, fifth session;
# BackwardConfig::stagesStreamLse, off by default until this runs): the
# classic wgmma dK/dV kernel copies each query tile's lse into shared memory
# a tile ahead (4-byte cp.async) instead of loading it per tile from global
# memory (Nsight: waited for after S^T, docs/benchmarks.md "Where the
# stored-dS kernels wait"; ptxas: the headline's stored dK/dV kernel spills
# 48 bytes instead of 76). Prediction: dK/dV -2 to -6% at the headline
# (0.249 -> 0.234-0.244 ms on the H200), backward -1.5 to -4%. Checked
# against float64: the stored, cp.async (tma=False) and atomic matrices with
# the option; racecheck and memcheck on a TMA and a cp.async layer. Timed in
# one process per shape (bench/grad_sweep.py; gradients must be bitwise
# equal: same values, same products): the headline stored (sA: w4k64d
# against w4k64dx), local_plus_band (sL) and tile_balanced (sT,
# recomputing) with and without.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/lse; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{gpu_device,baselines,gpu_grad_check,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/gpu_staged_lse_device.sh $S/run.sh && cp bench/staged_lib.sh $S/lib.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/grad_sweep_prepare.py --variants w4k64d,w4k64dx --out $S/sA
#   $P bench/grad_sweep_prepare.py --variants w4k64,w4k64x --policy local_plus_band --out $S/sL
#   $P bench/grad_sweep_prepare.py --variants w4k64,w4k64x --policy tile_balanced --out $S/sT
#   $P bench/gpu_grad_prepare.py --stored --shared-stream-lse --out $S/gradS
#   $P bench/gpu_grad_prepare.py --wgmma --no-tma --shared-stream-lse --out $S/gradNT
#   $P bench/gpu_grad_prepare.py --atomic --shared-stream-lse --out $S/gradA
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/lse/run.sh", carry=[".device/lse"])
# If it wins: the default becomes on where the 512 bytes keep the blocks an
# SM (BackwardConfig.cpp; the lit RUN lines in attention-grad-staged-lse.mlir
# and the shared-memory sizes of attention-grad-{tma,wgmma,atomic,
# score-grads}.mlir move by 256 or 512 bytes).
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
check() {  # DIR: the gradient matrix against float64
  timeout 90 python3 bench/gpu_grad_check.py --dir $1 --out $OUT/$1 2>&1 | grep -v Warning > $OUT/$1.log
  echo "$1: $(grep -c '^PASS' $OUT/$1.log) PASS, $(tail -1 $OUT/$1.log)" | tee -a $OUT/lse_summary.txt
  grep -E '^FAIL|Error|error' $OUT/$1.log | head -3
}
timeout 60 python3 bench/gpu_grad_check.py --dir gradS --only xsd_ee_bf16_n1 --out $OUT/smoke > $OUT/smoke.log 2>&1 ||
  { echo "smoke failed"; tail -5 $OUT/smoke.log; staged_finish; }
check gradS
check gradNT
sweep() {  # DIR: old and new in one process
  [ $SECONDS -gt $2 ] && { echo "$1: skipped (time)"; return; }
  timeout 90 python3 bench/grad_sweep.py --dir $1 --out $OUT/$1 2>&1 | grep -v -i warn > $OUT/$1.log
  [ -f $OUT/$1/grad_sweep.json ] && python3 bench/grad_sweep_summary.py $1=$OUT/$1/grad_sweep.json | tee -a $OUT/lse_summary.txt
}
cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
sanitize() {  # TOOL DIR LAYER DEADLINE
  [ $SECONDS -gt $4 ] && { echo "$1 $3: skipped (time)"; return; }
  timeout 40 $cs --tool $1 --report-api-errors no python3 bench/gpu_grad_check.py --dir $2 --only $3 --no-nan --out /tmp/$1 > /tmp/$1-$3.log 2>&1
  echo "$1 $3 rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$1-$3.log | tail -1)" | tee -a $OUT/lse_summary.txt
}
# Kept inside ~200 s: the call may come with little device time left.
sweep sA 120
sanitize racecheck gradS xsd_k16_bf16_bidir_gqa_n130 150
sanitize racecheck gradNT nt_xwg_k16_bf16_bidir_gqa_n130 170
sweep sL 150
[ $SECONDS -lt 170 ] && check gradA
sweep sT 170
sanitize memcheck gradS xsd_lpb_f16_d128_gqa_nq500 180
sanitize memcheck gradNT nt_xwg_lpb_f16_d128_gqa_nq500 185
staged_finish
