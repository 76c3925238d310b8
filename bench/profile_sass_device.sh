#!/bin/bash
# Per-instruction warp-stall sampling (Nsight Compute's source page, SASS) of
# the headline layer's kernels (issues #11, #14): the serial forward, the
# classic dK/dV and dQ kernels (w4k64l) and the fused ws dK/dV+dQ kernel
# (w4k64as). Read the CSVs here with bench/sass_stalls.py.
#
# Staged here (MLIR) into a git-ignored folder the device tool carries:
#   S=.device/prof; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench
#   cp -r python/spa $S/python/ && cp build/python_packages/spa/runtime/libspa_launcher.so $S/launcher/
#   cp bench/profile_grad.py $S/bench/ && cp bench/profile_sass_device.sh $S/run.sh
#   env PYTHONPATH=build/python_packages .venv/bin/python bench/grad_sweep_prepare.py --out $S/A --variants w4k64l,w4k64as
#   run(command="bash .device/prof/run.sh", carry=[".device/prof"])
# PART=stored (2026-12-05, fifth session): the stored-dS kernels instead,
# staged with --variants w4k64d; run(command="PART=stored bash ...").
cd "$(dirname "$0")"
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1 SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
ncu --version | tail -1
profile() {  # name variant kernel-regex
  timeout 150 ncu --clock-control none --import-source no --section SpeedOfLight \
    --section WarpStateStats --section SourceCounters --section Occupancy \
    --kernel-name regex:"$3" --launch-skip 1 --launch-count 1 -f -o $OUT/$1 \
    python3 bench/profile_grad.py --dir A --variant $2 > $OUT/$1.log 2>&1
  echo "$1 rc=$?"
  ncu -i $OUT/$1.ncu-rep --page source --csv --print-source sass > $OUT/$1_sass.csv 2> $OUT/$1_sass.err
  echo "$1 source page rc=$? $(wc -l < $OUT/$1_sass.csv) lines"
  ncu -i $OUT/$1.ncu-rep --page details > $OUT/$1_details.txt 2>&1
}
if [ "$PART" = stored ]; then
  # The stored-dS backward auto takes at D = 128 (2026-12-05, fifth
  # session; staged with --variants w4k64d): its three kernels and the
  # forward, reports archived in one file (the device tool returns a few).
  profile forward w4k64d 'spa_attention_0$'
  profile preprocess w4k64d 'grad_1_preprocess$'
  profile dkdv w4k64d 'grad_1_dkdv$'
  profile dq_stored w4k64d 'grad_1_dq_stored$'
  cd $OUT && rm -f *.ncu-rep.tmp && gzip -f *_sass.csv &&
    tar czf /tmp/profile.tgz . && find . -mindepth 1 -delete && mv /tmp/profile.tgz .
  exit 0
fi
profile forward w4k64l 'spa_attention_0$'
profile dkdv w4k64l 'grad_1_dkdv$'
profile dq w4k64l 'grad_1_dq$'
profile fused w4k64as 'grad_1_dkdv_dq$'
rm -f $OUT/*.ncu-rep.tmp
ls -la $OUT
