#!/bin/bash
# Device run (issues #11, #14, 2026-12-07): the staged rows' stores.
#  - tma-stores: the staged epilogues out by TMA bulk tensor stores
#    (StagedStores.h; docs/forward-plan.md step 6);
#  - score-grad-warp-stores: each warp of the stored-dS dK/dV kernel
#    bulk-copies its own 16 rows of the dS tile (no block barrier a tile;
#    ScoreGradStore.h);
#  - stmatrix-staging: the staged rows (O, dK, dV, dS) written by stmatrix.
# One call of at most 600 s, as far as it gets: the forward, wgmma-gradient
# and warp-specialised gradient matrices against float64 (odd N, Nq != Nk,
# GQA, N = 1) with all three on, compute-sanitizer memcheck on odd-size
# layers of each (rows past N must stay unwritten: memcheck sees a store
# past the buffer); the headline sweep, timing w4k64 (the defaults) beside
# w4k64t (tma-stores), w4k64tu (+ warp dS stores) and w4k64tum (+ stmatrix)
# in one process (bench/grad_sweep.py); the headline forward + backward
# with all three against FlexAttention in a process of its own; then
# racecheck and synccheck. PART=check: the checks and memcheck only;
# PART=time: the timings and the local_plus_band sweep only; PART=quick:
# the smoke layer and the two main matrices only; PART=order: the
# local_plus_band sweep reversed, then in order, then the headline sweep,
# each in a process of its own (order effects; see staged_reverse_sweep).
#
# Staged here (MLIR) into the git-ignored .device/tst:
#   S=.device/tst; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{gpu_grad_check,gpu_device,baselines,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_tma_stores_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   ALL="--tma-stores --stmatrix-staging"
#   $P bench/gpu_prepare.py --no-bench $ALL --out $S/fwd
#   $P bench/gpu_grad_prepare.py --wgmma $ALL --score-grad-warp-stores --out $S/grad
#   $P bench/gpu_grad_prepare.py --ws $ALL --out $S/ws
#   $P bench/grad_sweep_prepare.py --out $S/exclusive_equal --variants w4k64,w4k64t,w4k64tu,w4k64tum
#   $P bench/grad_sweep_prepare.py --out $S/local_plus_band --variants w4k64,w4k64tum --policy local_plus_band
# (the second and third calls of 2026-12-07 had the sweeps
# w4k64,w4k64t,w4k64tm,w4k64m,w4k64e and, on local_plus_band,
# w4k64,w4k64t,w4k64tm)
#   $P bench/gpu_grad_prepare.py --spec $ALL --score-grad-warp-stores --out $S/spec
#   find $S -name kernel.ptx -delete
#   run(command="LIMIT=<device seconds left, less ~200 for the start> FWD_SANITIZE='tb_f16_n2047_dv64 lpb_f16_d128_gqa_nq500 many_f16_d128_bidir_nq200_nk333_ring' bash .device/tst/run.sh", carry=[".device/tst"])
#   run(command="PART=time bash .device/tst/run.sh", carry=[".device/tst"])  (if the budget allows)
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
export TORCHINDUCTOR_COMPILE_THREADS=1
S=$OUT/tma_stores_summary.txt
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
# fwd_sanitize TOOL LAYER: compute-sanitizer on one forward layer of fwd.
fwd_sanitize() {
  timeout 50 $CS --tool $1 --report-api-errors no python3 bench/gpu_device.py --dir fwd \
    --only $2 --no-bench --out /tmp/$1 > /tmp/f$1-$2.log 2>&1
  echo "fwd $1 $2 rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/f$1-$2.log | tail -1)" | tee -a $S
}
# sanitize TOOL: the odd-size layers of each matrix under TOOL.
sanitize() {
  staged_grad_sanitize $S $1 grad wg_ee_f16_n2047_d128_dv64
  staged_grad_sanitize $S $1 grad wg_dense_bf16_nq300_nk200
  staged_grad_sanitize $S $1 ws ws_k16_bf16_bidir_gqa_n130
  for layer in $FWD_SANITIZE; do fwd_sanitize $1 $layer; done
}
# LIMIT: the seconds this call may run (the device budget left); each step
# starts only while it can finish before it. Most needed first: the
# matrices of the forward and wgmma gradient, the headline A/B, memcheck.
LIMIT=${LIMIT:-590}
left() { [ $((LIMIT - SECONDS)) -gt "$1" ]; }
# PART=quick (a nearly spent budget): the smoke layer and the wgmma
# gradient and forward matrices, as far as LIMIT allows.
if [ "$PART" = quick ]; then
  staged_smoke fwd "$(python3 -c "import json; print(json.load(open('fwd/manifest.json'))[0]['name'])")"
  staged_grad_matrix $S $((LIMIT - SECONDS - 40)) grad
  timeout $((LIMIT - SECONDS - 10)) python3 bench/gpu_device.py --dir fwd --out $OUT/fwd --no-bench 2>&1 |
    grep -v -i warn > $OUT/fwd.log
  echo "fwd: $(grep -c ' PASS ' $OUT/fwd.log) PASS, $(grep -c ' FAIL ' $OUT/fwd.log) FAIL, $(tail -1 $OUT/fwd.log)" | tee -a $S
  staged_finish
fi
if [ "$PART" = order ]; then
  staged_reverse_sweep local_plus_band
  staged_sweeps $S 150 local_plus_band_rev local_plus_band exclusive_equal
  staged_finish
fi
if [ "$PART" != time ]; then
  staged_smoke fwd "$(python3 -c "import json; print(json.load(open('fwd/manifest.json'))[0]['name'])")"
  left 150 && staged_grad_matrix $S 120 grad
  if left 150; then
    timeout 150 python3 bench/gpu_device.py --dir fwd --out $OUT/fwd --no-bench 2>&1 |
      grep -v -i warn > $OUT/fwd.log
    echo "fwd: $(grep -c ' PASS ' $OUT/fwd.log) PASS, $(grep -c ' FAIL ' $OUT/fwd.log) FAIL, $(tail -1 $OUT/fwd.log)" | tee -a $S
    grep -E '^FAIL|Error' $OUT/fwd.log | head -3 | tee -a $S
  fi
fi
[ "$PART" != check ] && left 100 && staged_sweeps $S 100 exclusive_equal
if [ "$PART" != time ]; then
  left 150 && sanitize memcheck
  left 120 && staged_grad_matrix $S 100 ws
fi
[ "$PART" != check ] && left 120 && staged_spec_head $S head
[ "$PART" = time ] && left 150 && staged_sweeps $S 150 local_plus_band
for tool in racecheck synccheck; do
  [ "$PART" != time ] && left 150 && sanitize $tool
done
staged_finish
