#!/bin/bash
# ncu of the headline layer's kernels (issue #11): forward, classic dK/dV and dQ
# (w4k64), warp-specialised dK/dV (w4k64s).
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/prof; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench
#   cp -r python/spa $S/python/ && cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/profile_grad.py $S/bench/ && cp bench/profile_grad_device.sh $S/run.sh
#   env PYTHONPATH=build/python_packages .venv/bin/python bench/grad_sweep_prepare.py --out $S/A --variants w4k64l,w4k64s
#   run(command="bash .device/prof/run.sh", carry=[".device/prof"])
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1 SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
NCU="ncu --clock-control none --section SpeedOfLight --section WarpStateStats --section Occupancy --section ComputeWorkloadAnalysis"
timeout 200 $NCU --kernel-name regex:'(spa_attention_0|grad_1_dkdv|grad_1_dq)$' --launch-skip 3 --launch-count 3 python3 bench/profile_grad.py --dir A --variant w4k64l > $OUT/ncu_classic.txt 2>&1; echo "classic rc=$?"
timeout 150 $NCU --kernel-name regex:'grad_1_dkdv$' --launch-skip 1 --launch-count 1 python3 bench/profile_grad.py --dir A --variant w4k64s > $OUT/ncu_ws.txt 2>&1; echo "ws rc=$?"
grep -E "^  [a-z_]+.*\(|Duration|Compute \(SM\) Throughput|Memory Throughput|Executed Ipc Active|Issue Slots Busy|Warp Cycles Per Issued|Achieved Occupancy|Registers Per|Stall|One or More|No Eligible" $OUT/ncu_classic.txt $OUT/ncu_ws.txt | head -80
