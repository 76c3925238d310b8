#!/bin/bash
# The training run of issue #12 on the H200: examples/train_gpt.py with its
# GPU defaults (8 layers, 16 heads, d=1024, bf16 autocast, N=4096 at B=8 and
# N=16384 at B=2, 200 steps; dense SDPA, FlexAttention with the
# local_plus_band mask, spa with the same bands).
#
# The device has PyTorch but no MLIR, so spa's kernels are compiled here
# first, one configuration per sequence length (every layer makes the same
# call: q, k, v [B, 16, N, 64] bf16, scale 1/8, the local_plus_band table
# as bands_from_mask_mod proves it from the authors' mask; --list-kernels
# also checks that table equals spa's own local_plus_band plan):
#
#   bench/train_device.sh prepare        # here, in a checkout with build/
#
# writes .device/train-gpt-kernels.json (the list) and fills
# .device/torch-cache (git-ignored; under 2 MiB). Then, through the device
# tool, from the repository root:
#
#   run(command="bash bench/train_device.sh run",
#       carry=[".device/torch-cache", ".device/launcher"])
#
# which writes $OUT/train_gpt.json, train_gpt.png (if matplotlib is there;
# else: python examples/gpt_plot.py OUT/train_gpt.json here), train_gpt.log
# and device.txt.
#
# Both stages take the same TRAIN_ARGS (the kernels are per shape), e.g.
#   TRAIN_ARGS="--steps 100" bench/train_device.sh prepare
#   run(command="TRAIN_ARGS='--steps 100' bash bench/train_device.sh run", ...)
# (--steps does not change the kernels; --seq-lens, --batch, --heads,
# --kv-heads, --dim and --tokens-per-step do.) If one command's 10 minutes
# are not enough for both lengths, run them as two commands,
# TRAIN_ARGS="--seq-lens 4096" and "--seq-lens 16384" (one prepare with
# "--seq-lens 4096,16384" covers both), and merge the two reports here:
#   python examples/gpt_plot.py A/train_gpt.json B/train_gpt.json --out DIR
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/device_lib.sh
CACHE=.device/torch-cache
read -r -a ARGS <<< "--device cuda ${TRAIN_ARGS:-}"

case "${1:-}" in
prepare)
  mkdir -p .device
  PYTHONPATH=build/python_packages:python .venv/bin/python \
    examples/train_gpt.py "${ARGS[@]}" --list-kernels \
    > .device/train-gpt-kernels.json
  PYTHONPATH=build/python_packages .venv/bin/python -m spa.torch.precompile \
    --configs .device/train-gpt-kernels.json --cache-dir "$CACHE"
  # The compiled launcher and call path (docs/torch.md, "Launch overhead"),
  # carried as .device/launcher.
  stage_launchers
  du -sh "$CACHE"
  ;;
run)
  OUT=${OUT:-/tmp/out}
  mkdir -p "$OUT"
  record_device "$OUT"
  # No compiler here: a kernel missing from the cache is a
  # MissingKernelError naming the precompile command that builds it.
  use_launchers
  SPA_CACHE_DIR=$CACHE PYTHONPATH=python PYTHONUNBUFFERED=1 \
    timeout 580 python3 examples/train_gpt.py "${ARGS[@]}" --out "$OUT" \
    2>&1 | tee "$OUT/train_gpt.log"
  ;;
*)
  echo "usage: [TRAIN_ARGS=...] $0 prepare|run" >&2
  exit 2
  ;;
esac
