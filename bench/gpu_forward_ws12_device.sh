#!/bin/bash
# Device run (issues #14 and #11, 2026-12-07, twelfth session): the
# warp-specialised forward with three consumer warpgroups (warps = 12:
# 192-row work items, each K/V tile copied once for the three warpgroups'
# 64-row slices; one block of 512 threads an SM, consumers at 160
# registers). On an H200 first #11's floor (the headline forward +
# backward against FlexAttention twice, .device/h3 as staged by
# bench/gpu_h200_floor_device.sh, when carried). Then: the ws12 twins of
# the forward matrix against float64; compute-sanitizer memcheck,
# racecheck and synccheck on three of them; the headline shape's four
# policies (serial default, ws12, mma.sync) against FlexAttention and
# dense SDPA in one process; then every SPEC shape as far as LIMIT allows.
#
# Staged here (MLIR) into the git-ignored .device/w12:
#   S=.device/w12; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/gpu_device.py bench/baselines.py $S/bench/ && cp bench/staged_lib.sh $S/lib.sh
#   cp bench/gpu_forward_ws12_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_prepare.py --ws12 --quick --out $S/spa
#   $P bench/gpu_prepare.py --ws12 --bench-only --out $S/shapes
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/w12/run.sh", carry=[".device/w12", ".device/h3"])
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"; staged_setup "$0"
S=$OUT/ws12_summary.txt
LIMIT=${LIMIT:-560}
cat "$OUT/device.txt" >> $S
if grep -q H200 "$OUT/device.txt" && [ -f "$HERE/../h3/run.sh" ]; then
  (OUT=$OUT/h200 LIMIT=200 bash "$HERE/../h3/run.sh" > /dev/null 2>&1)
  cat "$OUT"/h200/*summary*.txt >> $S 2>/dev/null
  cd "$HERE"
fi
staged_smoke spa ee_bf16_n1_ws12 | tee -a $S
timeout 150 python3 bench/gpu_device.py --dir spa --only _ws12 --no-bench --out $OUT/check 2>&1 | grep -v -i warn > $OUT/check.log
echo "PASS lines: $(grep -c PASS $OUT/check.log)" | tee -a $S
grep -v PASS $OUT/check.log | tail -8 | cut -c1-300 | tee -a $S
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck synccheck racecheck; do
  for layer in lpb_f16_d128_gqa_nq500_ws12_s2 many_f16_d128_bidir_nq200_nk333_ws12 gh_bf16_empty_heads_ws12; do
    [ $((LIMIT - SECONDS)) -gt 200 ] || break
    timeout 60 $CS --tool $tool $([ $tool = racecheck ] && echo --racecheck-report all) --report-api-errors no python3 bench/gpu_device.py --dir spa --only $layer --no-bench --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
    echo "$tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
  done
done | tee -a $S
[ $((LIMIT - SECONDS)) -gt 100 ] &&
  timeout $((LIMIT - SECONDS - 30)) python3 bench/gpu_device.py --dir spa --only bench_ --no-check --out $OUT/hbench 2>&1 | grep -v -i warn | tee $OUT/hbench.log | grep -E "bench_" | cut -c1-220 | tee -a $S
[ $((LIMIT - SECONDS)) -gt 120 ] &&
  timeout $((LIMIT - SECONDS - 20)) python3 bench/gpu_device.py --dir shapes --no-check --out $OUT/shapes 2>&1 | grep -v -i warn | tee $OUT/shapes.log | grep -E "bench_" | cut -c1-220 | tee -a $S
staged_finish
