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

# There: python3 PROBE --dir D --out $OUT/TAG_D for each sweep directory D,
# each under TIMEOUT seconds, its lines (warnings dropped) prefixed "D: "
# into SUMMARY.  staged_probe_dirs SUMMARY TIMEOUT TAG PROBE D...
staged_probe_dirs() {
  local summary=$1 limit=$2 tag=$3 probe=$4 d; shift 4
  for d in "$@"; do
    timeout "$limit" python3 "$probe" --dir "$d" --out "$OUT/${tag}_$d" 2>&1 |
      grep -v -i warn | cut -c1-400 | sed "s/^/$d: /" | tee -a "$summary"
  done
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

# There: the gradient matrices DIR... against float64 (bench/gpu_grad_check.py,
# each under TIMEOUT seconds), a PASS/FAIL line each into SUMMARY and the
# first failures.  staged_grad_matrix SUMMARY TIMEOUT DIR...
staged_grad_matrix() {
  local summary=$1 limit=$2 d; shift 2
  for d in "$@"; do
    timeout "$limit" python3 bench/gpu_grad_check.py --dir "$d" --out "$OUT/$d" 2>&1 |
      grep -v Warning > "$OUT/$d.log"
    echo "$d: $(grep -c '^PASS' "$OUT/$d.log") PASS, $(grep -c '^FAIL' "$OUT/$d.log") FAIL, $(tail -1 "$OUT/$d.log")" | tee -a "$summary"
    grep -E '^FAIL|Error' "$OUT/$d.log" | head -3 | tee -a "$summary"
  done
}

# There: compute-sanitizer TOOL (memcheck, racecheck, synccheck) on one
# gradient layer of DIR (outputs not NaN-poisoned: the sanitizer reads every
# byte), its summary line into SUMMARY; a note where DIR has no LAYER.
#   staged_grad_sanitize SUMMARY TOOL DIR LAYER
staged_grad_sanitize() {
  local summary=$1 tool=$2 d=$3 layer=$4
  local cs; cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  grep -q "\"$layer\"" "$d/manifest.json" ||
    { echo "$tool: no layer $layer in $d" | tee -a "$summary"; return; }
  timeout 50 "$cs" --tool "$tool" --report-api-errors no python3 bench/gpu_grad_check.py \
    --dir "$d" --only "$layer" --no-nan --out "/tmp/$tool" > "/tmp/$tool-$layer.log" 2>&1
  echo "$tool $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "/tmp/$tool-$layer.log" | tail -1)" | tee -a "$summary"
}

# There: compute-sanitizer TOOL on one forward layer of DIR
# (bench/gpu_device.py, no timing), its summary line into SUMMARY; racecheck
# reports every hazard.  staged_forward_sanitize SUMMARY TOOL DIR LAYER
staged_forward_sanitize() {
  local summary=$1 tool=$2 d=$3 layer=$4
  local cs; cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  timeout 60 "$cs" --tool "$tool" $([ "$tool" = racecheck ] && echo --racecheck-report all) \
    --report-api-errors no python3 bench/gpu_device.py --dir "$d" --only "$layer" --no-bench \
    --out "/tmp/$tool" > "/tmp/$tool-$layer.log" 2>&1
  echo "$tool forward $layer rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "/tmp/$tool-$layer.log" | tail -1)" | tee -a "$summary"
}

# There: the sweeps DIR... (bench/grad_sweep.py, every variant of a shape in
# one process, each under TIMEOUT seconds) and their one-line summaries into
# SUMMARY. Each variant's JSON row is also kept as it comes, prefixed
# "DIR: ", in the one file $OUT/rows_summary.txt (the tool returns few
# files), so that a call cut short by the device budget still returns the
# rows it timed.  staged_sweeps SUMMARY TIMEOUT DIR...
staged_sweeps() {
  local summary=$1 limit=$2 d; shift 2
  for d in "$@"; do
    timeout "$limit" python3 bench/grad_sweep.py --dir "$d" --out "$OUT/$d" 2>&1 |
      grep -v -i warn | tee "$OUT/$d.log" | grep '^{' | cut -c1-2000 | sed "s/^/$d: /" >> "$OUT/rows_summary.txt"
    [ -f "$OUT/$d/grad_sweep.json" ] &&
      python3 bench/grad_sweep_summary.py "$d=$OUT/$d/grad_sweep.json" | tee -a "$summary"
  done
}

# There: the SPEC forward + backward table of the staged folder `spec`
# (bench/gpu_grad_check.py --bench, until STOP seconds into the script),
# then, if the script is still before AGAIN seconds, the headline row
# timed again in a second process (its ratio then rests on two processes);
# the BENCH lines into SUMMARY.  staged_spec_table SUMMARY STOP AGAIN
staged_spec_table() {
  local summary=$1 stop=$2 again=$3
  timeout $((stop - SECONDS)) python3 bench/gpu_grad_check.py --dir spec --bench --only none \
    --out "$OUT/spec" 2>&1 | grep -v Warning > "$OUT/spec.log"
  grep BENCH "$OUT/spec.log" | cut -c1-1200 | tee -a "$summary"
  [ $SECONDS -lt "$again" ] || return 0
  staged_spec_head "$summary" again
}

# There: the headline row of `spec` (B2 H16 N8192 D128 exclusive_equal)
# alone in a process of its own, until 590 seconds into the script, its
# BENCH line into SUMMARY prefixed by LABEL.  staged_spec_head SUMMARY LABEL
staged_spec_head() {
  local summary=$1 label=$2 head
  head=$(python3 -c "import json; print(next(l['name'] for l in json.load(open('spec/manifest.json')) if l.get('bench') and 'exclusive_equal_b2_h16_n8192_d128' in l['name']))")
  mkdir -p spec_head && ln -sfn "../spec/$head" "spec_head/$head"
  python3 -c "import json, sys; print(json.dumps([l for l in json.load(open('spec/manifest.json')) if l['name'] == sys.argv[1]]))" \
    "$head" > spec_head/manifest.json
  timeout $((590 - SECONDS)) python3 bench/gpu_grad_check.py --dir spec_head --bench --only none \
    --out "$OUT/head-$label" 2>&1 | grep BENCH | cut -c1-1200 | sed "s/^/$label: /" | tee -a "$summary"
}

# There: a copy of sweep DIR as DIR_rev whose manifest lists the variants
# in reverse order, so that a second process times them the other way
# round (on a long sweep the later variants can read slower even where
# their kernels are identical: local_plus_band, 2026-12-07).
#   staged_reverse_sweep DIR
staged_reverse_sweep() {
  python3 - "$1" <<'PY'
import json, os, shutil, sys
src = sys.argv[1]; dst = src + "_rev"
shutil.rmtree(dst, ignore_errors=True)
os.makedirs(dst)
manifest = json.load(open(os.path.join(src, "manifest.json")))
manifest["variants"].reverse()
for variant in manifest["variants"]:
    shutil.copytree(os.path.join(src, variant["name"]),
                    os.path.join(dst, variant["name"]))
json.dump(manifest, open(os.path.join(dst, "manifest.json"), "w"), indent=1)
PY
}
