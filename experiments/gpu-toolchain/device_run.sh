#!/usr/bin/env bash
# Everything the GPU machine does, in one go (no MLIR there).  From the repo
# root, after `bash experiments/gpu-toolchain/build.sh` here:
#
#   run(command="bash .device/gpu-toolchain/device_run.sh", carry=[".device"])
#
# Writes under $OUT (at most 8 files come back): device.log, sass.txt,
# results_{main,pure,sm90kn,sm90nk}.json, memcheck.log, racecheck.log.
set -u
D="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-/tmp/gpu-toolchain-out}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
LOG="$OUT/device.log"
: >"$LOG"
step() { echo; echo "######## $*" | tee -a "$LOG"; }

step "env"
{
  date -u +%Y-%m-%dT%H:%M:%SZ
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,pstate --format=csv
  python3 -c "import torch, cupy, numpy; from cuda import bindings; print('torch', torch.__version__, '| cupy', cupy.__version__, '| numpy', numpy.__version__, '| cuda-bindings', bindings.__version__)"
  command -v compute-sanitizer cuobjdump nvdisasm nvcc
} 2>&1 | tee -a "$LOG"

step "SASS census (cuobjdump -sass) and resource usage"
{
  for c in kernel.cubin kernel_bare.cubin kernel_dyn.cubin kernel_sm90.cubin; do
    echo "== $c"
    cuobjdump -res-usage "$D/$c" 2>&1 | grep -E "Function|REG" | sed 's/^/  /'
    cuobjdump -sass "$D/$c" >"/tmp/${c%.cubin}.sass" 2>&1
    grep -oE '\b(HMMA|HGMMA|LDSM|LDGSTS|UTMALDG|UTMAPF|SYNCS|WARPGROUP|LDGDEPBAR|DEPBAR|BAR|MUFU|LDL|STL)(\.[A-Z0-9_]+)*' \
      "/tmp/${c%.cubin}.sass" | sort | uniq -c | sed 's/^/  /'
  done
} >"$OUT/sass.txt" 2>&1
cat "$OUT/sass.txt" >>"$LOG"
# keep the full SASS of the two interesting kernels in sass.txt too
{ echo; echo "==== full SASS kernel.cubin (matmul only)";
  awk '/Function : matmul/,/\.\.\.\.\.\.\.\.\.\./' /tmp/kernel.sass
  echo; echo "==== full SASS kernel_sm90.cubin"; cat /tmp/kernel_sm90.sass; } >>"$OUT/sass.txt"

step "main,bare,cupy suites (torch; checks + timings)"
timeout 300 python3 "$D/run_on_gpu.py" --dir "$D" --suites main,bare,cupy --json "$OUT/results_main.json" 2>&1 | tee -a "$LOG"
echo "exit ${PIPESTATUS[0]}" | tee -a "$LOG"

step "pure suite (numpy + driver; incl. shared-memory alias probes)"
timeout 90 python3 "$D/run_on_gpu.py" --dir "$D" --suites pure --json "$OUT/results_pure.json" 2>&1 | tee -a "$LOG"
echo "exit ${PIPESTATUS[0]}" | tee -a "$LOG"

SAN_SUITES=pure
for sv in sm90kn sm90nk; do
  step "$sv suite (TMA + mbarrier + wgmma; own process: a fault kills the context)"
  timeout 90 python3 "$D/run_on_gpu.py" --dir "$D" --suites $sv --json "$OUT/results_$sv.json" 2>&1 | tee -a "$LOG"
  rc=${PIPESTATUS[0]}
  echo "exit $rc" | tee -a "$LOG"
  [ "$rc" = 0 ] && SAN_SUITES="$SAN_SUITES,$sv"
done

step "compute-sanitizer memcheck (suites: $SAN_SUITES)"
timeout 240 compute-sanitizer --tool memcheck --error-exitcode 3 \
  python3 "$D/run_on_gpu.py" --dir "$D" --suites "$SAN_SUITES" --no-time --no-param-probe >"$OUT/memcheck.log" 2>&1
echo "memcheck exit $?" | tee -a "$LOG"
grep -E "PASS|FAIL|INFO|ERROR SUMMARY|Invalid|Race|hazard" "$OUT/memcheck.log" | tee -a "$LOG"

step "compute-sanitizer racecheck (pure suite: shared-memory hazards in matmul)"
timeout 180 compute-sanitizer --tool racecheck --error-exitcode 3 \
  python3 "$D/run_on_gpu.py" --dir "$D" --suites pure --no-time --no-param-probe >"$OUT/racecheck.log" 2>&1
echo "racecheck exit $?" | tee -a "$LOG"
grep -E "PASS|FAIL|INFO|SUMMARY|Race|hazard" "$OUT/racecheck.log" | tee -a "$LOG"

step "summary"
python3 - "$OUT" <<'EOF' 2>&1 | tee -a "$LOG"
import json, os, sys
out = sys.argv[1]
for f in ("results_main.json", "results_pure.json", "results_sm90kn.json", "results_sm90nk.json"):
    p = os.path.join(out, f)
    if not os.path.exists(p):
        print(f"{f}: missing"); continue
    r = json.load(open(p))
    n = len(r["checks"]); bad = r.get("failed", [])
    print(f"{f}: {n - len(bad)}/{n} checks passed" + (f"; FAILED {bad}" if bad else ""))
    for t in r.get("timings", []):
        print("   ", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in t.items()})
EOF
