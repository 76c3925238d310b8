#!/bin/bash
# spa.torch's compiled call path on the H200 (issue #12, docs/torch.md
# "Launch overhead"): the op's correctness checks (bench/torch_device_check.py,
# the default and the strided configurations, against float64 and
# FlexAttention, eager and compiled) and the launch-overhead table
# (bench/torch_overhead.py), both with libspa_launcher.so and
# _spa_torch_native.so built here.
#
# Here, in a checkout with build/:
#   bench/torch_native_device.sh prepare
# Then, through the device tool, from the repository root:
#   run(command="bash bench/torch_native_device.sh run",
#       carry=[".device/torch-cache", ".device/launcher"])
# which writes $OUT/check/, $OUT/strided/, $OUT/overhead/ and their logs.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/device_lib.sh
CACHE=.device/torch-cache

case "${1:-}" in
prepare)
  for configs in bench/torch_device_configs.json \
                 bench/torch_device_strided.json \
                 bench/torch_overhead_configs.json; do
    PYTHONPATH=build/python_packages .venv/bin/python -m spa.torch.precompile \
      --configs "$configs" --cache-dir "$CACHE"
  done
  stage_launchers
  du -sh "$CACHE" .device/launcher
  ;;
run)
  OUT=${OUT:-/tmp/out}
  mkdir -p "$OUT"
  export SPA_CACHE_DIR=$CACHE PYTHONPATH=python PYTHONUNBUFFERED=1
  use_launchers
  status=0
  timeout 200 python3 bench/torch_device_check.py --out "$OUT/check" \
    2>&1 | tee "$OUT/check.log" || status=1
  timeout 200 python3 bench/torch_device_check.py \
    --configs bench/torch_device_strided.json --out "$OUT/strided" \
    2>&1 | tee "$OUT/strided.log" || status=1
  timeout 120 python3 bench/torch_overhead.py --out "$OUT/overhead" \
    2>&1 | tee "$OUT/overhead.log" || status=1
  exit $status
  ;;
*)
  echo "usage: $0 prepare|run" >&2
  exit 2
  ;;
esac
