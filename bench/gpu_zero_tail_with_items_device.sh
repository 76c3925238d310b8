#!/bin/bash
# Device run (issue #14, 2026-12-07, fourteenth session): zero-tail-with-items.
# The per-block timeline of the serial forward (bench/forward_timeline.py,
# H200) showed every kernel ending in a phase of zero-row blocks alone:
# the list's tail of items reaching no key (47% of the headline's items)
# runs after the items with keys, 94-107 us of a 107 us forward. With
# zero-tail-with-items=true the blocks of the items with keys write that
# tail first (auto stays off until this run has measured it; if it wins,
# auto turns it on, and the tests follow).
# PART=1: the headline sweep, w4k64j (zero_tail_with_items=True) against
# w4k64 (the default: the tail's own blocks), forward and backward, one
# process (bench/grad_sweep.py); then correctness with the option on: the
# forward matrix, the stored gradient matrix, memcheck on a forward and a
# gradient layer with zero tails.
# PART=2: the same pair on the other SPEC shapes with zero tails, the wgmma
# gradient matrix, the headline forward + backward against FlexAttention
# (staged_spec_head), synccheck on the gradient layer.
#
# Staged here (MLIR) into the git-ignored .device/zt:
#   S=.device/zt; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{gpu_device,gpu_grad_check,baselines,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_zero_tail_with_items_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_prepare.py --no-bench --zero-tail-with-items --out $S/fwd
#   for m in stored wgmma; do $P bench/gpu_grad_prepare.py --$m --zero-tail-with-items --out $S/grad_$m; done
#   $P bench/gpu_grad_prepare.py --spec --out $S/spec
#   W="--variants w4k64j,w4k64"
#   $P bench/grad_sweep_prepare.py --out $S/ee $W
#   $P bench/grad_sweep_prepare.py --out $S/pb $W --policy pair_balanced
#   $P bench/grad_sweep_prepare.py --out $S/tb $W --policy tile_balanced
#   $P bench/grad_sweep_prepare.py --out $S/ee64 $W --batch 4 --seq-len 4096 --head-dim 64
#   $P bench/grad_sweep_prepare.py --out $S/ee16k $W --batch 1 --heads 32 --seq-len 16384
#   find $S -name kernel.ptx -delete
#   run(command="PART=1 bash .device/zt/run.sh", carry=[".device/zt"]), then PART=2
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/zt_summary.txt
LIMIT=${LIMIT:-540}
cat "$OUT/device.txt" >> $S
if [ "${PART:-1}" = 1 ]; then
  staged_smoke fwd ee_bf16_n1 | tee -a $S
  staged_sweeps $S 170 ee
  timeout 150 python3 bench/gpu_device.py --dir fwd --no-bench --out "$OUT/fwd" 2>&1 |
    grep -v -i warn > "$OUT/fwd.log"
  echo "forward matrix: $(grep -c PASS "$OUT/fwd.log") PASS, $(grep -c FAIL "$OUT/fwd.log") FAIL" | tee -a $S
  grep -E "FAIL|Error" "$OUT/fwd.log" | head -5 | cut -c1-300 | tee -a $S
  staged_grad_matrix $S 90 grad_stored
  [ $SECONDS -lt $((LIMIT - 60)) ] && staged_forward_sanitize $S memcheck fwd ee_bf16_d64_n1000
  first=$(python3 -c "import json; print(json.load(open('grad_stored/manifest.json'))[1]['name'])")
  [ $SECONDS -lt $((LIMIT - 50)) ] && staged_grad_sanitize $S memcheck grad_stored "$first"
else
  staged_sweeps $S 110 pb tb ee64 ee16k
  [ $SECONDS -lt 400 ] && staged_grad_matrix $S 80 grad_wgmma
  [ $SECONDS -lt 470 ] && staged_spec_head $S head
  first=$(python3 -c "import json; print(json.load(open('grad_stored/manifest.json'))[1]['name'])")
  [ $SECONDS -lt 500 ] && staged_grad_sanitize $S synccheck grad_stored "$first"
fi
staged_finish
