#!/usr/bin/env bash
# The main job: sets up and builds what is missing, then compiles the example
# banded attention layer (examples/layer.mlir: B=1, H=16 over 4 kv heads,
# N=2048, D=64, local_plus_band) through band balancing and the CPU pipeline,
# runs it, checks it against the float64 reference, and times it next to the
# same layer with dense causal attention through the same path and with
# PyTorch's CPU SDPA.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${SPA_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
EXAMPLE="$ROOT/examples/layer.mlir"

echo
echo "== 1. The band plan chosen by -spa-balance-bands"
# The pass's report costs the plan with the GPU model (its default tile shape
# and SM count, named in the report's header line); the CPU run of step 2
# tiles differently (spa-run --tile-q/--tile-k). Pairs and shares hold for
# both.
echo "   (pairs and shares are exact; the tile, cost and makespan columns are"
echo "    the GPU cost model's, for the tiles and SM count in its header line,"
echo "    not the CPU run of step 2)"
"$BUILD_DIR/bin/spa-opt" "$EXAMPLE" --spa-balance-bands=report -o /dev/null

echo
echo "== 2. Compile (spa-to-llvm-cpu), run on the CPU, check against float64"
"$BUILD_DIR/bin/spa-run" "$EXAMPLE" --entry=layer --seed=1 --check --repeat=3

echo
echo "== 3. The same layer as dense causal attention, same path"
"$BUILD_DIR/bin/spa-run" "$EXAMPLE" --entry=layer --seed=1 --policy=dense_causal --repeat=1

echo
echo "== 4. PyTorch's CPU SDPA (dense, is_causal=True) on the same layer, next to"
echo "   spa's CPU path, in one process (examples/cpu_sdpa.py; issue #16)"
if "$ROOT/.venv/bin/python" -c "import torch" >/dev/null 2>&1; then
  PYTHONPATH="$BUILD_DIR/python_packages" "$ROOT/.venv/bin/python" \
    "$ROOT/examples/cpu_sdpa.py" "$EXAMPLE" --entry=layer --repeat=3
else
  echo "(skipped: PyTorch is not installed in $ROOT/.venv)"
fi

# 5. On a machine with an NVIDIA GPU: the same layer in bf16 through
#    spa-to-nvvm, launched by the MLIR-free runtime (needs PyTorch and
#    cuda-python in the Python that runs it; SPA_GPU_PYTHON picks it).
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  GPU_PY="${SPA_GPU_PYTHON:-$ROOT/.venv/bin/python}"
  echo
  echo "== 5. GPU: compile (spa-to-nvvm, sm_90a) and run the layer in bf16"
  PYTHONPATH="$BUILD_DIR/python_packages" "$ROOT/.venv/bin/python" \
    "$ROOT/examples/gpu_example.py" --compile "$BUILD_DIR/gpu-example"
  if "$GPU_PY" -c "import torch, cuda.bindings" >/dev/null 2>&1; then
    PYTHONPATH="$ROOT/python" "$GPU_PY" "$ROOT/examples/gpu_example.py" \
      --run "$BUILD_DIR/gpu-example"
  else
    echo "(skipped running: $GPU_PY lacks torch or cuda-python; set SPA_GPU_PYTHON)"
  fi
fi
