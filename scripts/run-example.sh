#!/usr/bin/env bash
# The main job: sets up and builds what is missing, then compiles the example
# banded attention layer (examples/layer.mlir: B=1, H=16 over 4 kv heads,
# N=2048, D=64, local_plus_band) through band balancing and the CPU pipeline,
# runs it, checks it against the float64 reference, and times it next to the
# same layer with dense causal attention through the same path.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${SPA_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
EXAMPLE="$ROOT/examples/layer.mlir"

echo
echo "== 1. The band plan chosen by -spa-balance-bands"
"$BUILD_DIR/bin/spa-opt" "$EXAMPLE" --spa-balance-bands=report -o /dev/null

echo
echo "== 2. Compile (spa-to-llvm-cpu), run on the CPU, check against float64"
"$BUILD_DIR/bin/spa-run" "$EXAMPLE" --entry=layer --seed=1 --check --repeat=3

echo
echo "== 3. The same layer as dense causal attention, same path"
"$BUILD_DIR/bin/spa-run" "$EXAMPLE" --entry=layer --seed=1 --policy=dense_causal --repeat=1

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo
  echo "== GPU present: the GPU path is not built yet (see docs/design.md)"
fi
