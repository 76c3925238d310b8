#!/usr/bin/env bash
# The main job: sets up and builds what is missing, then takes the example
# banded attention layer (examples/layer.mlir) through spa-opt.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${SPA_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
SPA_OPT="$BUILD_DIR/bin/spa-opt"
EXAMPLE="$ROOT/examples/layer.mlir"

echo "== example layer: $EXAMPLE (parsed, verified, printed by spa-opt)"
"$SPA_OPT" "$EXAMPLE"
