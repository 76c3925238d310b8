#!/usr/bin/env bash
# The whole test suite: sets up and builds what is missing, then runs
# `check-spa` (lit FileCheck tests, plugin tests, gtest unit tests, pytest).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
ninja -C "${SPA_BUILD_DIR:-$ROOT/build}" check-spa
