#!/bin/bash
# Nsight Compute of the decode kernel (issue #14), unsplit and split-keys=4:
# staged as in bench/split_keys_device.sh, plus bench/profile_decode.py in
# $S/bench; run(command="bash .device/split/ncu.sh", carry=[".device/split"]).
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python:$PWD/bench PYTHONUNBUFFERED=1
export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
for name in decode_ee_b8_h32_kv8_nk32768 decode_ee_b8_h32_kv8_nk32768_x4; do
  timeout 200 $NCU --clock-control none --target-processes all -k regex:spa_attention_0$ --launch-skip 2 --launch-count 1 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section WarpStateStats --section LaunchStats --section SchedulerStats \
    python3 bench/profile_decode.py decode $name > $OUT/ncu_$name.txt 2>&1
  echo "$name rc=$?"; grep -E "DRAM Throughput|Memory Throughput|Duration|Achieved Occupancy|Theoretical Occupancy|Registers Per|Block Limit|Stall|L2 Hit|Warp Cycles Per Issued|Issued Warp|No Eligible" $OUT/ncu_$name.txt | head -30
done
