#!/bin/bash
# Device runs for the warp-specialised forward after the wgmma pipeline fix
# (issue #14, 2026-12-05): `ws-overlap` no longer has its wgmma serialised
# by ptxas (C7513; its SASS changed, so its correctness is re-checked) and
# `ws-pingpong` (two consumer warpgroups taking turns to issue, named
# barriers 1-2) is new. PART=check: the forward matrix with ws-overlap and
# ws-pingpong twins of every wgmma layer against float64, and
# compute-sanitizer memcheck, racecheck and synccheck on three ping-pong
# layers and one ws-overlap layer; then, when staged, spa.torch's D = 128
# layer through the native launcher (torch/). PART=time: the staged
# benchmark layers (serial, ws-overlap, ws-pingpong) against
# FlexAttention and dense SDPA in one process.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/fpp; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/gpu_device.py bench/baselines.py $S/bench/ && cp bench/gpu_forward_pingpong_device.sh $S/run.sh && cp bench/staged_lib.sh $S/lib.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_prepare.py --ws-overlap --ws-pingpong --quick --out $S/spa          # PART=check (+ headline bench)
#   $P bench/gpu_prepare.py --ws-overlap --ws-pingpong --bench-only --out $S/shapes  # PART=time, every SPEC shape
#   run(command="PART=check bash .device/fpp/run.sh", carry=[".device/fpp"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
if [ "$PART" != time ]; then
  staged_smoke spa ee_bf16_n1_ws_pingpong
  timeout 240 python3 bench/gpu_device.py --dir spa --out $OUT/check --no-bench 2>&1 | grep -v -i warn > $OUT/check.log
  echo "PASS lines: $(grep -c PASS $OUT/check.log)"; grep -v PASS $OUT/check.log | tail -12
  CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  for tool in memcheck racecheck synccheck; do
    for layer in lpb_f16_d128_gqa_nq500_ws_pingpong_s2 many_f16_d128_bidir_nq200_nk333_ws_pingpong_s2 gh_bf16_empty_heads_ws_pingpong lpb_f16_d128_gqa_nq500_ws_overlap_s2; do
      timeout 90 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 bench/gpu_device.py --dir spa --only $layer --no-bench --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
      echo "$tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
    done
  done | tee $OUT/sanitizers.txt
  if [ -d torch ]; then
    timeout 120 bash torch/run.sh > $OUT/torch.log 2>&1; echo "spa.torch D=128 rc=$?"; tail -5 $OUT/torch.log
  fi
  timeout 200 python3 bench/gpu_device.py --dir spa --out $OUT/hbench --no-check 2>&1 | grep -v -i warn | tee $OUT/hbench.log | grep -E "bench_" | cut -c1-200
fi
if [ "$PART" != check ]; then
  timeout 420 python3 bench/gpu_device.py --dir shapes --out $OUT/shapes --no-check 2>&1 | grep -v -i warn | tee $OUT/shapes.log | grep -E "bench_" | cut -c1-200
fi
staged_finish
