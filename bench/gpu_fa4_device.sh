#!/bin/bash
# Device run (issue #14 part 1; #11's ratio): FlashAttention-4 dense causal
# and FlexAttention's FLASH backend as references beside spa, FlexAttention
# (Triton backend, dynamic=False) and dense SDPA, all by bench_ms in one
# process; then the forward + backward table with FA4's columns, the
# headline row in one or two more processes (FlexAttention's forward + backward
# has read 0.71-0.83 ms from one process to the next on the H100s lent).
#
# The wheels (bench/fa4_wheels.sh download) are 97 MB, over one call's
# carry, so the run takes three calls within the device's idle release:
#   PART=stash (carry .whl/a):              the first half to /tmp/wh
#   PART=fwd   (carry .whl/b, .device/fa4): install, the forward table,
#                                           the headline's fwd+bwd row
#   PART=grad  (carry .device/fa4):         the forward + backward table
#                                           (and the headline again)
#
# Staged here (MLIR) into the git-ignored .device/fa4 (about 12 MB):
#   S=.device/fa4; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{baselines,gpu_grad_check,gpu_device}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_fa4_device.sh $S/run.sh
#   env PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_prepare.py --bench-only --out $S/fwd
#   env PYTHONPATH=build/python_packages .venv/bin/python bench/gpu_grad_prepare.py --spec --out $S/spec
#   find $S -name kernel.ptx -delete
#   run(command="PART=stash bash .device/fa4/run.sh", carry=[".whl/a"]), then
#   run(command="PART=fwd bash .device/fa4/run.sh", carry=[".whl/b", ".device/fa4"]), then
#   run(command="PART=grad bash .device/fa4/run.sh", carry=[".device/fa4"])
ROOT=$PWD
if [ "$PART" = stash ]; then
  sh bench/fa4_wheels.sh stash && ls /tmp/wh
  exit 0
fi
if [ ! -d /tmp/site/flash_attn ]; then
  [ -d .whl/b ] && (. bench/fa4_wheels.sh install) 2>&1 | tail -3
fi
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
export TORCHINDUCTOR_COMPILE_THREADS=1
# After ours: the wheels were installed with --no-deps beside the system's
# torch; the CuTe DSL's `cutlass` package sits under dsl_packages.
export PYTHONPATH=$PYTHONPATH:/tmp/site:/tmp/site/nvidia_cutlass_dsl/dsl_packages
S=$OUT/fa4_summary.txt
python3 -c "import flash_attn.cute, cutlass; print('flash_attn.cute', flash_attn.cute.__file__)" 2>&1 |
  tail -1 | tee -a $S
case "$PART" in
fwd)
  timeout 400 python3 bench/gpu_device.py --dir fwd --no-check --out "$OUT/fwd" 2>&1 |
    grep -v -i warn > "$OUT/fwd.log"
  grep -E '^bench|failed|Error' "$OUT/fwd.log" | tee -a $S
  python3 -c "import json; [print(r['name'], r.get('flex_flash_error'), r.get('fa4_error')) for r in json.load(open('$OUT/fwd/gpu_report_partial.json'))['bench'] if r.get('flex_flash_error') or r.get('fa4_error')]" 2>&1 |
    tail -4 | tee -a $S
  # The headline's forward + backward in a process of its own (FA4 too).
  [ $SECONDS -lt 500 ] && staged_spec_head $S first ;;
grad)
  staged_spec_table $S 570 480 ;;
esac
staged_finish
