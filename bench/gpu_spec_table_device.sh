#!/bin/bash
# Device run: the SPEC forward + backward table with the current defaults
# (zero tails, shared-stream-lse=auto; issues #11 and #14), meant for an
# H200 (the H100 table of 2026-12-06 is in docs/benchmarks.md). Inductor
# compiles in-process (TORCHINDUCTOR_COMPILE_THREADS=1): in earlier runs
# FlexAttention's first rows of a process read 1.5-2.5x its usual time,
# and a pool of compile workers starting beside the timed calls is the
# suspected cause. The headline row is timed again in a second process
# at the end, so that its ratio does not rest on one process.
#
# Staged here (MLIR) into the git-ignored .device/spec (about 9 MB):
#   S=.device/spec; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{baselines,gpu_grad_check}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_spec_table_device.sh $S/run.sh
#   env PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_grad_prepare.py --spec --out $S/spec
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/spec/run.sh", carry=[".device/spec"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
export TORCHINDUCTOR_COMPILE_THREADS=1
S=$OUT/spec_summary.txt
staged_spec_table $S 560 500
staged_finish
