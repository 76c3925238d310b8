#!/bin/bash
# Device runs for the one-instruction register-A products (issues #11, #14,
# 2026-12-05): O += P V, dV += P^T dO and dK += dS^T Q at D = 128 now issue
# one wgmma m64n128k16 a k step instead of two m64n64k16 halves (Wgmma.cpp,
# issueRegisterAProduct; the B descriptor's leading byte offset states the
# stride between V's 64-column blocks). Every wgmma forward and backward
# kernel at D = 128 changed. PART=check: the forward matrix (with ws-overlap
# and ws-pingpong twins), the stored and the ws gradient matrices against
# float64, memcheck and racecheck on two forward and two gradient layers.
# PART=time: the headline shape's forward layers of the build before
# (old_spa: copied from .device/fpp) and after (spa), and the backward of
# both builds in one process per policy (grad_sweep: bench_ms and per-kernel
# times, gradients compared with the old build's), then forward + backward
# against FlexAttention.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/wide; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{gpu_device,baselines,gpu_grad_check,grad_sweep,grad_sweep_summary}.py $S/bench/ && cp bench/gpu_wide_pv_device.sh $S/run.sh && cp bench/staged_lib.sh $S/lib.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_prepare.py --ws-overlap --ws-pingpong --quick --out $S/spa
#   $P bench/gpu_grad_prepare.py --stored --bench --out $S/grad
#   $P bench/gpu_grad_prepare.py --ws --out $S/gradws
#   the old build's layers: bench/gpu_grad_prepare.py --stored --bench-only from
#   a build of the previous commit, and the fpp forward bench layers; the
#   sweeps abA / abL hold old_/new_ stored / recompute variants of one layer.
#   run(command="PART=check bash .device/wide/run.sh", carry=[".device/wide"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
if [ "$PART" != time ]; then
  staged_smoke spa ee_bf16_n1_ws_pingpong
  timeout 200 python3 bench/gpu_device.py --dir spa --out $OUT/check --no-bench 2>&1 | grep -v -i warn > $OUT/check.log
  echo "forward PASS lines: $(grep -c PASS $OUT/check.log)"; grep -v PASS $OUT/check.log | tail -5
  for d in grad gradws; do
    timeout 150 python3 bench/gpu_grad_check.py --dir $d --out $OUT/$d 2>&1 | grep -v Warning > $OUT/$d.log
    echo "$d: $(grep -c '^ok' $OUT/$d.log) ok"; tail -2 $OUT/$d.log
  done
  CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  for tool in memcheck racecheck; do
    for layer in lpb_f16_d128_gqa_nq500_ws_pingpong_s2 many_f16_d128_bidir_nq200_nk333; do
      timeout 90 $CS --tool $tool --report-api-errors no python3 bench/gpu_device.py --dir spa --only $layer --no-bench --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
      echo "forward $tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
    done
    for layer in sd_k16_bf16_bidir_gqa_n130 sd_many_f16_bidir_nq200_nk333; do
      timeout 120 $CS --tool $tool --report-api-errors no python3 bench/gpu_grad_check.py --dir grad --only $layer --no-nan --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
      echo "stored grad $tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
    done
  done | tee $OUT/sanitizers.txt
fi
if [ "$PART" != check ]; then
  for d in abA abL; do
    timeout 120 python3 bench/grad_sweep.py --dir $d --out $OUT/$d 2>&1 | grep -v -i warn > $OUT/$d.log
  done
  python3 bench/grad_sweep_summary.py abA=$OUT/abA/grad_sweep.json abL=$OUT/abL/grad_sweep.json | tee $OUT/ab_summary.txt
  H=b2_h16_n8192_d128; L=""
  for p in exclusive_equal local_plus_band pair_balanced tile_balanced; do
    L=$L,bench_${p}_$H,bench_${p}_${H}_ws_pingpong_w8k128s0
  done
  for d in old_spa spa; do
    timeout 150 python3 bench/gpu_device.py --dir $d --only ${L#,},bench_exclusive_equal_${H}_ws_overlap_w4k64s0 --no-check --out $OUT/f_$d 2>&1 | grep -v -i warn > $OUT/f_$d.log
    grep -E "^bench" $OUT/f_$d.log | sed "s/^/$d /" | cut -c1-150
  done
  timeout 150 python3 bench/gpu_grad_check.py --dir grad --bench --only none --out $OUT/hbench 2>&1 | grep -v Warning > $OUT/hbench.log; grep BENCH $OUT/hbench.log | cut -c1-200
fi
if [ "$PART" = time ] && [ -f profile.sh ]; then
  # Nsight Compute on the new build's headline kernels (bench/profile_forward_device.sh)
  PROFILE_BUDGET=$((560 - SECONDS)) bash profile.sh
fi
staged_finish
