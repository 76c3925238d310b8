#!/bin/bash
# Per-instruction warp-stall sampling and speed-of-light metrics (Nsight
# Compute) of the headline shape's forward kernels (issue #14, 2026-12-05):
# the serial default, ws-overlap and ws-pingpong at exclusive_equal (short
# items: ~4.5 key tiles) and local_plus_band (long items), to see why
# ws-pingpong, which FlashAttention-3 relies on, did not pay. Read the CSVs
# here with bench/sass_stalls.py.
#
# Staged on top of a forward folder with bench layers in spa/ (e.g.
# bench/gpu_forward_pingpong_device.sh's or bench/gpu_wide_pv_device.sh's):
#   cp bench/profile_forward.py $S/bench/ && cp bench/profile_forward_device.sh $S/profile.sh
#   cp bench/staged_lib.sh $S/lib.sh
#   run(command="bash $S/profile.sh", carry=[$S]); gpu_wide_pv_device.sh's
#   PART=time runs it after its timings.
. "$(dirname "$0")/lib.sh"; staged_setup "$0"; mkdir -p $OUT/prof
ncu --version | tail -1
# (SDPA: what good looks like, dense causal flash kernel on the same shape.)
# Pipe and shared-memory metrics by the names this ncu knows (a wrong name
# would fail the whole profile).
ncu --query-metrics --chip gh100 > $OUT/prof/metrics.txt 2>&1
METRICS=dram__bytes_read.sum,dram__bytes_write.sum
for m in $(grep -oE '^(sm__pipe_tensor_op_gmma_cycles_active|sm__pipe_shared_cycles_active|l1tex__data_pipe_lsu_wavefronts_mem_shared|lts__t_bytes|sm__inst_executed_pipe_xu|smsp__inst_executed_pipe_xu)\b' $OUT/prof/metrics.txt | sort -u); do
  METRICS=$METRICS,$m.avg.pct_of_peak_sustained_active
done
echo "metrics: $METRICS"
profile() {  # name layer-folder [kernel-regex runner]
  # PROFILE_BUDGET: seconds this script may use (a profile takes up to ~70).
  [ $((SECONDS + 70)) -lt ${PROFILE_BUDGET:-540} ] || { echo "$1 skipped: the call's time is nearly spent"; return; }
  local regex=${3:-'spa_attention_0$'}
  local runner=${4:-"python3 bench/profile_forward.py --dir spa/$2"}
  timeout 120 ncu --clock-control none --import-source no --section SpeedOfLight \
    --section WarpStateStats --section SourceCounters --section Occupancy \
    --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
    --section MemoryWorkloadAnalysis_Tables --metrics $METRICS \
    --kernel-name regex:"$regex" --launch-skip 1 --launch-count 1 -f -o $OUT/prof/$1 \
    $runner > $OUT/prof/$1.log 2>&1
  local rc=$?
  if [ $rc != 0 ] && [ $rc != 124 ]; then  # a metric this ncu refuses: the sections alone
    timeout 120 ncu --clock-control none --import-source no --section SpeedOfLight \
      --section WarpStateStats --section SourceCounters --section Occupancy \
      --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
      --kernel-name regex:"$regex" --launch-skip 1 --launch-count 1 -f -o $OUT/prof/$1 \
      $runner >> $OUT/prof/$1.log 2>&1
    rc=$?
  fi
  echo "$1 rc=$rc"
  ncu -i $OUT/prof/$1.ncu-rep --page source --csv --print-source sass 2>/dev/null | gzip > $OUT/prof/$1_sass.csv.gz
  ncu -i $OUT/prof/$1.ncu-rep --page details > $OUT/prof/$1_details.txt 2>&1
  grep -E "Duration|DRAM Throughput|L2 Cache Throughput|Compute \(SM\) Th|dram__bytes|gmma|pipe_shared|mem_shared|Achieved Occupancy|Issue Slots Busy|Warp Cycles Per Issued|Bank" $OUT/prof/$1_details.txt | head -20
  rm -f $OUT/prof/$1.ncu-rep
}
H=b2_h16_n8192_d128
profile ee_serial bench_exclusive_equal_$H
profile sdpa_dense - 'flash|fmha|attention|sdpa' "python3 bench/profile_forward.py --dense-sdpa --dir spa/bench_exclusive_equal_$H"
profile lpb_pingpong_k128 bench_local_plus_band_${H}_ws_pingpong_w8k128s0
profile ee_pingpong_k128 bench_exclusive_equal_${H}_ws_pingpong_w8k128s0
profile lpb_default bench_local_plus_band_$H
cd $OUT && tar czf prof.tgz prof && rm -rf prof
