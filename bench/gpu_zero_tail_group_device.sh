#!/bin/bash
# Device run for zero-tail-items (issues #11 and #14, 2026-12-06) and
# shared-stream-delta (issue #11). zero-tail-items = G: the blocks past a
# work list's zero tail each write G of its items (entries read together,
# zeros in 16-byte chunks) instead of one tiny block an item: 1920 blocks
# of 4096 at the headline in the forward, dK/dV and dq_stored kernels ->
# 240 at G = 8. Prediction (headline, same process): forward -2 to -5%,
# dK/dV -2 to -6%, dq_stored -5 to -10%; outputs bitwise equal.
# shared-stream-delta: bench/gpu_staged_delta_device.sh's prediction
# (stored dK/dV -2 to -6%).
#
# PART=check: the forward matrix (55 layers with ws twins, .device/zt's
# list) and the stored and atomic gradient matrices with zero_tail_items=8
# against float64 (outputs NaN-poisoned first: an unwritten zero row
# fails); the stored and cp.async gradient matrices with
# shared_stream_delta (.device/delta's); memcheck on a grouped forward and
# gradient layer, racecheck on a delta layer.
# PART=time: sweeps in one process each (forward and per-kernel backward
# times, gradients compared bitwise with the first variant): the headline
# (w4k64d default, w4k64dy delta, w4k64dz8, w4k64dz16), tile_balanced
# (w4k64d, w4k64dy, w4k64dz8), exclusive_equal B4 H16 N4096 D64 (w4k64,
# w4k64z8: the ws dK/dV and the recomputing dQ kernel's tail); then the
# SPEC forward + backward table with the defaults (compile workers
# in-process, bench/gpu_spec_table_device.sh).
#
# Staged here (MLIR) into the git-ignored .device/ztg:
#   S=.device/ztg; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{baselines,gpu_device,gpu_grad_check,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_zero_tail_group_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_prepare.py --no-bench --ws --zero-tail-items 8 --out $S/fchk
#   $P bench/gpu_grad_prepare.py --stored --zero-tail-items 8 --out $S/gradS
#   $P bench/gpu_grad_prepare.py --atomic --zero-tail-items 8 --out $S/gradA
#   $P bench/gpu_grad_prepare.py --stored --shared-stream-delta --out $S/gradSy
#   $P bench/gpu_grad_prepare.py --wgmma --no-tma --shared-stream-lse --shared-stream-delta --out $S/gradNTy
#   $P bench/grad_sweep_prepare.py --variants w4k64d,w4k64dy,w4k64dz8,w4k64dz16 --out $S/sE
#   $P bench/grad_sweep_prepare.py --policy tile_balanced --variants w4k64d,w4k64dy,w4k64dz8 --out $S/sT
#   $P bench/grad_sweep_prepare.py --batch 4 --seq-len 4096 --head-dim 64 --variants w4k64,w4k64z8 --out $S/s64
#   $P bench/gpu_grad_prepare.py --spec --out $S/spec
# As run on 2026-12-06 (second session), with the branch fma-exp built
# afterwards (exp2(fma(s, c, -m)) in the softmax and the backward's P):
# fchk and gradS rebuilt from it (so its exponent was checked too), and
#   $P bench/grad_sweep_prepare.py --append --tag fma --variants w4k64d --out $S/sE
# (and the same into sT with --policy tile_balanced, into s64 with w4k64).
#   find $S -name kernel.ptx -delete
#   run(command="PART=check bash .device/ztg/run.sh", carry=[".device/ztg"])
#   run(command="PART=time bash .device/ztg/run.sh", carry=[".device/ztg"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/ztg_summary.txt
if [ "$PART" = check ]; then
  staged_smoke fchk gh_bf16_empty_heads
  timeout 150 python3 bench/gpu_device.py --dir fchk --out $OUT/fchk --no-bench 2>&1 | grep -v -i warn > $OUT/fchk.log
  echo "forward z8: $(grep -c PASS $OUT/fchk.log) PASS, $(grep -c FAIL $OUT/fchk.log) FAIL" | tee -a $S
  grep FAIL $OUT/fchk.log | head -5 | tee -a $S
  staged_grad_matrix $S 80 gradS gradA gradSy gradNTy
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  timeout 40 $cs --tool memcheck --report-api-errors no python3 bench/gpu_device.py --dir fchk --only gh_bf16_empty_heads --no-bench --out /tmp/mf > /tmp/mf.log 2>&1
  echo "memcheck forward z8 gh_bf16_empty_heads rc=$?: $(grep -E 'ERROR SUMMARY' /tmp/mf.log | tail -1)" | tee -a $S
  staged_grad_sanitize $S memcheck gradS z8sd_k16_bf16_bidir_gqa_n130
  staged_grad_sanitize $S memcheck gradS z8sd_gh_bf16_empty_heads
  staged_grad_sanitize $S racecheck gradSy ysd_k16_bf16_bidir_gqa_n130
fi
if [ "$PART" = time ]; then
  staged_sweeps $S 100 sE sT s64
  export TORCHINDUCTOR_COMPILE_THREADS=1
  timeout $((590 - SECONDS)) python3 bench/gpu_grad_check.py --dir spec --bench --only none --out $OUT/spec 2>&1 | grep -v Warning > $OUT/spec.log
  grep BENCH $OUT/spec.log | cut -c1-600 | tee -a $S
fi
staged_finish
