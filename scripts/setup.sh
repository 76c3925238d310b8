#!/usr/bin/env bash
# Makes a fresh Debian 12 machine ready to build and test spa, then builds it.
# Safe to run again: every step checks first and does nothing when done.
#   scripts/setup.sh            install, configure and build everything
# Environment: SPA_BUILD_DIR (default: build), SPA_BUILD_TYPE (Release).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${SPA_BUILD_DIR:-$ROOT/build}"
BUILD_TYPE="${SPA_BUILD_TYPE:-Release}"
LLVM_PREFIX=/usr/lib/llvm-22

say() { printf '[spa setup] %s\n' "$*"; }

# 1. System packages (LLVM/MLIR 22 from Debian, build tools, GoogleTest).
APT_PACKAGES=(llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools libomp-22-dev
              cmake ninja-build g++ libgtest-dev python3-venv python3-dev)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "installing apt packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# 2. Python virtual environment with the test requirements.
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment $VENV"
  python3 -m venv "$VENV"
fi
REQ_STAMP="$VENV/.spa-requirements.sha"
REQ_SHA="$(sha256sum "$ROOT/requirements-dev.txt" | cut -d' ' -f1)"
if [ "$(cat "$REQ_STAMP" 2>/dev/null)" != "$REQ_SHA" ]; then
  say "installing Python requirements"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r "$ROOT/requirements-dev.txt"
  echo "$REQ_SHA" > "$REQ_STAMP"
fi

# 2b. PyTorch for spa.torch (requirements-torch.txt says why --no-deps): the
# light install first; the full one where that does not import.
TORCH_STAMP="$VENV/.spa-torch.sha"
TORCH_SHA="$(sha256sum "$ROOT/requirements-torch.txt" | cut -d' ' -f1)"
if [ "$(cat "$TORCH_STAMP" 2>/dev/null)" != "$TORCH_SHA" ]; then
  say "installing PyTorch (CPU use, without the CUDA runtime wheels)"
  "$VENV/bin/python" -m pip install -q --no-deps -r "$ROOT/requirements-torch.txt"
  if ! (cd / && "$VENV/bin/python" -c "import torch; torch.ones(1).sum()") \
      >/dev/null 2>&1; then
    say "torch does not import without its CUDA wheels here: full install"
    "$VENV/bin/python" -m pip install -q \
      "$(grep -E '^torch==' "$ROOT/requirements-torch.txt")"
  fi
  echo "$TORCH_SHA" > "$TORCH_STAMP"
fi

# 2c. torch-mlir and IREE for spa.torch_mlir and spa.iree (requirements-iree.txt
# says what they cost).
IREE_STAMP="$VENV/.spa-iree.sha"
IREE_SHA="$(sha256sum "$ROOT/requirements-iree.txt" | cut -d' ' -f1)"
if [ "$(cat "$IREE_STAMP" 2>/dev/null)" != "$IREE_SHA" ]; then
  say "installing torch-mlir and IREE"
  "$VENV/bin/python" -m pip install -q -r "$ROOT/requirements-iree.txt"
  echo "$IREE_SHA" > "$IREE_STAMP"
fi

# 3. Configure (once) and build.
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  say "configuring $BUILD_DIR"
  cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
    -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
    -DSPA_PYTHON_EXECUTABLE="$VENV/bin/python" \
    -DPython_EXECUTABLE="$VENV/bin/python"
fi
say "building"
ninja -C "$BUILD_DIR" ${SPA_BUILD_TARGETS:-}
