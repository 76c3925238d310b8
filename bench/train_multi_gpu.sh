#!/bin/bash
# Multi-GPU training with spa's attention (issue #17): examples/
# train_distributed.py under torchrun on GPUS GPUs of one host (NCCL), each
# mode of MODES, plus a 1-GPU run of the same global batch (the reference
# for the losses and for the tokens/s scaling). GPU defaults of the example:
# 8 layers, 16 heads, d=1024, N=8192, bf16 autocast, 50 steps; global batch
# PER_GPU x GPUS sequences (PER_GPU=4) in every run.
#
# The device has PyTorch but no MLIR, so spa's kernels are compiled here
# first, one per distinct rank configuration: ddp/fsdp ranks share one
# (PER_GPU sequences), each tp rank has its own (all sequences, its heads,
# its slice of the band table), the 1-GPU run one (all, all heads):
#
#   GPUS=2 bench/train_multi_gpu.sh prepare    # here, in a checkout with build/
#
# writes .device/multi-gpu-kernels.json and fills .device/torch-cache
# (git-ignored). Then, through the device tool, from the repository root,
# on a kind with GPUS GPUs:
#
#   run(kind="nvidia-h200-x2", carry=[".device/torch-cache"],
#       command="GPUS=2 bash bench/train_multi_gpu.sh run")
#
# which writes $OUT/train_distributed_<mode>_w<world>.json, the logs,
# device.txt and summary.md (bench/multi_gpu_report.py: tokens/s, scaling
# over the 1-GPU run, largest loss difference from it).
#
# Both stages take the same GPUS, MODES and TRAIN_ARGS (the kernels are per
# shape: --seq-len, --heads, --kv-heads, --dim and --batch change them,
# --steps does not), e.g. TRAIN_ARGS="--seq-len 4096 --steps 30". Each
# launch is cut at LAUNCH_TIMEOUT seconds (170): one device command has 10
# minutes, so run fewer MODES per command if they need longer.
# On one GPU (GPUS=1) the same commands check the NCCL code path of every
# mode with a world of one.
#
# NVLink multicast stays off: exported here and set again by the example
# before torch.distributed starts.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/device_lib.sh
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 \
  NVSHMEM_DISABLE_NVLS=1
CACHE=.device/torch-cache
GPUS=${GPUS:-2}
MODES=${MODES:-ddp fsdp tp}
PER_GPU=${PER_GPU:-4}
read -r -a EXTRA <<< "${TRAIN_ARGS:-}"
GLOBAL=$((PER_GPU * GPUS))

# args MODE: the example's arguments of one launch; every launch trains
# the same global batch (tp: every GPU sees all of it), so each mode's
# losses compare step by step with the 1-GPU run's.
args() {
  echo --device cuda --mode "$1" --batch "$GLOBAL" "${EXTRA[@]}"
}

case "${1:-}" in
prepare)
  mkdir -p .device
  PY=".venv/bin/python"
  # SPA_PACKAGES: another build's python_packages (with the compiler).
  export PYTHONPATH=${SPA_PACKAGES:-build/python_packages}:python
  {
    $PY examples/train_distributed.py $(args ddp) --world 1 --list-kernels
    for mode in $MODES; do
      $PY examples/train_distributed.py $(args "$mode") \
        --world "$GPUS" --list-kernels
    done
  } | $PY -c '
import json, sys
text = sys.stdin.read().replace("]\n[", ",")
seen, out = set(), []
for e in json.loads(text):
    key = json.dumps({k: v for k, v in e.items() if k != "name"},
                     sort_keys=True)
    if key not in seen:
        seen.add(key)
        out.append(e)
print("[\n" + ",\n".join(json.dumps(e) for e in out) + "\n]")' \
    > .device/multi-gpu-kernels.json
  $PY -m spa.torch.precompile --configs .device/multi-gpu-kernels.json \
    --cache-dir "$CACHE"
  du -sh "$CACHE"
  ;;
run)
  OUT=${OUT:-/tmp/out}
  mkdir -p "$OUT"
  record_device "$OUT"
  export SPA_CACHE_DIR=$CACHE PYTHONPATH=python PYTHONUNBUFFERED=1
  launch() {  # NAME WORLD MODE
    local dir="$OUT/$1"
    mkdir -p "$dir"
    timeout "${LAUNCH_TIMEOUT:-170}" python3 -m torch.distributed.run --standalone \
      --nproc-per-node "$2" examples/train_distributed.py \
      $(args "$3") --out "$dir" 2>&1 | tee "$OUT/$1.log" || true
    cp "$dir/train_distributed_$3.json" "$OUT/train_distributed_$1.json" \
      2>/dev/null || echo "$1: no report" | tee -a "$OUT/device.txt"
    rm -rf "$dir"
  }
  # The 1-GPU reference: ddp with a world of one, the same global batch.
  launch "ddp_w1" 1 ddp
  for mode in $MODES; do
    [ "$GPUS" = 1 ] && [ "$mode" = ddp ] && continue
    launch "${mode}_w$GPUS" "$GPUS" "$mode"
  done
  python3 bench/multi_gpu_report.py "$OUT" | tee "$OUT/summary.md"
  ;;
*)
  echo "usage: [GPUS=N] [MODES='ddp fsdp tp'] [PER_GPU=4] [TRAIN_ARGS=...]" \
    "[LAUNCH_TIMEOUT=s]" \
    "$0 prepare|run" >&2
  exit 2
  ;;
esac
