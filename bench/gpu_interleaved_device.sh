#!/bin/bash
# Device run (issue #11, 2026-12-07, eleventh session): interleaved-dq, the
# dq_stored blocks in the dK/dV kernel's launch (BackwardInterleaved.cpp),
# each listed `lag` dK/dV items after the last one whose dS it reads, so
# that it reads its dS tiles back from L2 (docs/backward-plan.md section 7,
# candidate 1). One call of at most LIMIT seconds, as far as it gets:
# the smoke layer; the stored gradient matrix with interleaved-dq against
# float64 (odd N, Nq != Nk, GQA, N = 1, bidirectional, empty heads, NaN);
# the headline sweep in one process: w4k64 (today's stored dS, three
# launches) beside w4k64i<lag> for lags 64, 256 and 1024 (bench/grad_sweep.py:
# bench_ms of the backward, each kernel by the CUDA profiler, gradients
# compared bitwise with w4k64's); memcheck and synccheck on three odd
# layers; the B1 H32 N16384 sweep; the headline fwd+bwd against
# FlexAttention where spec/ is staged. PART=time: the sweeps only.
#
# Staged here (MLIR) into the git-ignored .device/il:
#   S=.device/il; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{gpu_grad_check,gpu_device,baselines,grad_sweep,grad_sweep_summary}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_interleaved_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --stored --interleaved-dq 256 --out $S/grad
#   $P bench/grad_sweep_prepare.py --out $S/exclusive_equal --variants w4k64,w4k64i64,w4k64i256,w4k64i1024
#   $P bench/grad_sweep_prepare.py --out $S/n16384 --batch 1 --heads 32 --seq-len 16384 --variants w4k64,w4k64i256
# (the second call, .device/il2: the matrix with --interleaved-dq 0, the
# sweeps w4k64,w4k64i256o2,w4k64i256o4,w4k64i512o4,w4k64i100000o4 and
# w4k64,w4k64i256o4 at N = 16384, and
#   $P bench/gpu_grad_prepare.py --spec --interleaved-dq 256 --out $S/spec)
#   find $S -name kernel.ptx -delete
#   run(command="LIMIT=<device seconds left, less ~200 for the start> bash .device/il/run.sh", carry=[".device/il"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/interleaved_summary.txt
LIMIT=${LIMIT:-590}
left() { [ $((LIMIT - SECONDS)) -gt "$1" ]; }
first=$(python3 -c "import json; print(json.load(open('grad/manifest.json'))[0]['name'])")
if [ "$PART" != time ]; then
  timeout 60 python3 bench/gpu_grad_check.py --dir grad --only "$first" --out "$OUT/smoke" \
    > "$OUT/smoke.log" 2>&1
  echo "smoke $first rc=$?: $(tail -1 "$OUT/smoke.log")" | tee -a $S
  left 150 && staged_grad_matrix $S 140 grad
fi
left 100 && staged_sweeps $S 120 exclusive_equal
if [ "$PART" != time ]; then
  for tool in memcheck synccheck; do
    for layer in isd_dense_bf16_nq300_nk200 isd_k16_bf16_bidir_gqa_n130; do
      left 80 && staged_grad_sanitize $S $tool grad $layer
    done
  done
fi
left 100 && staged_sweeps $S 100 n16384
# The headline forward + backward against FlexAttention's (a process of
# its own), where spec/ was staged (gpu_grad_prepare.py --spec
# --interleaved-dq LAG: the D = 128 rows with it on).
[ -d spec ] && left 120 && staged_spec_head $S head
staged_finish
