#!/bin/bash
# Strided q, k, v on the H200 (issues #11/#12): spa.torch reading a model's
# views in place (bench/torch_device_check.py's strided cases against
# float64, bitwise against the contiguous path, under torch.compile), then
# the training step that motivated it (examples/train_gpt.py, N = 4096,
# B = 8, FlexAttention and spa; before: spa 80.9 vs Flex 75.8 ms per step).
#
# Here, in a checkout with build/ (compiles every kernel both stages need
# into the git-ignored .device/torch-cache):
#   bench/strided_device.sh prepare
# Then, through the device tool, from the repository root:
#   run(command="bash bench/strided_device.sh run",
#       carry=[".device/torch-cache"])
# which writes $OUT/strided/torch_device_check.json, $OUT/strided.log,
# $OUT/train/train_gpt.json and its log. STEPS (default 40) sets the
# training steps.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=.device/torch-cache
TRAIN="--seq-lens 4096 --methods flex,spa --steps ${STEPS:-40}"

case "${1:-}" in
prepare)
  .venv/bin/python bench/torch_device_check.py \
    --write-strided-configs bench/torch_device_strided.json
  PYTHONPATH=build/python_packages .venv/bin/python -m spa.torch.precompile \
    --configs bench/torch_device_strided.json --cache-dir "$CACHE"
  TRAIN_ARGS="$TRAIN" bench/train_device.sh prepare
  ;;
run)
  OUT=${OUT:-/tmp/out}
  mkdir -p "$OUT"
  status=0
  SPA_CACHE_DIR=$CACHE PYTHONPATH=python PYTHONUNBUFFERED=1 \
    timeout 330 python3 bench/torch_device_check.py \
    --configs bench/torch_device_strided.json --out "$OUT/strided" \
    2>&1 | tee "$OUT/strided.log" || status=1
  mkdir -p "$OUT/train"
  # shellcheck disable=SC2086 # TRAIN is a list of options
  SPA_CACHE_DIR=$CACHE PYTHONPATH=python PYTHONUNBUFFERED=1 \
    timeout 250 python3 examples/train_gpt.py --device cuda $TRAIN \
    --out "$OUT/train" 2>&1 | tee "$OUT/train/train_gpt.log" || status=1
  exit $status
  ;;
*)
  echo "usage: [STEPS=n] $0 prepare|run" >&2
  exit 2
  ;;
esac
