#!/bin/bash
# Device run (issue #11, 2026-12-06 fifth session): the interleaved dS pass
# measured with the compiled kernels (bench/chunked_backward_probe.py): the
# stored-dS backward launched as preprocess, then per chunk of (batch,
# head) pairs its dK/dV and dq_stored items, then the unreached key tiles;
# 1, 4, 8 and 16 chunks against the op's own call, bitwise compared, ABAB.
# Prediction: dq_stored reads most dS from L2 at 8-16 chunks (a chunk's dS
# 9-19 MB), the backward -2 to -5% at the headline, less the extra launches'
# tails (~2 us each).
#
# Staged here (MLIR) into the git-ignored .device/chk (a few MB):
#   S=.device/chk; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/{grad_sweep,sweep_tables,chunked_backward_probe}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_chunked_backward_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/grad_sweep_prepare.py --variants w4k64 --out $S/hE
#   $P bench/grad_sweep_prepare.py --batch 1 --heads 32 --seq-len 16384 --variants w4k64 --out $S/hL
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/chk/run.sh", carry=[".device/chk"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
staged_probe_dirs $OUT/chk_summary.txt 200 chk bench/chunked_backward_probe.py hE hL
staged_finish
