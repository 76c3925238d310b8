#!/bin/bash
# Device run (issue #11, 2026-12-07, thirteenth session): programmatic-launch
# (auto: on for sm_90a) and tma-stores (true) became the defaults. Checked
# here as a user gets them, on whichever card comes: the forward
# correctness matrix (bench/gpu_prepare.py --no-bench), the stored, wgmma
# and warp-specialised gradient matrices against float64 (forward and
# gradient kernels launched back to back on one stream, so a kernel that
# ran ahead of its predecessor would read stale data); memcheck, synccheck
# and racecheck on a stored gradient layer and memcheck on a forward
# layer; then spa.torch's eager and compiled op against float64 and
# FlexAttention (bench/torch_device_check.py, the default configurations,
# from the repository root: the device's copy of the working tree).
#
# Staged here (MLIR) into the git-ignored .device/nd, and spa.torch's
# cache and launchers by bench/torch_native_device.sh prepare:
#   S=.device/nd; rm -rf $S; mkdir -p $S/python $S/launcher $S/bench $S/test
#   cp -r python/spa $S/python/ && cp -r test/lib $S/test/
#   cp build/python_packages/spa/runtime/libspa_launcher.so build/python_packages/spa/torch/_spa_torch_native.so $S/launcher/
#   cp bench/{gpu_device,gpu_grad_check,baselines}.py $S/bench/
#   cp bench/staged_lib.sh $S/lib.sh && cp bench/gpu_new_defaults_device.sh $S/run.sh
#   P="env PYTHONPATH=build/python_packages .venv/bin/python"
#   $P bench/gpu_prepare.py --no-bench --out $S/fwd
#   for m in stored wgmma ws; do $P bench/gpu_grad_prepare.py --$m --out $S/grad_$m; done
#   find $S -name kernel.ptx -delete
#   bench/torch_native_device.sh prepare   # torch_device_configs.json only is used
#   run(command="bash .device/nd/run.sh",
#       carry=[".device/nd", ".device/torch-cache", ".device/launcher"])
ROOT=$(pwd)
. "$(dirname "$0")/lib.sh"; staged_setup "$0"
S=$OUT/nd_summary.txt
LIMIT=${LIMIT:-560}
cat "$OUT/device.txt" >> $S
staged_smoke fwd ee_bf16_n1 | tee -a $S
timeout 150 python3 bench/gpu_device.py --dir fwd --no-bench --out "$OUT/fwd" 2>&1 |
  grep -v -i warn > "$OUT/fwd.log"
echo "forward matrix: $(grep -c PASS "$OUT/fwd.log") PASS, $(grep -c FAIL "$OUT/fwd.log") FAIL" | tee -a $S
grep -E "FAIL|Error" "$OUT/fwd.log" | head -5 | cut -c1-300 | tee -a $S
staged_grad_matrix $S 90 grad_stored grad_wgmma grad_ws
first=$(python3 -c "import json; print(json.load(open('grad_stored/manifest.json'))[1]['name'])")
for tool in memcheck synccheck racecheck; do
  [ $((LIMIT - SECONDS)) -gt 240 ] && staged_grad_sanitize $S $tool grad_stored "$first"
done
staged_forward_sanitize $S memcheck fwd lpb_f16_d128_gqa_nq500
cd "$ROOT" || exit 1
export SPA_CACHE_DIR=$ROOT/.device/torch-cache PYTHONPATH=$ROOT/python
export SPA_LAUNCHER_LIB=$ROOT/.device/launcher/libspa_launcher.so
export SPA_TORCH_NATIVE_LIB=$ROOT/.device/launcher/_spa_torch_native.so
timeout $((LIMIT - SECONDS)) python3 bench/torch_device_check.py --out "$OUT/torch" 2>&1 |
  grep -v -i warn > "$OUT/torch.log"
echo "spa.torch check rc=${PIPESTATUS[0]}" | tee -a $S
tail -12 "$OUT/torch.log" | cut -c1-300 | tee -a $S
staged_finish
