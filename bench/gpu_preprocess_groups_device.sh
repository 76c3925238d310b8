#!/bin/bash
# Device run (issue #11, 2026-12-06 sixth session): the preprocess with
# several rows a lane (BackwardConfig::preprocessRowGroups; the builds made
# with the scratch switch SPA_SCRATCH_PREPROCESS_ROW_GROUPS=1/2/4): one
# read of the head's bounds a lane, then every group's O and dO loads in
# flight together where a warp's rows all have keys. hE_base is the
# committed kernel (one row a lane, its bounds read, then its loads).
# Prediction: 1.94 TB/s -> 2.2-2.5 at 2-4 groups, 3-7 us of the headline's
# preprocess; the backward -1 to -1.5%.
#
# Staged here (MLIR) into the git-ignored .device/ppg (5 MB):
#   S=.device/ppg; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/{grad_sweep,sweep_tables,preprocess_roofline_probe}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_preprocess_groups_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   (hE_base: bench/grad_sweep_prepare.py --variants w4k64 at the parent commit)
#   for g in 1 2 4; do SPA_SCRATCH_PREPROCESS_ROW_GROUPS=$g $P bench/grad_sweep_prepare.py \
#     --variants w4k64 --out $S/hE_g$g; SPA_SCRATCH_PREPROCESS_ROW_GROUPS=$g $P \
#     bench/grad_sweep_prepare.py --batch 1 --heads 32 --seq-len 16384 --variants w4k64 --out $S/hL_g$g; done
#   find $S -name kernel.ptx -delete
#   run(command="bash .device/ppg/run.sh", carry=[".device/ppg"])
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/ppg_summary.txt
timeout 200 python3 bench/preprocess_roofline_probe.py --dir hE_base,hE_g1,hE_g2,hE_g4 \
  --out $OUT/ppg_hE 2>&1 | grep -v -i warn | cut -c1-500 | sed "s/^/hE: /" | tee -a $S
timeout 200 python3 bench/preprocess_roofline_probe.py --dir hL_g1,hL_g2,hL_g4 \
  --out $OUT/ppg_hL 2>&1 | grep -v -i warn | cut -c1-500 | sed "s/^/hL: /" | tee -a $S
staged_finish
