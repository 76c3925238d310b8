#!/bin/bash
# Device run (issue #14, 2026-12-08, fifteenth session): zero-tail-spread.
# zero-tail-with-items (the items' blocks writing the tail first) measured
# slower on an H100 (2026-12-08: headline forward +0.9%, backward +2.5%):
# the stores sit on each item's critical path. This run measures the other
# way to stop the tail running alone at the end: its own blocks, spread
# evenly among the blocks of the items with keys in the launch order
# (zero_tail_spread=True, sweep letter S; r is score_grads=recompute),
# against the default (tail last).
# One call: the sweeps w4k64S against w4k64 on five shapes (the headline
# also in reverse order, a second process), then correctness with the
# option on (the forward and both gradient matrices, which the sweeps'
# output diff complements on the large layers) and the sanitizers.
#
# Staged here (MLIR) into the git-ignored .device/zs:
#   S=.device/zs; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{gpu_device,gpu_grad_check,baselines,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_zero_tail_spread_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_prepare.py --no-bench --zero-tail-spread --out $S/fwd
#   for m in stored wgmma; do $P bench/gpu_grad_prepare.py --$m --zero-tail-spread --out $S/grad_$m; done
#   W="--variants w4k64S,w4k64"
#   $P bench/grad_sweep_prepare.py --out $S/ee $W
#   $P bench/grad_sweep_prepare.py --out $S/ee16k $W --batch 1 --heads 32 --seq-len 16384
#   $P bench/grad_sweep_prepare.py --out $S/pb $W --policy pair_balanced
#   $P bench/grad_sweep_prepare.py --out $S/tb $W --policy tile_balanced
#   $P bench/grad_sweep_prepare.py --out $S/ee64 $W --batch 4 --seq-len 4096 --head-dim 64
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/zs/run.sh", carry=[".device/zs"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/zs_summary.txt
LIMIT=${LIMIT:-560}
cat "$OUT/device.txt" >> $S
staged_smoke fwd ee_bf16_n1 | tee -a $S
staged_sweeps $S 120 ee ee16k
staged_reverse_sweep ee
staged_sweeps $S 100 ee_rev
[ $SECONDS -lt $((LIMIT - 200)) ] && staged_sweeps $S 90 pb tb ee64
# SWEEPS_ONLY=1: the sweeps alone (the matrices and sanitizers ran before).
[ -n "$SWEEPS_ONLY" ] && { staged_finish; exit 0; }
timeout 120 python3 bench/gpu_device.py --dir fwd --no-bench --out "$OUT/fwd" 2>&1 |
  grep -v -i warn > "$OUT/fwd.log"
echo "forward matrix: $(grep -c PASS "$OUT/fwd.log") PASS, $(grep -c FAIL "$OUT/fwd.log") FAIL" | tee -a $S
grep -E "FAIL|Error" "$OUT/fwd.log" | head -5 | cut -c1-300 | tee -a $S
staged_grad_matrix $S 80 grad_stored
[ $SECONDS -lt $((LIMIT - 100)) ] && staged_grad_matrix $S 80 grad_wgmma
first=$(python3 -c "import json; print(json.load(open('grad_stored/manifest.json'))[1]['name'])")
[ $SECONDS -lt $((LIMIT - 60)) ] && staged_grad_sanitize $S memcheck grad_stored "$first"
[ $SECONDS -lt $((LIMIT - 50)) ] && staged_forward_sanitize $S memcheck fwd ee_bf16_d64_n1000
[ $SECONDS -lt $((LIMIT - 40)) ] && staged_grad_sanitize $S racecheck grad_stored "$first"
staged_finish
