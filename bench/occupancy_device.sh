#!/bin/bash
# Occupancy experiment (issue #14, 2026-12-05): the serial wgmma forward at
# D = 128 holds 3 blocks an SM (152 registers); Nsight Compute had it
# latency-bound per work item. base/ = the headline layers as compiled,
# spa4/ = the same PTX with `.minnctapersm 4` (128 registers, 72 bytes of
# spills), made by bench/occupancy_variant.py; chk4/ = four check-matrix
# layers at 4 blocks against float64. Timed alternately, one process each.
# The patched PTX is byte-identical to what `blocks-per-sm=4` generates
# (compared 2026-12-05), so the result stands for that option.
#
# Staged here: S=.device/occ; python/, launcher/, test/ as for
# bench/gpu_wide_pv_device.sh; bench/{gpu_device,baselines}.py; this script
# as run.sh and bench/staged_lib.sh as lib.sh;
#   python3 bench/occupancy_variant.py --min-blocks 4 --out $S/spa4 <bench layers>
#   python3 bench/occupancy_variant.py --min-blocks 4 --out $S/chk4 <check layers>
#   run(command="bash .device/occ/run.sh", carry=[".device/occ"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
timeout 90 python3 bench/gpu_device.py --dir chk4 --no-bench --out $OUT/chk4 2>&1 | grep -v -i warn | tee $OUT/chk4.log | grep -E "check|failed" | cut -c1-120
for round in $(seq 1 ${ROUNDS:-2}); do
  # A second round only while the call has time (a short device budget).
  [ $round -gt 1 ] && [ $SECONDS -gt ${ROUND_DEADLINE:-400} ] && break
  for d in base spa4; do
    timeout 100 python3 bench/gpu_device.py --dir $d --no-check --out $OUT/${d}_$round 2>&1 | grep -v -i warn > $OUT/${d}_$round.log
    grep -E "^bench" $OUT/${d}_$round.log | sed "s/^/$d r$round /" | cut -c1-110
  done
done
staged_finish
