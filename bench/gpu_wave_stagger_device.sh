#!/bin/bash
# Device run for wave-stagger-ns (issue #14, 2026-12-06, third session): the
# serial forward's first wave started apart (WaveStagger.h). A scratch
# build (nanosleep by block index) measured the lockstep first: headline
# forward 0.1175 -> 0.1114 ms at 5000-8000 ns a slot, none at 2000, worse on
# tile_balanced (unequal items). Prediction for the auto rule (700 ns a
# key tile, two waves of equal items): forward -3 to -5% on
# exclusive_equal at D = 128 and 64, nothing elsewhere (auto off there).
#
# On an H200 first the SPEC forward + backward table (issue #11's floor).
# Then: sweeps in one process each (forward and backward times; auto, off
# and explicit values): the headline, exclusive_equal D = 64 (B4 H16
# N4096) and B1 H32 N16384; the SPEC forward table with the new default,
# every layer checked against float64 first (bench/gpu_device.py).
#
# Staged here (MLIR) into the git-ignored .device/wst:
#   S=.device/wst; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{baselines,gpu_device,gpu_grad_check,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_wave_stagger_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/grad_sweep_prepare.py --variants w4k64,w4k64v-1,w4k64v400,w4k64v1000 --out $S/sE
#   $P bench/grad_sweep_prepare.py --batch 4 --seq-len 4096 --head-dim 64 --variants w4k64,w4k64v-1,w4k64v400 --out $S/s64
#   $P bench/grad_sweep_prepare.py --batch 1 --heads 32 --seq-len 16384 --variants w4k64,w4k64v-1 --out $S/sL
#   $P bench/gpu_prepare.py --bench-only --out $S/fwd
#   $P bench/gpu_grad_prepare.py --spec --out $S/spec
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/wst/run.sh", carry=[".device/wst"])
# PART=spec (the second call, after auto became D * 11 / 2 ns a tile): the
# SPEC forward + backward table with the new defaults (the headline again in
# a second process) and the D = 64 sweep (auto = 352 ns a tile, off, 400),
# restaged with the spec folder and s64 rebuilt from the new build:
#   run(command="PART=spec bash .device/wst/run.sh", carry=[".device/wst"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/wst_summary.txt
export TORCHINDUCTOR_COMPILE_THREADS=1
if [ "$PART" = spec ]; then
  staged_sweeps $S 60 s64
  staged_spec_table $S 560 520
  staged_finish
fi
if grep -q H200 $OUT/device.txt; then
  timeout 400 python3 bench/gpu_grad_check.py --dir spec --bench --only none --out $OUT/spec 2>&1 | grep -v Warning > $OUT/spec.log
  grep BENCH $OUT/spec.log | cut -c1-600 | tee -a $S
fi
for d in sE s64 sL; do
  [ $SECONDS -gt 480 ] && break
  timeout 100 python3 bench/grad_sweep.py --dir $d --out $OUT/$d 2>&1 | grep -v -i warn > $OUT/$d.log
  [ -f $OUT/$d/grad_sweep.json ] && python3 bench/grad_sweep_summary.py $d=$OUT/$d/grad_sweep.json | tee -a $S
done
if [ $SECONDS -lt 400 ]; then
  timeout $((590 - SECONDS)) python3 bench/gpu_device.py --dir fwd --out $OUT/fwd 2>&1 | grep -v -i warn > $OUT/fwd.log
  grep -E "PASS|FAIL" $OUT/fwd.log | cut -c1-200 | tee -a $S
  grep -iE "bench|flex|ratio" $OUT/fwd.log | cut -c1-300 | tail -30 | tee -a $S
fi
staged_finish
