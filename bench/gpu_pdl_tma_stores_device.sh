#!/bin/bash
# Device run (issue #11, 2026-12-07, twelfth session): programmatic-launch
# and tma-stores together, as candidates for the defaults. The headline
# sweep put the pair at -2.5% on the backward (five processes, both
# orders; each alone -1.1 / -1.4%). Here: the stored, wgmma and
# warp-specialised gradient matrices compiled with both, against float64;
# memcheck and synccheck on one stored layer; the headline forward +
# backward with the defaults and with both (one process each), then the
# SPEC table with both as far as LIMIT allows.
#
# Staged here (MLIR) into the git-ignored .device/gt:
#   S=.device/gt; (python, launcher, test/lib, bench scripts and lib.sh as
#   in bench/gpu_h200_floor_device.sh's header)
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   for m in stored wgmma ws; do $P bench/gpu_grad_prepare.py --$m --tma-stores --programmatic-launch --out $S/grad_$m; done
#   $P bench/gpu_grad_prepare.py --spec --tma-stores --programmatic-launch --out $S/spec
#   spec_def: the headline layer of a defaults --spec folder and its manifest entry
#   cp bench/gpu_pdl_tma_stores_device.sh $S/run.sh; find $S -name kernel.ptx -delete
#   run(command="bash .device/gt/run.sh", carry=[".device/gt"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/gt_summary.txt
LIMIT=${LIMIT:-500}
cat "$OUT/device.txt" >> $S
staged_grad_matrix $S 90 grad_stored grad_wgmma grad_ws
first=$(python3 -c "import json; print(json.load(open('grad_stored/manifest.json'))[1]['name'])")
staged_grad_sanitize $S memcheck grad_stored "$first"
staged_grad_sanitize $S synccheck grad_stored "$first"
timeout 120 python3 bench/gpu_grad_check.py --dir spec_def --bench --only none --out "$OUT/def" 2>&1 |
  grep BENCH | cut -c1-1200 | sed "s/^/defaults: /" | tee -a $S
staged_spec_head $S pdl_tma_stores
[ $((LIMIT - SECONDS)) -gt 120 ] && staged_spec_table $S $LIMIT 0
staged_finish
