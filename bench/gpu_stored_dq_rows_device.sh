#!/bin/bash
# Device run for the 128-row dq_stored kernel (issue #11, 2026-12-05):
# `stored-dq-rows=128` gives each block of the one-product dQ kernel two
# warpgroups of 64 query rows that share every K tile (each with its own
# dS^T tiles; a warpgroup skips the key tiles its rows do not reach), so
# the kernel reads each K tile from L2 once per 128 rows instead of once per
# 64. Checked: the stored gradient matrix with 128-row items against
# float64 (GQA, Nq != Nk, N = 1, odd N, Dv != D, bidirectional, empty
# heads, the run-time interval loop), memcheck / racecheck / synccheck on
# three layers. Timed: the backward of the headline layer and of
# local_plus_band with 64- and 128-row dq_stored in one process each
# (bench/grad_sweep.py: bench_ms and per-kernel times, gradients compared),
# then forward + backward against FlexAttention with 128 rows.
# PART=fwd (a second call): the forward's 128-row twins (bench/gpu_prepare.py
# --wide-rows: the chained kernel at warps 8, with blocks_per_sm=2, and the
# two-stage ring at warps 8 with blocks_per_sm=2, whose warpgroups now skip
# the key tiles their rows do not reach) beside the default kernels on
# every SPEC benchmark shape, timed twice; first the forward matrix with
# ring twins at warps 8, stages 2 and 4 against float64 (the ring's
# skipping changed every warps-8 ring kernel) and the sanitizers on one of
# them (GQA-free bidirectional, many intervals, Nq != Nk). The same question for the forward: does half the K/V traffic from
# L2 pay?
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/dq128; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{gpu_device,baselines,gpu_grad_check,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/gpu_stored_dq_rows_device.sh $S/run.sh && cp bench/staged_lib.sh $S/lib.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --stored --stored-dq-rows 128 --out $S/grad
#   $P bench/gpu_grad_prepare.py --stored --stored-dq-rows 128 --bench-only --out $S/hb
#   $P bench/grad_sweep_prepare.py --variants w4k64d,w4k64dq --out $S/abA
#   $P bench/grad_sweep_prepare.py --variants w4k64d,w4k64dq --policy local_plus_band --out $S/abL
#   (w4k64dq there from the build with a two-stage ring at 128 rows, a1e39ec;
#   then, from the three-stage build, --variants w4k64dq --append --tag s3
#   into both sweeps, and grad / hb from that build)
#   $P bench/gpu_prepare.py --wide-rows --out $S/fwd
#   run(command="bash .device/dq128/run.sh", carry=[".device/dq128"])
#   run(command="PART=fwd bash .device/dq128/run.sh", carry=[".device/dq128"])
#   $P bench/gpu_grad_prepare.py --spec --out $S/spec
#   run(command="PART=spec bash .device/dq128/run.sh", carry=[".device/dq128"])
# PART=compact (added 2026-12-05, third session): score-grad-layout=compact,
# the dS scratch holding only the visited tile pairs (a table of slot bases,
# docs/backward-plan.md section 6). Checked: the stored matrix compact
# against float64 at 64- and 128-row dq_stored items. Timed (grad_sweep.py,
# one process a shape): the headline padded against compact (gradients
# bitwise equal: same tiles, same order, other addresses), and recompute
# (auto today) against compact on the five rows where the padded scratch
# is over auto's 1 GiB (tile_balanced and local_plus_band B2 H16 N8192,
# pair_balanced, tile_balanced and local_plus_band B1 H32 N16384);
# local_plus_band N8192 also padded. Last, the sanitizers on three compact
# layers (so that a call cut at its time limit loses them, not the
# timings). Staged with (this tree's build):
#   $P bench/gpu_grad_prepare.py --stored --score-grad-layout compact --out $S/gradc
#   $P bench/gpu_grad_prepare.py --stored --stored-dq-rows 128 --score-grad-layout compact --out $S/gradc128
#   $P bench/grad_sweep_prepare.py --variants w4k64d,w4k64dp --out $S/cA
#   $P bench/grad_sweep_prepare.py --variants w4k64,w4k64d,w4k64dp --policy local_plus_band --out $S/cL
#   $P bench/grad_sweep_prepare.py --variants w4k64,w4k64dp --policy tile_balanced --out $S/cT
#   for p in pair_balanced tile_balanced local_plus_band; do $P bench/grad_sweep_prepare.py --variants w4k64,w4k64dp --policy $p --batch 1 --heads 32 --seq-len 16384 --out $S/c_$p; done
#   (2026-12-05, fourth session: score-grad-prefetch, the dq_stored kernel's
#   dS tiles sent to L2 N tiles ahead of its ring, appended to the sweeps:
#   $P bench/grad_sweep_prepare.py --variants w4k64dpf4,w4k64dpf8,w4k64dpq,w4k64dpqf8 --append --out $S/cA
#   $P bench/grad_sweep_prepare.py --variants w4k64dpf8 --policy local_plus_band --append --out $S/cL)
#   $P bench/grad_sweep_prepare.py --variants w4k64dpn32,w4k64dpn96,w4k64dpf8n32 --append --out $S/cA
#   $P bench/gpu_prepare.py --quick --bench-only --successor-prefetch 32,96 --out $S/fpf
#   (successor-prefetch: each block sends the own tiles of work item +N to
#   L2: the dK/dV kernel's K and V, the forward's Q)
#   then move the kernel.ptx files out of $S (the device tool's 64 MiB
#   counts the working tree and the carry together; the runs read cubins):
#   find $S -name kernel.ptx -delete
#   run(command="PART=compact bash .device/dq128/run.sh", carry=[".device/dq128"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
# Every part ends by ~560 s, inside the device tool's 600 s call: the
# timings first, the sanitizers with the time left (a call cut at its limit
# would lose the results archive).

# The gradient matrix of DIR against float64, after one small layer under a
# short timeout (a kernel that hangs must not eat the call).
#   grad_checks DIR SMOKE_LAYER
grad_checks() {
  timeout 60 python3 bench/gpu_grad_check.py --dir $1 --only $2 --out $OUT/smoke_$1 > $OUT/smoke_$1.log 2>&1
  local rc=$?; grep -v Warning $OUT/smoke_$1.log | tail -2
  [ $rc = 0 ] || { echo "smoke layer $2 failed (rc=$rc): stopping"; staged_finish; }
  timeout 120 python3 bench/gpu_grad_check.py --dir $1 --out $OUT/$1 2>&1 | grep -v Warning > $OUT/$1.log
  echo "$1: $(grep -c '^ok' $OUT/$1.log) ok"; grep -v '^ok' $OUT/$1.log | tail -4
}
# bench/grad_sweep.py on each sweep directory, each line of the summary
# appended to SUMMARY as it lands; a sweep past DEADLINE s is skipped.
#   grad_sweeps SUMMARY DEADLINE TIMEOUT DIR...
grad_sweeps() {
  local summary=$1 deadline=$2 limit=$3; shift 3
  for d in "$@"; do
    [ $SECONDS -gt $deadline ] && { echo "$d: skipped (time)"; continue; }
    # Never past ~540 s: a call cut at 600 s returns nothing.
    local left=$((540 - SECONDS)); [ $left -lt $limit ] && limit=$left
    timeout $limit python3 bench/grad_sweep.py --dir $d --out $OUT/$d 2>&1 | grep -v -i warn > $OUT/$d.log
    [ -f $OUT/$d/grad_sweep.json ] && python3 bench/grad_sweep_summary.py $d=$OUT/$d/grad_sweep.json | tee -a $OUT/$summary
  done
}
# memcheck, racecheck and synccheck on LAYERs of DIR (CHECKER: the
# gradient or the forward check script), while time is left.
#   sanitizers CHECKER DIR OUTFILE LAYER...
sanitizers() {
  local checker=$1 dir=$2 file=$3; shift 3
  local cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  local extra="--no-nan"; [ $checker = gpu_device ] && extra="--no-bench"
  for tool in memcheck racecheck synccheck; do
    for layer in "$@"; do
      [ $SECONDS -gt 500 ] && { echo "$tool $layer: skipped (time)"; continue; }
      timeout 50 $cs --tool $tool --report-api-errors no python3 bench/$checker.py --dir $dir --only $layer $extra --out /tmp/$tool > /tmp/$tool-$layer.log 2>&1
      echo "$tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|SYNCCHECK SUMMARY' /tmp/$tool-$layer.log | tail -1)"
    done
  done | tee $OUT/$file
}

# PART=mini: the compact part's core in ~400 s, for a call with little
# device budget left: the compact matrix at 64-row items, then the headline
# sweep (padded, compact and the prefetch variants in one process).
if [ "$PART" = mini ]; then
  grad_checks gradc sdc_ee_bf16_n1
  grad_sweeps compact_summary.txt 300 200 cA
  staged_finish
fi
if [ "$PART" = compact ]; then
  grad_checks gradc sdc_ee_bf16_n1
  grad_checks gradc128 s128c_ee_bf16_n1
  # cA holds the prefetch variants too (2026-12-05, fourth session).
  grad_sweeps compact_summary.txt 470 200 cA
  # The forward's successor_prefetch twins at the headline shape (fpf).
  if [ $SECONDS -lt 400 ]; then
    timeout 100 python3 bench/gpu_device.py --dir fpf --only bench_ --no-check --out $OUT/fpf_1 2>&1 | grep -v -i warn > $OUT/fpf_1.log
    grep -E "^bench" $OUT/fpf_1.log | grep -v mmasync | cut -c1-110
  else echo "fpf: skipped (time)"; fi
  grad_sweeps compact_summary.txt 470 80 cL cT c_pair_balanced c_tile_balanced c_local_plus_band
  sanitizers gpu_grad_check gradc sanitizers_compact.txt sdc_dense_bf16_nq300_nk200 sdc_k16_bf16_bidir_gqa_n130 sdc_many_f16_bidir_nq200_nk333
  staged_finish
fi
if [ -z "$PART" ] || [ "$PART" = default ]; then
  grad_checks grad s128_ee_bf16_n1
  grad_sweeps ab_summary.txt 400 100 abA abL
  [ $SECONDS -lt 360 ] && { timeout 150 python3 bench/gpu_grad_check.py --dir hb --bench --only none --out $OUT/hbench 2>&1 | grep -v Warning > $OUT/hbench.log; grep BENCH $OUT/hbench.log | cut -c1-220; }
  sanitizers gpu_grad_check grad sanitizers.txt s128_dense_bf16_nq300_nk200 s128_k16_bf16_bidir_gqa_n130 s128_many_f16_bidir_nq200_nk333
fi
if [ "$PART" = fwd ]; then
  staged_smoke fwd ee_bf16_n1_w8s2
  # The checks, and of the large benchmark layers only the headline shape's.
  CHECK=$(python3 -c "import json; print(','.join(l['name'] for l in json.load(open('fwd/manifest.json')) if not l['bench'] or '_b2_h16_n8192_d128' in l['name']))")
  timeout 180 python3 bench/gpu_device.py --dir fwd --only "$CHECK" --no-bench --out $OUT/fcheck 2>&1 | grep -v -i warn > $OUT/fcheck.log
  echo "forward PASS lines: $(grep -c PASS $OUT/fcheck.log)"; grep -v PASS $OUT/fcheck.log | tail -3
  for round in 1 2; do
    [ $round -gt 1 ] && [ $SECONDS -gt 300 ] && break
    timeout 180 python3 bench/gpu_device.py --dir fwd --only bench_ --no-check --out $OUT/ftime_$round 2>&1 | grep -v -i warn > $OUT/ftime_$round.log
    grep -E "^bench" $OUT/ftime_$round.log | grep -v mmasync | sed "s/^/r$round /" | cut -c1-110
  done
  sanitizers gpu_device fwd fsanitizers.txt many_f16_d128_bidir_nq200_nk333_w8s4
fi
# PART=spec (a third call, if the budget allows): forward + backward
# against FlexAttention and SDPA on every SPEC shape and policy with the
# default options (issue #11's table; bench/fwd_bwd_table.py makes the table
# and plot here from spec.log, whose BENCH lines survive a timeout).
if [ "$PART" = spec ]; then
  # The headline backward recomputing against storing dS in one process
  # (rA: grad_sweep_prepare.py --variants w4k64,w4k64d), on an H100 too.
  [ -d rA ] && grad_sweeps spec_summary.txt 100 100 rA
  timeout $((530 - SECONDS)) python3 bench/gpu_grad_check.py --dir spec --bench --only none --out $OUT/spec 2>&1 | grep -v Warning > $OUT/spec.log
  grep BENCH $OUT/spec.log | cut -c1-160
fi
staged_finish
