#!/bin/bash
# Device run for the zero tails (issues #11 and #14, 2026-12-06): the
# forward's and the classic dK/dV kernel's work items whose rows reach no
# key (keys no query) load nothing and only write their zeros
# (KernelConfig::zeroItemsFrom, plan::firstItemReachingNoKey /
# firstKeyTileItemReachedByNoQuery), and the preprocess loads O and dO only
# for rows with keys (Delta 0 elsewhere). Nsight (2026-12-05) showed every
# one of the 4096 headline forward items issuing and waiting for its Q tile,
# 1920 of them for rows without keys; the dK/dV kernel loading both own
# tiles of its 1920 unreached key tiles. Prediction (H200, headline B2 H16
# N8192 D128 exclusive_equal): forward 0.119 -> 0.108-0.115 ms, dK/dV
# 0.249 -> 0.235-0.245, preprocess 0.040 -> 0.024-0.030; fwd+bwd 0.483 ->
# 0.44-0.47 ms (0.65-0.69x Flex). Gradients bitwise equal to the old
# build's (same products; the zeros are what the empty walk wrote).
#
# Staged here (MLIR) into the git-ignored .device/zt: the old build's
# (HEAD before the change) forward benchmark layers (fold) and sweep
# variants (oA/oL/oT: w4k64d, w4k64), then, rebuilt with the change, the
# new ones (fnew; --append --tag zt into oA/oL/oT, with w4k64dx_zt, the
# shared-stream-lse twin), the forward matrix with ws twins (fchk), the
# default, stored and atomic gradient matrices (gradD, gradS, gradA) and
# the SPEC fwd+bwd layers (spec); python/spa, the launcher, bench/*.py,
# this script as run.sh and bench/staged_lib.sh as lib.sh; kernel.ptx
# deleted (24 MB):
#   run(command="PART=check bash .device/zt/run.sh", carry=[".device/zt"])
#   run(command="PART=time bash .device/zt/run.sh", carry=[".device/zt"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/zt_summary.txt
if [ "$PART" = check ]; then
  staged_smoke fchk gh_bf16_empty_heads_ws
  timeout 150 python3 bench/gpu_device.py --dir fchk --out $OUT/fchk --no-bench 2>&1 | grep -v -i warn > $OUT/fchk.log
  echo "forward: $(grep -c PASS $OUT/fchk.log) PASS, $(grep -c FAIL $OUT/fchk.log) FAIL" | tee -a $S
  grep FAIL $OUT/fchk.log | head -5 | tee -a $S
  for d in gradS gradD gradA; do
    timeout 100 python3 bench/gpu_grad_check.py --dir $d --out $OUT/$d 2>&1 | grep -v Warning > $OUT/$d.log
    echo "$d: $(grep -c '^PASS' $OUT/$d.log) PASS, $(grep -c '^FAIL' $OUT/$d.log) FAIL, $(tail -1 $OUT/$d.log)" | tee -a $S
    grep -E '^FAIL|Error' $OUT/$d.log | head -3 | tee -a $S
  done
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  for tool in memcheck racecheck; do
    for layer in gh_bf16_empty_heads many_f16_d128_bidir_nq200_nk333_ws; do
      [ $SECONDS -gt 500 ] && break
      timeout 60 $cs --tool $tool --report-api-errors no python3 bench/gpu_device.py --dir fchk --only $layer --no-bench --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
      echo "forward $tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)" | tee -a $S
    done
    for layer in sd_gh_bf16_empty_heads sd_k16_bf16_bidir_gqa_n130; do
      [ $SECONDS -gt 540 ] && break
      timeout 60 $cs --tool $tool --report-api-errors no python3 bench/gpu_grad_check.py --dir gradS --only $layer --no-nan --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
      echo "stored grad $tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)" | tee -a $S
    done
  done
fi
if [ "$PART" = time ]; then
  for d in oA oL oT; do
    timeout 100 python3 bench/grad_sweep.py --dir $d --out $OUT/$d 2>&1 | grep -v -i warn > $OUT/$d.log
    [ -f $OUT/$d/grad_sweep.json ] && python3 bench/grad_sweep_summary.py $d=$OUT/$d/grad_sweep.json | tee -a $S
  done
  L=bench_exclusive_equal_b2_h16_n8192_d128,bench_local_plus_band_b2_h16_n8192_d128,bench_pair_balanced_b2_h16_n8192_d128,bench_tile_balanced_b2_h16_n8192_d128,bench_exclusive_equal_b4_h16_n4096_d64
  for d in fold fnew fold fnew; do
    timeout 60 python3 bench/gpu_device.py --dir $d --only $L --no-check --out $OUT/f_$d 2>&1 | grep -v -i warn > $OUT/f_$d.log
    grep -E "^bench" $OUT/f_$d.log | sed "s/^/$d /" | cut -c1-150 | tee -a $S
  done
  timeout $((560 - SECONDS)) python3 bench/gpu_grad_check.py --dir spec --bench --only none --out $OUT/spec 2>&1 | grep -v Warning > $OUT/spec.log
  grep BENCH $OUT/spec.log | cut -c1-200 | tee -a $S
fi
staged_finish
