# Shell functions of the staged device scripts (a git-ignored folder the
# device tool carries, holding python/spa, launcher/, bench/ and the script
# as run.sh; e.g. bench/gpu_wide_pv_device.sh). Staged next to run.sh as
# lib.sh and sourced from there:  . "$(dirname "$0")/lib.sh"

# There: into the staged folder, spa and its launchers on the paths, OUT
# made, the GPU and driver recorded.
staged_setup() {
  cd "$(dirname "$1")" || exit 1
  export PYTHONPATH=$PWD/python:$PWD/bench:$PWD/test/lib PYTHONUNBUFFERED=1
  export SPA_LAUNCHER_LIB=$PWD/launcher/libspa_launcher.so
  [ -f launcher/_spa_torch_native.so ] &&
    export SPA_TORCH_NATIVE_LIB=$PWD/launcher/_spa_torch_native.so
  OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/device.txt"
}

# There: everything under OUT as one results.tgz (the device tool returns
# only a few files), and a zero exit so that the partial results come back.
staged_finish() {
  # Only the archive and the summaries stay under OUT: the device tool
  # returns a handful of files and drops the rest (2026-12-05, fifth
  # session: results.tgz was left out beside 20 logs).
  cd "$OUT" && tar czf /tmp/results.tgz . 2>/dev/null
  find "$OUT" -mindepth 1 -not -name '*summary*.txt' -not -name device.txt -delete
  mv /tmp/results.tgz "$OUT/"
  exit 0
}

# There: one forward layer of DIR checked first under a short timeout, so
# that a kernel that hangs (a barrier never completed) cannot eat the call;
# stops with the results so far when it fails.  staged_smoke DIR LAYER
staged_smoke() {
  timeout 60 python3 bench/gpu_device.py --dir "$1" --only "$2" --no-bench \
    --out "$OUT/smoke" > "$OUT/smoke.log" 2>&1
  local rc=$?
  grep -v -i warn "$OUT/smoke.log" | tail -2
  [ $rc = 0 ] || { echo "smoke layer $2 failed (rc=$rc): stopping"; staged_finish; }
}
