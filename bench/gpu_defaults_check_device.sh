#!/bin/bash
# Device run (issue #11, 2026-12-06, fourth session): the two new backward
# defaults (steps 7i, 7j in docs/benchmarks.md) checked as a user gets
# them: the wgmma gradient matrix with score_grads = "recompute" (its D =
# Dv = 128 layers take the staged lse and Delta by auto, through TMA:
# GQA, Nq != Nk, bidirectional) against float64, memcheck and racecheck on
# a D = 128 GQA layer; then the SPEC forward + backward table with the new
# defaults as far as the call's time goes (the changed rows come first:
# D = 64, then N = 8192).
#
# Staged here (MLIR) into the git-ignored .device/fin (about 10 MB):
#   S=.device/fin; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{baselines,gpu_grad_check}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_defaults_check_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_grad_prepare.py --recompute --out $S/rc
#   $P bench/gpu_grad_prepare.py --spec --out $S/spec
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/fin/run.sh", carry=[".device/fin"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
export TORCHINDUCTOR_COMPILE_THREADS=1
S=$OUT/fin_summary.txt
staged_grad_matrix $S 150 rc
staged_grad_sanitize $S memcheck rc rc_lpb_f16_d128_gqa_nq500
staged_grad_sanitize $S racecheck rc rc_dense_bf16_nq300_nk200
staged_spec_table $S ${STOP:-330} 0
staged_finish
