#!/bin/bash
# Device run for shared-stream-delta (issue #11, 2026-12-06): the classic
# wgmma dK/dV kernel's query rows' Delta comes into one shared buffer by a
# 4-byte cp.async a thread at the tile's start and is read where dS is
# formed (behind a block barrier), instead of 16 values a thread loaded at
# the tile's start and held across the products. ptxas: the stored-dS
# kernel at the headline spills 48 -> 16 bytes (the staged lse did 76 ->
# 48 and measured -13%). Prediction (dK/dV of the stored-dS kernel, lse
# staged as by default): -2 to -6%; gradients bitwise equal.
#
# PART=check: the stored, cp.async recomputing (with the staged lse)
# and atomic (TMA) gradient matrices with the option against float64 (the
# TMA recomputing matrix holds warp-specialised layers, which refuse it); racecheck
# and memcheck on a stored TMA and a cp.async layer; the sweeps w4k64d
# (the default) against w4k64dy in one process each: exclusive_equal (the
# headline), tile_balanced, local_plus_band (B2 H16 N8192 D128).
# PART=spec: the SPEC forward + backward table with the defaults
# (bench/gpu_spec_table_device.sh's run, staged in the same folder).
#
# Staged here (MLIR) into the git-ignored .device/delta:
#   S=.device/delta; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{baselines,gpu_grad_check,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_staged_delta_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --stored --shared-stream-delta --out $S/gradS
#   $P bench/gpu_grad_prepare.py --wgmma --no-tma --shared-stream-lse --shared-stream-delta --out $S/gradNT
#   $P bench/gpu_grad_prepare.py --atomic --shared-stream-delta --out $S/gradA
#   for p in exclusive_equal:sE tile_balanced:sT local_plus_band:sL; do
#     $P bench/grad_sweep_prepare.py --policy ${p%%:*} --variants w4k64d,w4k64dy --out $S/${p#*:}; done
#   $P bench/gpu_grad_prepare.py --spec --out $S/spec
#   find $S -name kernel.ptx -delete
#   run(command="PART=check bash .device/delta/run.sh", carry=[".device/delta"])
#   run(command="PART=spec bash .device/delta/run.sh", carry=[".device/delta"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/delta_summary.txt
if [ "$PART" = check ]; then
  first=$(python3 -c "import json; print(json.load(open('gradS/manifest.json'))[0]['name'])")
  timeout 60 python3 bench/gpu_grad_check.py --dir gradS --only $first --out $OUT/smoke > $OUT/smoke.log 2>&1 ||
    { echo "smoke $first failed" | tee -a $S; tail -5 $OUT/smoke.log | tee -a $S; staged_finish; }
  staged_grad_matrix $S 80 gradS gradNT gradA
  for tool in racecheck memcheck; do
    staged_grad_sanitize $S $tool gradS ysd_k16_bf16_bidir_gqa_n130
    staged_grad_sanitize $S $tool gradNT nt_yxwg_k16_bf16_bidir_gqa_n130
  done
  staged_sweeps $S 90 sE sT sL
fi
if [ "$PART" = spec ]; then
  export TORCHINDUCTOR_COMPILE_THREADS=1
  timeout $((580 - SECONDS)) python3 bench/gpu_grad_check.py --dir spec --bench --only none --out $OUT/spec 2>&1 | grep -v Warning > $OUT/spec.log
  grep BENCH $OUT/spec.log | cut -c1-600 | tee -a $S
fi
staged_finish
