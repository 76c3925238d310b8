#!/bin/bash
# Device run (issue #11, 2026-12-06 fifth session): how fast Delta =
# rowsum(dO * O) can go (bench/preprocess_roofline_probe.py): spa's
# preprocess kernel alone against a Triton kernel of the same arithmetic
# and a copy, by bench_ms, at the headline and at B1 H32 N16384.
# Prediction: Triton 2.6-3.0 TB/s, spa's kernel ~2.0 (35 us in context):
# ~10 us of the headline's 450 to gain by a better preprocess.
#
# Staged here (MLIR) into the git-ignored .device/pre (a few MB):
#   S=.device/pre; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/{grad_sweep,sweep_tables,preprocess_roofline_probe}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_preprocess_probe_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/grad_sweep_prepare.py --variants w4k64 --out $S/hE
#   $P bench/grad_sweep_prepare.py --batch 1 --heads 32 --seq-len 16384 --variants w4k64 --out $S/hL
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/pre/run.sh", carry=[".device/pre"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
staged_probe_dirs $OUT/pre_summary.txt 120 pre bench/preprocess_roofline_probe.py hE hL
staged_finish
